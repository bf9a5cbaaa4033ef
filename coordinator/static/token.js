// The optional API token: asked for when the server answers 401, kept in localStorage, sent
// only in Authorization headers (api.js); signed download links are kept fresh.

import { getToken, keepDownloadLinksFresh, setToken } from "./api.js";
import { $, state } from "./page.js";

/** Show the token form saying why; `retry` (if any) runs once a token is saved. */
export function askToken(reason, retry) {
  state.pendingRetry = retry;
  const form = $("token-form");
  // Asked again while a token is saved: the server refused that token; say so, drop the ✓.
  const refused = Boolean(getToken());
  $("token-reason").textContent = refused
    ? `The server refused the saved API token. ${reason}`
    : reason;
  if (refused) {
    $("token-toggle").classList.remove("has-token");
    $("token-toggle").textContent = "API token refused";
  }
  form.hidden = false;
  $("token-toggle").hidden = false;
  $("token-toggle").setAttribute("aria-expanded", "true");
  $("token-input").value = getToken();
  $("token-input").focus();
}

function updateTokenToggle() {
  const toggle = $("token-toggle");
  const hasToken = Boolean(getToken());
  toggle.classList.toggle("has-token", hasToken);
  toggle.textContent = hasToken ? "API token ✓" : "API token";
  if (hasToken) toggle.hidden = false;
}

/** Wire the token form; `onSaved` runs after a token is saved (before any pending retry). */
export function setupToken(onSaved) {
  updateTokenToggle();
  keepDownloadLinksFresh();
  $("token-toggle").addEventListener("click", () => {
    const form = $("token-form");
    form.hidden = !form.hidden;
    $("token-toggle").setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) {
      $("token-reason").textContent = "";
      $("token-input").value = getToken();
      $("token-input").focus();
    }
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) {
      $("token-input").focus();
      return;
    }
    setToken(token);
    $("token-form").hidden = true;
    $("token-toggle").setAttribute("aria-expanded", "false");
    updateTokenToggle();
    $("token-toggle").focus();
    const retry = state.pendingRetry;
    state.pendingRetry = null;
    onSaved();
    if (retry) retry();
  });
  // Escape closes the prompt, as it does any dialog, and gives focus back to its toggle.
  $("token-form").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    $("token-form").hidden = true;
    $("token-toggle").setAttribute("aria-expanded", "false");
    $("token-toggle").focus();
  });
  $("token-forget").addEventListener("click", () => {
    setToken("");
    $("token-input").value = "";
    updateTokenToggle();
    $("token-input").focus();
  });
}
