// The export settings form: presets and custom values, hints that never block (the server is
// the authority), and the server's validation issues shown next to the fields they name.

import { beatToSeconds, clock, fpsValue, frameCount, trim } from "./music.js";
import { $, FORMATS, announce, el, readJson, showAlert, state, writeJson } from "./page.js";

const GIF_FPS = [1, 2, 4, 5, 10, 20, 25, 50];
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

export function selectedRange() {
  const total = state.summary ? state.summary.durationBeats : 0;
  const startText = $("start-beat").value;
  const endText = $("end-beat").value;
  return {
    start: startText === "" ? 0 : Number(startText),
    end: endText === "" ? total : Number(endText),
  };
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
  if ($("start-beat").value !== "") settings.startBeat = Number($("start-beat").value);
  if ($("end-beat").value !== "") settings.endBeat = Number($("end-beat").value);
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

  const fps = fpsValue(fpsSetting());
  const custom = $("fps").value === "custom";
  $("fps-custom-field").hidden = !custom;
  if (custom && !(fps > 0)) {
    const typed = $("fps-custom").value !== "";
    setHint("fps-hint", "An integer or a ratio N/D, e.g. 30000/1001.", typed);
  } else if (chosen === "gif" && !GIF_FPS.includes(fps)) {
    setHint("fps-hint", `GIF plays exactly at ${GIF_FPS.join(", ")} fps only.`, true);
  } else {
    setHint("fps-hint", custom && fps > 0 ? `${trim(fps, 3)} frames per second` : "");
  }

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

  updateRangeAndSummary(fps);
  saveSettings();
}

function updateRangeAndSummary(fps) {
  const summary = state.summary;
  if (!summary) {
    setHint("range-hint", "Defaults to the whole song.");
    $("export-summary").textContent = "Load a project to export it.";
    $("start").disabled = true;
    return;
  }
  $("start").disabled = false;
  const range = selectedRange();
  const total = summary.durationBeats;
  if (!(range.start >= 0) || !(range.end > range.start) || range.end > total) {
    setHint(
      "range-hint",
      `Choose 0 ≤ start < end ≤ ${trim(total)} (the song has ${trim(total)} beats).`,
      true,
    );
    $("export-summary").textContent = "";
    return;
  }
  const project = state.project;
  const seconds = beatToSeconds(project, range.end) - beatToSeconds(project, range.start);
  setHint(
    "range-hint",
    `Beats ${trim(range.start)}–${trim(range.end)} · ` +
      `${clock(seconds)} of ${clock(summary.seconds)}`,
  );
  const width = $("width").value || "?";
  const height = $("height").value || "?";
  const frames = fps > 0 ? frameCount(seconds, fps) : null;
  $("export-summary").replaceChildren(
    el("strong", {}, `${width}×${height}`),
    ` · ${fps > 0 ? trim(fps, 3) : "?"} fps · ${FORMATS[format()].label} · `,
    el("strong", {}, frames === null ? "? frames" : `${frames.toLocaleString()} frames`),
    ` · ${clock(seconds)}`,
  );
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
  const value = CSS.escape(String(saved.format));
  const radio = document.querySelector(`input[name="format"][value="${value}"]`);
  if (radio) radio.checked = true;
}

/** Wire the form: `onSubmit()` starts an export, `onRangeChange()` follows the beat range. */
export function setupSettings({ onSubmit, onRangeChange }) {
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
    updateHints();
  });
  for (const id of ["width", "height"]) {
    $(id).addEventListener("input", () => {
      const match = [...$("resolution").options].find(
        (option) => option.value === `${$("width").value}x${$("height").value}`,
      );
      $("resolution").value = match ? match.value : "custom";
      updateHints();
    });
  }
  $("fps").addEventListener("change", () => {
    if ($("fps").value === "custom") {
      $("fps-custom-field").hidden = false;
      $("fps-custom").focus();
    }
    updateHints();
  });
  for (const id of ["fps-custom", "crf", "preset", "audio", "start-beat", "end-beat"]) {
    $(id).addEventListener("input", updateHints);
  }
  for (const id of ["start-beat", "end-beat"]) $(id).addEventListener("input", onRangeChange);
  for (const radio of document.querySelectorAll('input[name="format"]')) {
    radio.addEventListener("change", () => {
      clearIssue("settings.format");
      updateHints();
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

/** Put each issue next to the field it names; project issues go in the project's box. */
export function showIssues(title, issues) {
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
    } else if (path === "project" || path.startsWith("project.") || path.startsWith("project[")) {
      projectIssues.push(issue);
    } else {
      otherIssues.push(issue);
    }
  }
  if (projectIssues.length) {
    showAlert($("project-error"), "The server refused this project:", projectIssues);
    first = first || $("project-error");
  }
  if (otherIssues.length || (!first && !projectIssues.length)) {
    showFormError(title, otherIssues);
  }
  updateHints(); // the server's word replaces the client's hint
  announce(`${title}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`);
  if (first && first.focus) {
    if (first.id === "project-error") first.scrollIntoView({ block: "center" });
    else first.focus();
  }
}

export function showFormError(title, issues = []) {
  showAlert($("form-error"), title, issues);
}
