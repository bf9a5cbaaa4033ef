// The project: load it (file picker, drag and drop, or an example) and show the server's
// summary of it: its length and tempo, its tracks and each track's notes as a small piano roll.

import { keepProject, keptProject } from "./keep.js";
import { Unauthorized, request } from "./api.js";
import { clock, trim } from "./format.js";
import { $, el, showAlert, state } from "./page.js";
import { clearIssues, selectedRange, updateHints } from "./settings.js";
import { askToken } from "./token.js";

const FACTS = ["project-duration", "project-tempo", "project-meter", "project-track-count"];
let projectChanged = () => {};

function showProjectIssues(title, issues = []) {
  showAlert($("project-error"), title, issues);
  $("project-error").dataset.origin = "load";
}

/** Take a project the user chose; its facts wait for the server (`onChange` asks for them). */
function useProject(data, source, { keep = true } = {}) {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    showProjectIssues(`${source}: expected a JSON object (a framefarm project)`);
    return;
  }
  if (keep) keepProject(data, source);
  state.project = data;
  state.projectSerial += 1;
  state.blocked = false;
  state.summary = null;
  state.summaryOf = null;
  state.plan = null;
  state.planNote = "Asking the server for the frames and the length…";
  $("project-error").hidden = true;
  $("project-name").textContent = typeof data.name === "string" && data.name ? data.name : "—";
  $("project-source").textContent = source;
  for (const id of FACTS) $(id).textContent = "…";
  $("track-list").replaceChildren();
  $("project-summary").hidden = false;
  $("dropzone").classList.add("compact");
  clearIssues();
  updateHints();
  projectChanged();
}

/** The server's summary of `project` (from its plan): facts, tracks and piano rolls. */
export function showProjectSummary(project, summary) {
  state.summary = summary;
  state.summaryOf = project;
  $("project-name").textContent = summary.name;
  $("project-duration").replaceChildren(
    `${clock(summary.seconds)} `,
    el("small", {}, `· ${trim(summary.durationBeats)} beats`),
  );
  const tempos = [...new Set(summary.tempos.map((segment) => trim(segment.bpm)))];
  const changes = summary.tempos.length - 1;
  $("project-tempo").replaceChildren(
    `${tempos.join(" → ")} `,
    el("small", {}, changes > 0 ? `BPM · ${changes} change${changes === 1 ? "" : "s"}` : "BPM"),
  );
  $("project-meter").textContent = summary.timeSignature.join("/");
  $("project-track-count").textContent = String(summary.tracks.length);
  $("track-list").replaceChildren(...summary.tracks.map(trackItem));
  $("end-beat").max = String(summary.durationBeats);
  $("start-beat").max = String(summary.durationBeats);
  $("end-beat").placeholder = `${trim(summary.durationBeats)} (end)`;
  drawRolls();
}

function trackItem(track) {
  const noteCount = `${track.notes} note${track.notes === 1 ? "" : "s"}`;
  const instrument = track.voice ? `${track.instrument} · ${track.voice}` : track.instrument;
  return el(
    "li",
    { class: "track", style: `--swatch: ${track.color}` },
    el("span", { class: "swatch", title: track.color, "aria-hidden": "true" }),
    el(
      "div",
      { class: "track-name" },
      el("span", {}, track.name || track.id),
      el("span", { class: "track-id" }, track.id),
    ),
    el(
      "div",
      { class: "track-kind" },
      el("span", { class: "tag" }, instrument),
      el("span", { class: "tag tag-style" }, track.style),
      el("span", { class: "tag tag-notes" }, noteCount),
      track.mute ? el("span", { class: "tag tag-mute" }, "muted") : null,
      el("span", { class: "visually-hidden" }, `, colour ${track.color}`),
    ),
    el("canvas", { class: "roll", "aria-hidden": "true" }),
  );
}

/**
 * Each track's notes (the server's roll: [beat, beats, pitch, velocity]) as a tiny piano roll
 * with a line at each bar; beats outside the export range are dimmed.
 */
export function drawRolls() {
  const summary = state.summary;
  if (!summary) return;
  const canvases = $("track-list").querySelectorAll("canvas.roll");
  const total = summary.durationBeats;
  const range = selectedRange();
  const ratio = window.devicePixelRatio || 1;
  const beatsPerBar = summary.beatsPerBar;
  canvases.forEach((canvas, index) => {
    const track = summary.tracks[index];
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "rgba(255,255,255,0.05)";
    for (let beat = beatsPerBar; beat < total; beat += beatsPerBar) {
      ctx.fillRect(Math.round((beat / total) * width), 0, Math.max(1, ratio / 2), height);
    }
    const pitches = track.roll.map(([, , pitch]) => pitch);
    const low = Math.min(...pitches);
    const high = Math.max(...pitches);
    const span = Math.max(high - low, 1);
    const noteHeight = Math.max(2 * ratio, Math.min(4 * ratio, height / (span + 2)));
    ctx.fillStyle = track.color;
    ctx.shadowColor = track.color;
    ctx.shadowBlur = 4 * ratio;
    for (const [beat, beats, pitch, velocity] of track.roll) {
      const x = (beat / total) * width;
      const w = Math.max(1.5 * ratio, (beats / total) * width - ratio);
      const y =
        high === low
          ? (height - noteHeight) / 2
          : (1 - (pitch - low) / span) * (height - noteHeight - 4 * ratio) + 2 * ratio;
      ctx.globalAlpha = 0.45 + 0.55 * Math.min(Math.max(velocity, 0), 1);
      ctx.fillRect(x, y, w, noteHeight);
    }
    ctx.globalAlpha = 1;
    ctx.shadowBlur = 0;
    ctx.fillStyle = "rgba(9,8,15,0.72)";
    const start = (Math.max(range.start, 0) / total) * width;
    const end = (Math.min(range.end, total) / total) * width;
    if (start > 0) ctx.fillRect(0, 0, start, height);
    if (end < width) ctx.fillRect(end, 0, width - end, height);
  });
}

async function loadFile(file) {
  if (!file) return;
  let data;
  try {
    data = JSON.parse(await file.text());
  } catch (error) {
    showProjectIssues(`${file.name} is not JSON: ${error.message}`);
    return;
  }
  useProject(data, file.name);
}

async function loadExample(name) {
  try {
    const response = await request(`/examples/${encodeURIComponent(name)}.json`);
    if (!response.ok || response.data === null) {
      const why = `HTTP ${response.status}`;
      showProjectIssues(`The example ${name} is not available on this server (${why}).`);
      return;
    }
    useProject(response.data, `examples/${name}.json`);
  } catch (error) {
    if (error instanceof Unauthorized) {
      askToken("Loading examples needs an API token.", () => loadExample(name));
    } else {
      showProjectIssues(error.message);
    }
  }
}

/** Wire loading; `onChange()` runs when another project was loaded. The project of the last
 * visit comes back first (a reload keeps the project, the settings and the range). */
export function setupProject({ onChange }) {
  projectChanged = onChange;
  keptProject().then((kept) => {
    if (kept && !state.project) useProject(kept.project, kept.source, { keep: false });
  });
  $("project-file").addEventListener("change", (event) => {
    loadFile(event.target.files[0]);
    event.target.value = "";
  });
  for (const button of document.querySelectorAll("[data-example]")) {
    button.addEventListener("click", () => loadExample(button.dataset.example));
  }
  // Dropping anywhere on the page loads the file (and never navigates away to it).
  let depth = 0;
  const zone = $("dropzone");
  const carriesFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  window.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    depth += 1;
    zone.classList.add("dragging");
  });
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove("dragging");
  });
  window.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  window.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    loadFile(event.dataTransfer.files[0]);
  });
  new ResizeObserver(() => drawRolls()).observe($("track-list"));
}
