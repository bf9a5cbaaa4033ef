// The frame preview before exporting: a frame of the song at the chosen settings, drawn by the
// server's own renderer (POST /api/preview), with a scrubber over the export's range. The first
// picture is the song's brightest moment (the server picks it); scrubbing asks for the beat
// under the thumb, one request at a time, always the latest position.

import { Unauthorized, request } from "./api.js";
import { clock, trim } from "./format.js";
import { $, state } from "./page.js";
import { exportBody, readSettings } from "./settings.js";

const SCRUB_DEBOUNCE_MS = 120;
let busy = false;
let wanted = null; // {key, beat}: the latest picture asked for while one was on its way
let shownKey = null;
let timer = null;
let objectUrl = null;

/** The plan changed (project or settings): new range on the scrubber, a new picture. */
export function previewPlan(plan) {
  const box = $("frame-preview");
  if (!plan || !state.project) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const scrubber = $("scrubber");
  const key = settingsKey();
  const first = scrubber.dataset.project !== String(state.projectSerial);
  scrubber.min = String(plan.startBeat);
  scrubber.max = String(plan.endBeat);
  scrubber.step = "any";
  if (first) {
    scrubber.dataset.project = String(state.projectSerial);
    ask({ key, beat: null }); // the server picks the brightest moment
  } else if (key !== shownKey) {
    ask({ key, beat: clamp(Number(scrubber.value), plan.startBeat, plan.endBeat) });
  }
}

/** The settings and the range as typed (what decides the picture), as one string. */
function settingsKey() {
  const { settings, range } = exportBody(null, readSettings());
  return JSON.stringify(range ? { settings, range } : { settings });
}

export function setupPreview() {
  const scrubber = $("scrubber");
  scrubber.addEventListener("input", () => {
    describe(Number(scrubber.value));
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      ask({ key: settingsKey(), beat: Number(scrubber.value) });
    }, SCRUB_DEBOUNCE_MS);
  });
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

async function ask(next) {
  wanted = next;
  if (busy) return;
  busy = true;
  $("frame-preview").setAttribute("aria-busy", "true");
  try {
    while (wanted) {
      const { key, beat } = wanted;
      wanted = null;
      await fetchFrame(key, beat);
    }
  } finally {
    busy = false;
    $("frame-preview").setAttribute("aria-busy", "false");
  }
}

async function fetchFrame(key, beat) {
  const project = state.project;
  if (!project) return;
  const body = { project, ...JSON.parse(key) };
  if (beat !== null) body.beat = beat;
  const error = $("frame-preview-error");
  let response;
  try {
    response = await request("/api/preview", { method: "POST", body });
  } catch (failure) {
    error.textContent =
      failure instanceof Unauthorized
        ? "The preview needs an API token."
        : "The preview could not be reached.";
    error.hidden = false;
    return;
  }
  if (state.project !== project) return;
  if (!response.ok || !(response.data instanceof Blob)) {
    error.textContent = `No preview for these settings: ${response.data?.error || `HTTP ${response.status}`}.`;
    error.hidden = false;
    return;
  }
  error.hidden = true;
  shownKey = key;
  const shownBeat = Number(response.headers?.get("X-Preview-Beat"));
  const shownSeconds = Number(response.headers?.get("X-Preview-Seconds"));
  const image = $("frame-preview-image");
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(response.data);
  image.src = objectUrl;
  if (Number.isFinite(shownBeat)) {
    if (beat === null) $("scrubber").value = String(shownBeat);
    describe(shownBeat, shownSeconds);
  }
  image.dataset.beat = Number.isFinite(shownBeat) ? String(shownBeat) : "";
}

/**
 * "Bar 3, beat 2 · 0:04": the bar from the project's meter (the server's summary), the time as
 * the server reported it for the frame shown (none while the thumb moves to a new beat).
 */
function describe(beat, seconds = null) {
  const meter = state.summary?.timeSignature?.[0] || 4;
  const bar = Math.floor(beat / meter) + 1;
  const inBar = trim((beat % meter) + 1, 2);
  let text = `Bar ${bar}, beat ${inBar}`;
  if (Number.isFinite(seconds)) text += ` · ${clock(seconds)}`;
  $("frame-preview-where").textContent = text;
  $("scrubber").setAttribute("aria-valuetext", text);
}
