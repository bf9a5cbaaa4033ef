// The list of recent exports: refreshed after each export and every few seconds while any
// is running; each row can be shown in the export panel or downloaded.

import { Unauthorized, request } from "./api.js";
import {
  $,
  PHASE_LABELS,
  TERMINAL,
  bytes,
  describeJob,
  el,
  jobMeta,
  metaOf,
  since,
  state,
} from "./page.js";
import { askToken } from "./token.js";

const RECENT_POLL_MS = 3000;
let showJob = () => {};

/** `onShow(jobId, meta, name)` runs when a row's Show button is pressed. */
export function setupRecent(onShow) {
  showJob = onShow;
  $("recent-refresh").addEventListener("click", refreshRecent);
}

export async function refreshRecent() {
  window.clearTimeout(state.recentTimer);
  state.recentTimer = null;
  try {
    const response = await request("/api/exports?limit=20");
    if (!response.ok || !response.data) {
      const why = response.data?.error || `HTTP ${response.status}`;
      $("recent-error").textContent = `Could not list exports: ${why}`;
      $("recent-error").hidden = false;
    } else {
      $("recent-error").hidden = true;
      state.recent = Array.isArray(response.data.exports) ? response.data.exports : [];
      renderRecent();
    }
  } catch (error) {
    if (error instanceof Unauthorized) {
      if ($("token-form").hidden) askToken("This server needs an API token.", null);
      return;
    }
    $("recent-error").textContent = `Could not list exports: ${error.message}`;
    $("recent-error").hidden = false;
  }
  const running = state.recent.some((item) => !TERMINAL.has(item.phase));
  if (running || (state.job && !TERMINAL.has(state.job.phase))) {
    window.clearTimeout(state.recentTimer);
    state.recentTimer = window.setTimeout(refreshRecent, RECENT_POLL_MS);
  }
}

/** Bring the followed job's row up to date from its WebSocket, between two refreshes. */
export function patchRecent(jobId, patch) {
  const item = state.recent.find((entry) => entry.job_id === jobId);
  if (!item) return;
  const frames = item.frames_done;
  const phase = item.phase;
  Object.assign(item, patch);
  if (item.phase !== phase || item.frames_done !== frames) renderRecent();
}

export function renderRecent() {
  const body = $("recent-body");
  const focused = document.activeElement?.closest?.("#recent-body [data-key]")?.dataset.key;
  const rows = state.recent.map((item) => recentRow(item));
  body.replaceChildren(...rows);
  $("recent-table").hidden = rows.length === 0;
  $("recent-empty").hidden = rows.length > 0;
  if (focused) body.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

function recentRow(item) {
  const name = String(item.name || "video");
  const meta = jobMeta(item.job_id) || metaOf(item); // started elsewhere: the server's facts
  const running = !TERMINAL.has(item.phase);
  const stateCell = el(
    "td",
    {},
    el("span", { class: `badge phase-${item.phase}` }, PHASE_LABELS[item.phase] || item.phase),
    running
      ? el(
          "span",
          { class: "mini-progress", "aria-hidden": "true" },
          el("span", { style: `width: ${Math.max(0, Math.min(100, item.percent || 0))}%` }),
        )
      : null,
    running ? el("span", { class: "visually-hidden" }, ` ${Math.floor(item.percent || 0)}%`) : null,
  );
  const frames =
    item.phase === "complete" || item.frames_done === item.frames_total
      ? `${item.frames_total}`
      : `${item.frames_done} / ${item.frames_total}`;
  const who = el("span", { class: "visually-hidden" }, ` ${name}, ${since(item.created_at)}`);
  const show = el(
    "button",
    { type: "button", class: "btn btn-small btn-quiet", "data-key": `show-${item.job_id}` },
    "Show",
    who.cloneNode(true),
  );
  show.addEventListener("click", () => {
    showJob(item.job_id, meta, name);
    $("export-heading").focus({ preventScroll: true });
  });
  const actions = el("td", { class: "actions" }, show);
  if (item.phase === "complete" && item.download_url) {
    actions.append(
      el(
        "a",
        {
          class: "btn btn-small",
          href: item.download_url,
          download: "",
          "data-key": `download-${item.job_id}`,
        },
        "Download",
        who.cloneNode(true),
      ),
    );
  }
  const details = describeJob(meta);
  return el(
    "tr",
    { class: state.job?.id === item.job_id ? "current" : null, "data-job": item.job_id },
    el(
      "td",
      { class: "name", title: details ? `${name} · ${details}` : name },
      el("strong", {}, name),
      el("small", {}, [details, since(item.created_at)].filter(Boolean).join(" · ")),
    ),
    stateCell,
    el("td", { class: "num" }, frames),
    el("td", { class: "num size" }, bytes(item.size_bytes ?? Number.NaN)),
    actions,
  );
}
