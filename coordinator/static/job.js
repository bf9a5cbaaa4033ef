// The export in the panel: start it, follow its WebSocket (progress, then complete or error),
// cancel it, and preview and offer the result.

import { ExportFollower, Unauthorized, request } from "./api.js";
import { clock, trim } from "./format.js";
import {
  $,
  FORMATS,
  PHASE_LABELS,
  TERMINAL,
  announce,
  bytes,
  describeJob,
  el,
  jobMeta,
  metaOf,
  rememberJob,
  state,
} from "./page.js";
import { plannedFps } from "./plan.js";
import { patchRecent, refreshRecent, renderRecent } from "./recent.js";
import {
  clearIssues,
  exportBody,
  readSettings,
  renderEstimate,
  exportRunning,
  showFormError,
  showIssues,
} from "./settings.js";
import { askToken } from "./token.js";

/** POST the project and settings; follow the new export, or show what the server refused. */
export async function startExport() {
  if (!state.project || exportRunning()) return;
  clearIssues();
  $("project-error").hidden = true;
  const settings = readSettings();
  const button = $("start");
  button.disabled = true;
  $("start-label").textContent = "Starting…";
  try {
    const response = await request("/api/exports", {
      method: "POST",
      body: exportBody(state.project, settings),
    });
    if (response.status === 202 && response.data) {
      const meta = {
        name: state.summary?.name || String(state.project.name || ""),
        format: settings.format,
        width: settings.width,
        height: settings.height,
        fps: settings.fps,
        fpsValue: plannedFps(settings),
        frames: response.data.frames_total,
      };
      rememberJob(response.data.job_id, meta);
      const fileName = $("file-name").value.trim().replace(/[\\/:*?"<>|]+/g, "-");
      state.submitted = { jobId: response.data.job_id, fileName };
      follow(response.data.job_id, meta);
      refreshRecent();
    } else if (response.status === 422 && response.data) {
      showIssues(response.data.error || "Invalid export", response.data.issues || []);
    } else {
      const message = response.data?.error || `the server answered HTTP ${response.status}`;
      showFormError(`Could not start the export: ${message}`);
    }
  } catch (error) {
    if (error instanceof Unauthorized) {
      askToken("Starting an export needs an API token.", () => startExport());
    } else {
      showFormError(`Could not start the export: ${error.message}`);
    }
  } finally {
    $("start-label").textContent = "Export video";
    renderEstimate(); // Export stays disabled while the new export runs
  }
}

/** Show one export in the panel and follow its WebSocket (current state first, then changes). */
export function follow(jobId, meta = jobMeta(jobId), name = null) {
  if (state.job?.follower) state.job.follower.close();
  const job = { id: jobId, meta, phase: null, lastQuarter: 0, follower: null, name };
  state.job = job;
  job.metaReady = meta ? Promise.resolve() : learnMeta(job);
  history.replaceState(null, "", `#job=${jobId}`);
  $("export-idle").hidden = true;
  $("export-job").hidden = false;
  $("running-actions").hidden = false;
  $("cancel").disabled = false;
  $("cancel").textContent = "Cancel export";
  $("export-result").hidden = true;
  $("export-error").hidden = true;
  $("export-notice").hidden = true;
  $("connection").hidden = true;
  $("preview").replaceChildren();
  $("live-frame-box").hidden = true;
  $("live-frame").removeAttribute("src");
  const title = meta?.name || name || "Export";
  const details = describeJob(meta);
  const detailsText = details ? el("span", { class: "muted" }, ` · ${details}`) : "";
  $("job-title").replaceChildren(title, detailsText);
  $("progress").classList.add("resetting");
  setProgress(0, "queued");
  void $("progress-fill").offsetWidth; // apply the jump to 0 before transitions resume
  $("progress").classList.remove("resetting");
  $("export-panel").dataset.jobId = jobId;
  $("progress-message").textContent = "Connecting…";
  $("stat-frames").textContent = meta?.frames ? `0 / ${meta.frames}` : "—";
  $("stat-fps").textContent = "—";
  $("stat-eta").textContent = "—";
  $("export-panel").scrollIntoView({ block: "nearest", behavior: "smooth" });
  announce(`Export of ${title} started`);
  renderEstimate();
  watchForStall(job);
  job.follower = new ExportFollower(jobId, {
    onMessage: (message) => state.job === job && onJobMessage(job, message),
    onOpen: () => {
      if (state.job === job) $("connection").hidden = true;
    },
    onRetry: (delay) => {
      if (state.job !== job) return;
      $("connection").hidden = false;
      const seconds = Math.max(1, Math.round(delay / 1000));
      $("connection").textContent = `Connection lost, reconnecting in ${seconds} s…`;
    },
    onUnauthorized: () =>
      askToken("Following the export needs an API token.", () => follow(jobId, meta, name)),
    onMissing: () => {
      if (state.job !== job) return;
      finishWithError(job, "This export does not exist on the server (any more).", false);
    },
  });
  renderRecent();
}

function setProgress(percent, phase) {
  const value = Math.max(0, Math.min(100, Number(percent) || 0));
  const bar = $("progress");
  const shown = Math.floor(value * 10) / 10;
  bar.setAttribute("aria-valuenow", String(shown));
  const label = PHASE_LABELS[phase] || phase || "";
  bar.setAttribute("aria-valuetext", `${trim(shown, 1)}%${label ? `, ${label}` : ""}`);
  bar.classList.toggle("active", !TERMINAL.has(phase));
  bar.classList.toggle("failed", phase === "failed");
  bar.classList.toggle("cancelled", phase === "cancelled");
  $("progress-fill").style.width = `${value}%`;
  $("progress-percent").textContent = `${Math.floor(value)}%`;
  const badge = $("job-phase");
  badge.hidden = !phase;
  badge.className = `badge phase-${phase}`;
  badge.textContent = label;
}

function onJobMessage(job, message) {
  job.lastChange = Date.now();
  $("export-panel").classList.remove("stalled");
  if (message.type === "progress") {
    // The server's feed never goes back; a reconnect's first message may: keep the bar's maximum.
    job.percent = Math.max(job.percent || 0, Number(message.percent) || 0);
    setProgress(job.percent, message.phase);
    $("progress-message").textContent = message.message || PHASE_LABELS[message.phase] || "";
    if (Number.isFinite(message.framesTotal)) {
      const done = Math.min(message.framesDone ?? 0, message.framesTotal);
      const total = message.framesTotal.toLocaleString();
      $("stat-frames").textContent = `${done.toLocaleString()} / ${total}`;
      const encoded = Math.min(message.framesEncoded ?? 0, message.framesTotal);
      $("stat-encoded").textContent = `${encoded.toLocaleString()} / ${total}`;
    }
    showLiveFrame(job, message.thumbnailUrl);
    const fps = message.renderFps;
    $("stat-fps").textContent = Number.isFinite(fps) ? `${trim(fps, 1)} fps` : "—";
    const eta = message.etaSeconds;
    $("stat-eta").textContent = Number.isFinite(eta) ? clock(eta) : "—";
    patchRecent(job.id, {
      phase: message.phase,
      percent: message.percent,
      frames_done: message.framesDone,
    });
    if (message.phase !== job.phase) {
      job.phase = message.phase;
      const what = message.message || PHASE_LABELS[message.phase];
      announce(`${what}, ${Math.floor(message.percent)}%`);
    } else {
      const quarter = Math.floor((message.percent || 0) / 25);
      if (quarter > job.lastQuarter && quarter < 4) announce(`${quarter * 25}% done`);
      job.lastQuarter = Math.max(job.lastQuarter, quarter);
    }
  } else if (message.type === "complete") {
    complete(job, message.url);
  } else if (message.type === "error") {
    if (message.phase === "cancelled") {
      job.phase = "cancelled";
      setProgress(currentPercent(), "cancelled");
      $("progress-message").textContent = "Cancelled";
      $("running-actions").hidden = true;
      $("export-notice").textContent = "The export was cancelled.";
      $("export-notice").hidden = false;
      $("stat-eta").textContent = "—";
      announce("Export cancelled");
      renderEstimate();
      refreshRecent();
    } else {
      finishWithError(job, message.message || "the export failed");
    }
  }
}

const LIVE_FRAME_EVERY_MS = 3000;

/** The newest committed frame while rendering, fetched at most every few seconds. */
function showLiveFrame(job, url) {
  if (!url || url === job.liveUrl) return;
  const now = Date.now();
  if (job.liveAt && now - job.liveAt < LIVE_FRAME_EVERY_MS) return;
  job.liveUrl = url;
  job.liveAt = now;
  // fetched with the Authorization header (no token in URLs), shown from a blob
  request(url)
    .then((response) => {
      if (state.job !== job || TERMINAL.has(job.phase || "")) return;
      if (!response.ok || !(response.data instanceof Blob)) {
        job.liveAt = 0; // the next frame is asked for at once, not in a few seconds
        return;
      }
      const image = $("live-frame");
      if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
      image.src = URL.createObjectURL(response.data);
      $("live-frame-box").hidden = false;
    })
    .catch(() => {
      job.liveAt = 0; // a missed thumbnail costs nothing: the next one is asked for at once
    });
}

const STALL_SECONDS = 30;

/**
 * Says "stalled" honestly when an export running here has sent nothing for STALL_SECONDS (the
 * feed reports every change, so silence that long means no worker is moving it).
 */
function watchForStall(job) {
  job.lastChange = Date.now();
  const timer = window.setInterval(() => {
    if (state.job !== job || TERMINAL.has(job.phase || "")) {
      window.clearInterval(timer);
      return;
    }
    const quiet = (Date.now() - job.lastChange) / 1000;
    if (quiet >= STALL_SECONDS && !$("export-panel").classList.contains("stalled")) {
      $("export-panel").classList.add("stalled");
      const text = `Stalled: no progress for ${Math.round(quiet)} s. The farm may have no worker running; it resumes by itself when one picks it up, or you can cancel.`;
      $("progress-message").textContent = text;
      announce(text);
    }
  }, 1000);
}

function currentPercent() {
  return Number($("progress").getAttribute("aria-valuenow")) || 0;
}

function finishWithError(job, text, retryable = true) {
  job.phase = "failed";
  setProgress(currentPercent(), "failed");
  $("progress-message").textContent = "Failed";
  $("running-actions").hidden = true;
  $("stat-eta").textContent = "—";
  const box = $("export-error");
  const details = el("details", { class: "error-details" }, el("summary", {}, "Details"));
  details.append(el("span", { class: "message" }, text));
  const retry = el("button", { type: "button", class: "btn btn-small", id: "retry" }, "Try again");
  retry.addEventListener("click", () => retryExport(job));
  box.replaceChildren(
    el("strong", {}, "The export failed"),
    el("span", { class: "plain" }, plainWords(text)),
    details,
    ...(retryable ? [retry] : []), // an export the server does not have: nothing to start again
  );
  box.hidden = false;
  renderEstimate();
  refreshRecent();
}

/** What a musician can make of a failure; the server's own words stay under "Details". */
function plainWords(text) {
  const lower = String(text).toLowerCase();
  if (/exit status -9|killed|out of memory|memory/.test(lower)) {
    return "The farm ran out of memory on this export. Try a smaller size, or try again.";
  }
  if (/\b(e?gl|opengl)\b|render target|framebuffer|texture|too large/.test(lower)) {
    return "The renderer could not draw frames this large. Choose a smaller size.";
  }
  if (/ffmpeg|encode|codec/.test(lower)) {
    return "Putting the video together failed. Try again, or another format.";
  }
  if (/does not exist/.test(lower)) return "The server no longer has this export.";
  return "Something went wrong on the farm. Trying again often helps.";
}

/**
 * Start the same export again, from the project and settings the server stored with it: any
 * export on the page (started here, in another tab, or through the API) can be retried.
 */
async function retryExport(job) {
  if (exportRunning()) return;
  const retry = $("retry");
  if (retry) retry.disabled = true;
  try {
    const response = await request(`/api/exports/${encodeURIComponent(job.id)}/retry`, {
      method: "POST",
    });
    if (response.status === 202 && response.data) {
      const meta = { ...(job.meta || {}), frames: response.data.frames_total };
      rememberJob(response.data.job_id, meta);
      const fileName = state.submitted?.jobId === job.id ? state.submitted.fileName : "";
      state.submitted = { jobId: response.data.job_id, fileName };
      follow(response.data.job_id, meta, job.name);
      refreshRecent();
      return;
    }
    const message = response.data?.error || `the server answered HTTP ${response.status}`;
    showFormError(`Could not start the export again: ${message}`);
  } catch (error) {
    if (error instanceof Unauthorized) askToken("Retrying needs an API token.", () => retryExport(job));
    else showFormError(`Could not start the export again: ${error.message}`);
  }
  if (retry) retry.disabled = false;
}

/**
 * What the page did not keep of an export it did not start (another tab, the API, a link): its
 * name, format and size, from the server's status of it.
 */
async function learnMeta(job) {
  try {
    const response = await request(`/api/exports/${encodeURIComponent(job.id)}`);
    if (!response.ok || !response.data || state.job !== job) return;
    job.meta = metaOf(response.data);
    const details = describeJob(job.meta);
    const detailsText = details ? el("span", { class: "muted" }, ` · ${details}`) : "";
    $("job-title").replaceChildren(job.meta.name || job.name || "Export", detailsText);
  } catch {
    // the socket says the same (a missing export, a token to ask for)
  }
}

async function complete(job, url) {
  job.phase = "complete";
  await job.metaReady; // the format decides the label and the player
  setProgress(100, "complete");
  const total = $("stat-frames").textContent.split(" / ")[1];
  if (total) {  // every frame rendered and encoded, whichever progress message came last
    $("stat-frames").textContent = `${total} / ${total}`;
    $("stat-encoded").textContent = `${total} / ${total}`;
  }
  $("progress-message").textContent = "Done";
  $("stat-eta").textContent = "0:00";
  $("running-actions").hidden = true;
  const download = $("download");
  download.href = url;
  const label = job.meta?.format ? FORMATS[job.meta.format]?.label : null;
  $("download-label").textContent = label ? `Download ${label}` : "Download";
  const chosen = state.submitted?.jobId === job.id ? state.submitted.fileName : "";
  const extension = job.meta?.format || "";
  if (chosen && extension) download.setAttribute("download", `${chosen}.${extension}`);
  else download.setAttribute("download", "");
  $("result-info").replaceChildren();
  $("live-frame-box").hidden = true; // the video itself takes its place
  showPreview(url, job.meta?.format);
  addPoster(job);
  $("export-result").hidden = false;
  renderEstimate();
  $("export-result").scrollIntoView({ block: "nearest", behavior: "smooth" });
  announce("Export complete. The download is ready.");
  refreshRecent();
  try {
    const response = await request(`/api/exports/${encodeURIComponent(job.id)}`);
    if (state.job !== job || !response.ok || !response.data) return;
    const doc = response.data;
    const parts = [];
    if (Number.isFinite(doc.frames_total)) {
      $("stat-frames").textContent = `${doc.frames_total} / ${doc.frames_total}`;
    }
    if (Number.isFinite(doc.size_bytes)) parts.push(el("strong", {}, bytes(doc.size_bytes)));
    if (Number.isFinite(doc.duration_seconds)) parts.push(` · ${clock(doc.duration_seconds)} long`);
    if (Number.isFinite(doc.created_at) && Number.isFinite(doc.updated_at)) {
      const took = doc.updated_at - doc.created_at;
      parts.push(` · exported in ${clock(took)}`);
      const guessed = doc.estimated_seconds; // kept with the job at submit, however sent
      if (Number.isFinite(guessed) && guessed > 0) parts.push(` (${howFarOff(guessed, took)})`);
      if (took > 0 && Number.isFinite(doc.frames_total) && !Number.isFinite(doc.render_fps)) {
        const overall = trim(doc.frames_total / took, 1);
        $("stat-fps").replaceChildren(`${overall} fps `, el("small", {}, "overall"));
      }
    }
    if (Number.isFinite(doc.render_fps)) {
      $("stat-fps").textContent = `${trim(doc.render_fps, 1)} fps`;
    }
    $("result-info").replaceChildren(...parts);
    if (Number.isFinite(doc.size_bytes)) {
      const downloadLabel = $("download-label");
      downloadLabel.textContent = `${downloadLabel.textContent} · ${bytes(doc.size_bytes)}`;
    }
  } catch (error) {
    if (error instanceof Unauthorized) askToken("This server needs an API token.", null);
  }
}

/** "estimated 1:00, 17% longer": how far the estimate before the export was off. */
function howFarOff(guessed, took) {
  const off = Math.round(((took - guessed) / guessed) * 100);
  const how = off === 0 ? "spot on" : off > 0 ? `${off}% longer` : `${-off}% quicker`;
  return `estimated ${clock(guessed)}, ${how}`;
}

/** The finished video's poster: its brightest moment, drawn from the job's stored spec. */
async function addPoster(job) {
  if (job.meta?.format === "gif") return;
  let poster = null;
  try {
    const response = await request(`/api/exports/${encodeURIComponent(job.id)}/poster`);
    if (response.ok && response.data instanceof Blob) poster = URL.createObjectURL(response.data);
  } catch {
    return; // a video without a poster still plays
  }
  const video = $("preview").querySelector("video");
  if (poster && video && state.job === job) video.poster = poster;
}

const NO_PREVIEW = "No preview in this browser: download the file to watch it.";
const NO_PRORES = "Browsers cannot play ProRes: download the .mov to watch it.";

/** A <video> (or <img> for GIF); when the format is unknown, try video, then image. */
function showPreview(url, knownFormat) {
  const box = $("preview");
  const src = url;
  const unavailable = (why) => box.replaceChildren(el("p", { class: "empty" }, why));
  const image = () => {
    const img = el("img", { src, alt: "Preview of the exported GIF" });
    img.addEventListener("error", () => unavailable(NO_PREVIEW), { once: true });
    box.replaceChildren(img);
  };
  if (knownFormat === "gif") {
    image();
    return;
  }
  const video = el("video", {
    src,
    controls: true,
    playsinline: true,
    preload: "metadata",
    "aria-label": "Preview of the exported video",
  });
  // A container the browser reads but a codec it cannot decode (ProRes) loads as sound only.
  video.addEventListener(
    "loadedmetadata",
    () => {
      if (video.videoWidth === 0) unavailable(knownFormat === "mov" ? NO_PRORES : NO_PREVIEW);
    },
    { once: true },
  );
  video.addEventListener(
    "error",
    () => {
      if (!knownFormat) image();
      else if (knownFormat === "mov") unavailable(NO_PRORES);
      else unavailable(NO_PREVIEW);
    },
    { once: true },
  );
  box.replaceChildren(video);
}

export async function cancelExport() {
  const job = state.job;
  if (!job) return;
  const button = $("cancel");
  button.disabled = true;
  button.textContent = "Cancelling…";
  try {
    const path = `/api/exports/${encodeURIComponent(job.id)}`;
    const response = await request(path, { method: "DELETE" });
    if (!response.ok) {
      button.disabled = false;
      button.textContent = "Cancel export";
      const message = response.data?.error || `HTTP ${response.status}`;
      $("export-error").replaceChildren(el("strong", {}, "Could not cancel"), message);
      $("export-error").hidden = false;
    } else if (response.data?.phase === "cancelled" && state.job === job) {
      job.follower?.close(); // the socket would only say the same again
      onJobMessage(job, { type: "error", phase: "cancelled", message: "the export was cancelled" });
    }
  } catch (error) {
    button.disabled = false;
    button.textContent = "Cancel export";
    if (error instanceof Unauthorized) askToken("Cancelling needs an API token.", cancelExport);
    else {
      $("export-error").replaceChildren(el("strong", {}, "Could not cancel"), error.message);
      $("export-error").hidden = false;
    }
  }
}
