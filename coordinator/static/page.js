// What every part of the export page shares: the page state, DOM and formatting helpers, the
// phase and format tables, the screen-reader announcer and what this browser remembers of jobs.

import { trim } from "./format.js";

export const $ = (id) => document.getElementById(id);

export const FORMATS = {
  mp4: { label: "MP4", crfMax: 51, preset: true, even: true, audio: true },
  webm: { label: "WebM", crfMax: 63, preset: true, even: true, audio: true },
  mov: { label: "MOV", crfMax: null, preset: false, even: true, audio: true },
  gif: { label: "GIF", crfMax: null, preset: false, even: false, audio: false },
};
export const TERMINAL = new Set(["complete", "failed", "cancelled"]);
export const PHASE_LABELS = {
  queued: "Queued",
  rendering: "Rendering",
  stitching: "Encoding",
  complete: "Complete",
  failed: "Failed",
  cancelled: "Cancelled",
};
const JOBS_KEY = "framefarm.jobs";

/**
 * The page's one mutable state: the loaded project, the server's summary of it (and which
 * project that summary is of), the server's plan of the export (and the settings it is for),
 * the followed job, the recent list.
 */
export const state = {
  project: null,
  projectSerial: 0, // counts loaded projects (the preview starts each at its brightest moment)
  blocked: false, // the last plan found problems: Export waits until they are fixed
  estimate: null, // the farm's estimate for the current settings (POST /api/exports/estimate)
  submitted: null, // {jobId, project, settings} of the export this page started last
  summary: null,
  summaryOf: null,
  plan: null,
  planSettings: null,
  planNote: "",
  planPending: false,
  job: null,
  recent: [],
  recentTimer: null,
  pendingRetry: null,
};

/** `<tag attributes…>children…</tag>`; false, null and undefined attributes are left out. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "style") node.style.cssText = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** "14 KB", "1.2 MB" (decimal units, as file managers show). */
export function bytes(size) {
  if (!Number.isFinite(size)) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let value = size;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : trim(value, value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "just now", "5 min ago", a time today, or a date. */
export function since(epochSeconds) {
  const seconds = Date.now() / 1000 - epochSeconds;
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  const date = new Date(epochSeconds * 1000);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { month: "short", day: "numeric" });
}

export function readJson(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key) || "null");
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

export function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or disabled: only a convenience is lost
  }
}

/** What this browser knows of a job it started (format, size, name) for titles and previews. */
export function jobMeta(jobId) {
  return readJson(JOBS_KEY, {})[jobId] || null;
}

/** The facts of a status (or a recent exports' entry) as the page keeps them per export. */
export function metaOf(doc) {
  return {
    name: doc.name,
    format: doc.format,
    width: doc.width,
    height: doc.height,
    fps: doc.fps,
    frames: doc.frames_total,
  };
}

export function rememberJob(jobId, meta) {
  const jobs = readJson(JOBS_KEY, {});
  jobs[jobId] = { ...meta, at: Date.now() };
  const newest = Object.entries(jobs)
    .sort((a, b) => b[1].at - a[1].at)
    .slice(0, 50);
  writeJson(JOBS_KEY, Object.fromEntries(newest));
}

let announceTimer = null;

/** Say `text` through the polite live region (cleared first so a repeat is spoken again). */
export function announce(text) {
  const live = $("live");
  window.clearTimeout(announceTimer);
  live.textContent = "";
  announceTimer = window.setTimeout(() => {
    live.textContent = text;
  }, 60);
}

/** "1280×720 · 60 fps · MP4" from what this browser remembers of a job, or null. */
export function describeJob(meta) {
  if (!meta) return null;
  const parts = [];
  if (meta.width && meta.height) parts.push(`${meta.width}×${meta.height}`);
  const fps = Number.isFinite(meta.fpsValue) ? trim(meta.fpsValue, 3) : meta.fps;
  if (fps) parts.push(`${fps} fps`);
  if (meta.format && FORMATS[meta.format]) parts.push(FORMATS[meta.format].label);
  return parts.join(" · ");
}

/** Fill an alert box with a title and, if any, the issues (JSON path, message, value). */
export function showAlert(box, title, issues = []) {
  box.replaceChildren(el("strong", {}, title));
  if (issues.length) {
    box.append(
      el(
        "ul",
        {},
        ...issues.map((issue) =>
          el(
            "li",
            {},
            el("code", {}, issue.path || "request"),
            ` ${issue.message}`,
            shownValue(issue),
          ),
        ),
      ),
    );
  }
  box.hidden = false;
}

function shownValue(issue) {
  if (!("value" in issue)) return null;
  const text = JSON.stringify(issue.value);
  if (text === undefined || text.length > 60) return null;
  return el("span", { class: "muted" }, ` (got ${text})`);
}
