// The coordinator's API as the page uses it: JSON requests with the optional API token (always in
// the Authorization header, never in a URL), and a WebSocket follower that reconnects with
// backoff, opening each socket with a single-use ticket when a token is set. Download links come
// from the server already signed for a short while, so the page uses them as they are.

const TOKEN_KEY = "framefarm.apiToken";
let memoryToken = ""; // used when localStorage is unavailable

export class Unauthorized extends Error {
  constructor(message = "this server needs an API token") {
    super(message);
    this.name = "Unauthorized";
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives until the page closes
  }
  memoryToken = token;
}

function currentToken() {
  return getToken() || memoryToken;
}

/** A JSON request (an image answer comes as a Blob): resolves {status, ok, data, headers}; throws Unauthorized on 401, Error when offline. */
export async function request(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new Error("cannot reach the framefarm server");
  }
  if (response.status === 401) throw new Unauthorized();
  let data = null;
  try {
    const image = (response.headers.get("Content-Type") || "").startsWith("image/");
    data = image ? await response.blob() : await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, ok: response.ok, data, headers: response.headers };
}

const DOWNLOAD_PATH = /^\/api\/exports\/([^/]+)\/download$/;
const LINK_MARGIN_S = 15; // a link this close to its expiry is re-signed before it is followed

/**
 * Download links are signed by the server for a few minutes (`exp` in the link). A click on one
 * that has expired, or is about to, first asks the export's status for a fresh link and then
 * follows that, so a link left on screen keeps working; the token itself never goes in a URL.
 */
export function keepDownloadLinksFresh() {
  document.addEventListener(
    "click",
    async (event) => {
      const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
      if (!link || link.dataset.resigned === "1") return;
      const url = new URL(link.href, window.location.href);
      const match = DOWNLOAD_PATH.exec(url.pathname);
      const expires = Number(url.searchParams.get("exp"));
      if (url.origin !== window.location.origin || !match || !expires) return;
      if (expires - Date.now() / 1000 > LINK_MARGIN_S) return;
      event.preventDefault();
      try {
        const response = await request(`/api/exports/${match[1]}`);
        if (!response.ok || !response.data?.download_url) return;
        link.href = response.data.download_url;
      } catch {
        return; // offline, or the token is gone: the other requests say so
      }
      link.dataset.resigned = "1";
      link.click();
      delete link.dataset.resigned;
    },
    true,
  );
}

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

/**
 * Follows one export's WebSocket: calls onMessage(message) for each message, onRetry(ms) when
 * the socket dropped and a reconnect is scheduled, onOpen() when (re)connected, onUnauthorized()
 * when the server wants a token and onMissing() when it does not know the export. Stops after a
 * `complete` or `error` message.
 *
 * A refused handshake reaches the browser as a bare 1006 close (the server's 4401 or 4404 is
 * lost before the socket opens), so after one the status endpoint says why.
 */
export class ExportFollower {
  constructor(jobId, handlers) {
    this.jobId = jobId;
    this.handlers = handlers;
    this.failures = 0;
    this.finished = false;
    this.socket = null;
    this.timer = null;
    this.connect();
  }

  /** The socket's path: with a token, a single-use ticket asked for with the token in the
   * Authorization header (a browser cannot set headers on a WebSocket); null when the follower
   * stopped or will retry. */
  async socketPath() {
    const path = `/ws/exports/${encodeURIComponent(this.jobId)}`;
    if (!currentToken()) return path;
    try {
      const response = await request(`${path.replace("/ws/", "/api/")}/ticket`, { method: "POST" });
      if (this.finished) return null;
      if (response.status === 404) this.stop("onMissing");
      else if (response.ok && response.data?.events_url) return response.data.events_url;
      else this.retry();
    } catch (error) {
      if (this.finished) return null;
      if (error instanceof Unauthorized) this.stop("onUnauthorized");
      else this.retry();
    }
    return null;
  }

  async connect() {
    this.timer = null;
    if (this.finished) return;
    const path = await this.socketPath();
    if (path === null || this.finished) return;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}${path}`);
    let opened = false;
    this.socket = socket;
    socket.addEventListener("open", () => {
      opened = true;
      if (this.socket === socket) this.handlers.onOpen?.();
    });
    socket.addEventListener("message", (event) => {
      if (this.socket !== socket || this.finished) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.failures = 0;
      if (message.type === "complete" || message.type === "error") this.finished = true;
      this.handlers.onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket || this.finished) return;
      this.socket = null;
      if (event.code === 4401) this.stop("onUnauthorized");
      else if (event.code === 4404) this.stop("onMissing");
      else if (!opened) this.diagnose();
      else this.retry();
    });
  }

  stop(handler) {
    this.finished = true;
    this.handlers[handler]?.();
  }

  async diagnose() {
    try {
      const response = await request(`/api/exports/${encodeURIComponent(this.jobId)}`);
      if (this.finished) return;
      if (response.status === 404) this.stop("onMissing");
      else this.retry();
    } catch (error) {
      if (this.finished) return;
      if (error instanceof Unauthorized) this.stop("onUnauthorized");
      else this.retry();
    }
  }

  retry() {
    const base = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.85 + Math.random() * 0.3));
    this.failures += 1;
    this.handlers.onRetry?.(delay);
    this.timer = window.setTimeout(() => this.connect(), delay);
  }

  /** Stop following (closing the socket, cancelling any scheduled reconnect). */
  close() {
    this.finished = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "page moved on");
  }
}
