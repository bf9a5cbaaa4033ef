// The export settings form: presets and custom values, hints that never block, the server's
// plan (frames, seconds) as the estimate, and the server's validation issues shown next to the
// fields they name.

import { clock, trim } from "./format.js";
import { problemItem } from "./problems.js";
import {
  $,
  FORMATS,
  TERMINAL,
  announce,
  el,
  readJson,
  showAlert,
  state,
  writeJson,
} from "./page.js";

const SETTINGS_KEY = "framefarm.settings";

function format() {
  return document.querySelector('input[name="format"]:checked').value;
}

function fpsSetting() {
  const choice = $("fps").value;
  const text = choice === "custom" ? $("fps-custom").value.trim() : choice;
  return /^\d+$/.test(text) ? Number(text) : text;
}

function numberOrRaw(text) {
  if (text.trim() === "") return null;
  const number = Number(text);
  return Number.isFinite(number) ? number : text;
}

/** The range in beats: as typed, or (bars, time) as the server read it in the last plan. */
export function selectedRange() {
  const total = state.summary ? state.summary.durationBeats : 0;
  const startText = $("start-beat").value;
  const endText = $("end-beat").value;
  if (rangeUnit() !== "beats") {
    return state.plan
      ? { start: state.plan.startBeat, end: state.plan.endBeat }
      : { start: 0, end: total };
  }
  return {
    start: startText === "" ? 0 : Number(startText),
    end: endText === "" ? total : Number(endText),
  };
}

function rangeUnit() {
  return $("range-unit").value;
}

/**
 * The range as typed in bars:beats or m:ss, for the server to read (the request's `range`);
 * null when it is written in beats (then it is in the settings) or left empty.
 */
export function readRange() {
  const unit = rangeUnit();
  const start = $("start-beat").value.trim();
  const end = $("end-beat").value.trim();
  if (unit === "beats" || (start === "" && end === "")) return null;
  const range = { unit };
  if (start !== "") range.start = start;
  if (end !== "") range.end = end;
  return range;
}

/** The body of an export request (submit, plan, estimate, preview): the range as typed. */
export function exportBody(project, settings) {
  const range = readRange();
  return range ? { project, settings, range } : { project, settings };
}

const RANGE_UNITS = {
  beats: { start: "Start beat", end: "End beat", type: "number", placeholder: "0" },
  bars: { start: "Start (bar:beat)", end: "End (bar:beat)", type: "text", placeholder: "1:1" },
  time: { start: "Start (m:ss)", end: "End (m:ss)", type: "text", placeholder: "0:00" },
};

/** Label and type the range fields for the chosen unit. */
function labelRange() {
  const unit = RANGE_UNITS[rangeUnit()];
  $("start-beat-label").textContent = unit.start;
  $("end-beat-label").textContent = unit.end;
  for (const id of ["start-beat", "end-beat"]) {
    $(id).type = unit.type;
    $(id).inputMode = unit.type === "number" ? "decimal" : "text";
  }
  $("start-beat").placeholder = unit.placeholder;
}

/**
 * Another unit: the range typed so far is rewritten in it, from the server's own reading of it
 * (the last plan's startBar, startTime, startBeat); an empty end stays empty (the song's end).
 */
function changeRangeUnit() {
  const plan = state.plan;
  const unit = rangeUnit();
  const written = {
    beats: plan && [trim(plan.startBeat, 3), trim(plan.endBeat, 3)],
    bars: plan && [plan.startBar, plan.endBar],
    time: plan && [plan.startTime, plan.endTime],
  }[unit];
  const typed = ["start-beat", "end-beat"].map((id) => $(id).value.trim() !== "");
  labelRange(); // a number field drops text it cannot hold: what was typed is known already
  ["start-beat", "end-beat"].forEach((id, index) => {
    if (typed[index]) $(id).value = written ? written[index] : "";
  });
}

/** The settings as the API takes them; the server checks them (errors come back per field). */
export function readSettings() {
  const chosen = format();
  const settings = {
    width: numberOrRaw($("width").value),
    height: numberOrRaw($("height").value),
    fps: fpsSetting(),
    format: chosen,
  };
  if (FORMATS[chosen].audio) settings.audio = $("audio").checked;
  if (FORMATS[chosen].crfMax !== null) settings.crf = Number($("crf").value);
  if (FORMATS[chosen].preset) settings.preset = $("preset").value;
  if (rangeUnit() === "beats") {
    if ($("start-beat").value !== "") settings.startBeat = numberOrRaw($("start-beat").value);
    if ($("end-beat").value !== "") settings.endBeat = numberOrRaw($("end-beat").value);
  }
  return settings;
}

function setHint(id, text, warn = false) {
  const hint = $(id);
  hint.textContent = text;
  hint.classList.toggle("warn", warn && Boolean(text));
}

function gcd(a, b) {
  return b === 0 ? a : gcd(b, a % b);
}

/** Client-side hints only: they never block a request (the server is the authority). */
export function updateHints() {
  const chosen = format();
  const spec = FORMATS[chosen];
  const width = Number($("width").value);
  const height = Number($("height").value);
  const sizeValid = Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0;
  const serverSaid = !$("width-error").hidden || !$("height-error").hidden;
  if (serverSaid) {
    setHint("size-hint", "");
  } else if (sizeValid && spec.even && (width % 2 || height % 2)) {
    const odd = [width % 2 ? `width ${width}` : null, height % 2 ? `height ${height}` : null]
      .filter(Boolean)
      .join(" and ");
    setHint("size-hint", `${spec.label} needs an even width and height; ${odd} is odd.`, true);
  } else if (sizeValid) {
    const divisor = gcd(width, height);
    const megapixels = (width * height) / 1e6;
    setHint("size-hint", `${width / divisor}:${height / divisor} · ${trim(megapixels, 2)} MP`);
  } else {
    setHint("size-hint", "");
  }

  $("fps-custom-field").hidden = $("fps").value !== "custom";

  $("audio").disabled = !spec.audio;
  setHint("audio-hint", spec.audio ? "" : "GIF has no sound.");

  const crf = $("crf");
  const hasCrf = spec.crfMax !== null;
  crf.disabled = !hasCrf;
  $("preset").disabled = !spec.preset;
  $("quality-group").classList.toggle("not-applicable", !hasCrf);
  if (hasCrf) {
    crf.max = String(spec.crfMax);
    if (Number(crf.value) > spec.crfMax) crf.value = String(spec.crfMax);
  }
  crf.style.setProperty("--fill", `${(Number(crf.value) / Number(crf.max)) * 100}%`);
  $("crf-value").textContent = hasCrf ? crf.value : "—";
  const qualityHints = {
    mp4: "H.264: 18 looks lossless, 23 is x264's default; slower presets make smaller files.",
    webm: "VP9: around 30–34 suits most videos; slower presets make smaller files.",
    mov: "ProRes 422 HQ has a fixed quality: no CRF or preset.",
    gif: "GIF uses a 256-colour palette: no CRF or preset.",
  };
  setHint("crf-hint", qualityHints[chosen]);

  renderEstimate();
  saveSettings();
}

/** True while the export in the panel is neither finished nor failed (one at a time). */
export function exportRunning() {
  return Boolean(state.job && !TERMINAL.has(state.job.phase || "queued"));
}

/**
 * The server's plan, as it stands: the range in seconds, the frames and the video's length.
 * While a newer plan is on its way the last one stays, marked busy.
 */
export function renderEstimate() {
  const summary = $("export-summary");
  // Blocked while the server's last word on these settings was a list of problems.
  $("start").disabled = !state.project || exportRunning() || state.blocked;
  summary.setAttribute("aria-busy", String(Boolean(state.project && state.planPending)));
  const plan = state.plan;
  const custom = $("fps").value === "custom";
  setHint("fps-hint", custom && plan ? `${trim(plan.fpsValue, 3)} frames per second` : "");
  const defaultRange = $("start-beat").value === "" && $("end-beat").value === "";
  if (!state.project) {
    setHint("range-hint", "Defaults to the whole song.");
    summary.textContent = "Load a project to export it.";
  } else if (plan) {
    const seconds = plan.endSeconds - plan.startSeconds;
    setHint(
      "range-hint",
      `Beats ${trim(plan.startBeat)}–${trim(plan.endBeat)}` +
        ` (bar ${plan.startBar} to ${plan.endBar})` +
        ` · ${clock(plan.startSeconds)}–${clock(plan.endSeconds)}` +
        ` · ${clock(seconds)} of ${clock(plan.project.seconds)}`,
    );
    summary.replaceChildren(
      el("strong", {}, `${plan.width}×${plan.height}`),
      ` · ${trim(plan.fpsValue, 3)} fps · ${FORMATS[plan.format].label} · `,
      el("strong", {}, `${plan.frames.toLocaleString()} frames`),
      ` · ${clock(plan.durationSeconds)}`,
    );
  } else if (!state.planPending) {
    setHint("range-hint", defaultRange ? "Defaults to the whole song." : "");
    summary.textContent = state.planNote || "";
  }
}

function saveSettings() {
  writeJson(SETTINGS_KEY, {
    resolution: $("resolution").value,
    width: $("width").value,
    height: $("height").value,
    fps: $("fps").value,
    fpsCustom: $("fps-custom").value,
    format: format(),
    crf: $("crf").value,
    preset: $("preset").value,
    audio: $("audio").checked,
    rangeUnit: rangeUnit(),
    startBeat: $("start-beat").value,
    endBeat: $("end-beat").value,
  });
}

function restoreSettings() {
  const saved = readJson(SETTINGS_KEY, null);
  if (!saved || typeof saved !== "object") return;
  const setSelect = (id, value) => {
    if ([...$(id).options].some((option) => option.value === value)) $(id).value = value;
  };
  setSelect("resolution", saved.resolution);
  setSelect("fps", saved.fps);
  setSelect("preset", saved.preset);
  if (typeof saved.width === "string") $("width").value = saved.width;
  if (typeof saved.height === "string") $("height").value = saved.height;
  if (typeof saved.fpsCustom === "string") $("fps-custom").value = saved.fpsCustom;
  if (typeof saved.crf === "string") $("crf").value = saved.crf;
  if (typeof saved.audio === "boolean") $("audio").checked = saved.audio;
  setSelect("range-unit", saved.rangeUnit);
  labelRange();
  if (typeof saved.startBeat === "string") $("start-beat").value = saved.startBeat;
  if (typeof saved.endBeat === "string") $("end-beat").value = saved.endBeat;
  const value = CSS.escape(String(saved.format));
  const radio = document.querySelector(`input[name="format"][value="${value}"]`);
  if (radio) radio.checked = true;
}

/**
 * Wire the form: `onSubmit()` starts an export, `onRangeChange()` follows the beat range and
 * `onChange()` follows every change (the plan).
 */
export function setupSettings({ onSubmit, onRangeChange, onChange }) {
  const changed = () => {
    updateHints();
    onChange();
  };
  restoreSettings();
  // Editing a field clears the server's complaint about it (before the hints look at it).
  for (const [path, field] of Object.entries(FIELDS)) {
    for (const input of field.inputs()) {
      input.addEventListener("input", () => clearIssue(path));
      input.addEventListener("change", () => clearIssue(path));
    }
  }
  $("resolution").addEventListener("change", () => {
    const value = $("resolution").value;
    if (value === "custom") {
      $("width").focus();
    } else {
      const [width, height] = value.split("x");
      $("width").value = width;
      $("height").value = height;
      clearIssue("settings.width");
      clearIssue("settings.height");
    }
    changed();
  });
  for (const id of ["width", "height"]) {
    $(id).addEventListener("input", () => {
      const match = [...$("resolution").options].find(
        (option) => option.value === `${$("width").value}x${$("height").value}`,
      );
      $("resolution").value = match ? match.value : "custom";
      changed();
    });
  }
  $("fps").addEventListener("change", () => {
    if ($("fps").value === "custom") {
      $("fps-custom-field").hidden = false;
      $("fps-custom").focus();
    }
    changed();
  });
  for (const id of ["fps-custom", "crf", "preset", "audio", "start-beat", "end-beat"]) {
    $(id).addEventListener("input", changed);
  }
  for (const id of ["start-beat", "end-beat"]) $(id).addEventListener("input", onRangeChange);
  $("range-unit").addEventListener("change", () => {
    changeRangeUnit();
    clearIssue("settings.startBeat");
    clearIssue("settings.endBeat");
    changed();
  });
  for (const radio of document.querySelectorAll('input[name="format"]')) {
    radio.addEventListener("change", () => {
      clearIssue("settings.format");
      changed();
    });
  }
  $("export-form").addEventListener("submit", (event) => {
    event.preventDefault();
    onSubmit();
  });
  updateHints();
}

// --- validation errors from the server ----------------------------------------------------

const FIELDS = {
  "settings.width": { error: "width-error", inputs: () => [$("width")] },
  "settings.height": { error: "height-error", inputs: () => [$("height")] },
  "settings.fps": { error: "fps-error", inputs: () => [$("fps"), $("fps-custom")] },
  "settings.format": {
    error: "format-error",
    inputs: () => [...document.querySelectorAll('input[name="format"]')],
  },
  "settings.audio": { error: "audio-error", inputs: () => [$("audio")] },
  "settings.crf": { error: "crf-error", inputs: () => [$("crf")] },
  "settings.preset": { error: "preset-error", inputs: () => [$("preset")] },
  "settings.startBeat": { error: "start-beat-error", inputs: () => [$("start-beat")] },
  "settings.endBeat": { error: "end-beat-error", inputs: () => [$("end-beat")] },
  "range.start": { error: "start-beat-error", inputs: () => [$("start-beat")] },
  "range.end": { error: "end-beat-error", inputs: () => [$("end-beat")] },
};

function clearIssue(path) {
  const field = FIELDS[path];
  if (!field) return;
  const error = $(field.error);
  error.textContent = "";
  error.hidden = true;
  for (const input of field.inputs()) input.removeAttribute("aria-invalid");
}

export function clearIssues() {
  for (const path of Object.keys(FIELDS)) clearIssue(path);
  $("form-error").hidden = true;
  $("form-error").replaceChildren();
}

/** The server's validation issues only (a newer answer replaces them); other alerts stay. */
export function clearValidation() {
  for (const path of Object.keys(FIELDS)) clearIssue(path);
  for (const box of [$("form-error"), $("project-error")]) {
    if (box.dataset.origin === "validation") box.hidden = true;
  }
}

/** An issue about the project (its box) rather than the settings. */
export function isProjectIssue(issue) {
  const path = String(issue.path || "");
  return path === "project" || path.startsWith("project.") || path.startsWith("project[");
}

/**
 * Put each issue next to the field it names; project issues go in the project's box. After a
 * submission the first one takes the focus and is announced; `live` (the plan, while the user
 * edits) leaves the focus where it is.
 */
export function showIssues(title, issues, { live = false } = {}) {
  const projectIssues = [];
  const otherIssues = [];
  let first = null;
  for (const issue of issues) {
    const path = String(issue.path || "");
    const field = FIELDS[path];
    if (field) {
      const error = $(field.error);
      const before = error.textContent;
      error.textContent = before ? `${before}; ${issue.message}` : issue.message;
      error.hidden = false;
      const inputs = field.inputs().filter((input) => !input.closest("[hidden]"));
      for (const input of inputs) input.setAttribute("aria-invalid", "true");
      const customFps = path === "settings.fps" && $("fps").value === "custom";
      const target = customFps ? $("fps-custom") : inputs[0];
      first = first || target;
    } else if (isProjectIssue(issue)) {
      projectIssues.push(issue);
    } else {
      otherIssues.push(issue);
    }
  }
  if (projectIssues.length) {
    const box = $("project-error");
    box.replaceChildren(
      el("strong", {}, "Fix these in the project to export it:"),
      el("ul", {}, ...projectIssues.map((issue) => problemItem(issue, state.project))),
    );
    box.hidden = false;
    $("project-error").dataset.origin = "validation";
    first = first || $("project-error");
  }
  if (otherIssues.length || (!first && !projectIssues.length)) {
    showFormError(title, otherIssues);
    $("form-error").dataset.origin = "validation";
  }
  updateHints(); // the server's word replaces the client's hint
  if (live) return;
  announce(`${title}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`);
  if (first && first.focus) {
    if (first.id === "project-error") first.scrollIntoView({ block: "center" });
    else first.focus();
  }
}

export function showFormError(title, issues = []) {
  showAlert($("form-error"), title, issues);
  $("form-error").dataset.origin = "failure";
}
