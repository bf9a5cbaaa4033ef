// The server's plan of the export (POST /api/exports/plan): its frames and seconds and the
// project's summary, asked for 250 ms after the last change to the project or the settings.
// The page does no musical arithmetic of its own; the last plan stays shown while the next is
// on its way, and the server's issues go next to the fields they name.

import { Unauthorized, request } from "./api.js";
import { $, state } from "./page.js";
import { showProjectSummary } from "./project.js";
import {
  clearValidation,
  exportBody,
  isProjectIssue,
  readSettings,
  renderEstimate,
  showIssues,
} from "./settings.js";
import { previewPlan } from "./preview.js";
import { askToken } from "./token.js";

const DEBOUNCE_MS = 250;
let timer = null;
let latest = 0; // counts changes: an answer that arrives after another change is dropped

/** Ask for a new plan once the changes have paused for DEBOUNCE_MS. */
export function schedulePlan() {
  window.clearTimeout(timer);
  timer = null;
  latest += 1;
  if (!state.project) return;
  setPending(true);
  timer = window.setTimeout(refreshPlan, DEBOUNCE_MS);
}

/** Ask for the plan of the current project and settings now. */
export async function refreshPlan() {
  window.clearTimeout(timer);
  timer = null;
  const project = state.project;
  if (!project) return;
  const settings = readSettings();
  const number = ++latest;
  if (!complete(settings)) {
    settle(null, "Fill in the size and the frame rate to see the frames and the length.");
    return;
  }
  setPending(true);
  let response;
  try {
    const body = exportBody(project, settings);
    response = await request("/api/exports/plan", { method: "POST", body });
  } catch (error) {
    if (number !== latest) return;
    if (error instanceof Unauthorized) {
      settle(null, "The frames and the length need an API token.");
      if ($("token-form").hidden) askToken("This server needs an API token.", null);
    } else {
      settle(null, `No estimate: ${error.message}`);
    }
    return;
  }
  if (number !== latest) return;
  state.blocked = response.status === 422;
  if (response.status === 200 && response.data) {
    const plan = response.data;
    clearValidation();
    if (state.summaryOf !== project) showProjectSummary(project, plan.project);
    settle(plan, "", JSON.stringify(settings));
    askEstimate(project, settings, number);
  } else if (response.status === 422 && response.data) {
    const issues = response.data.issues || [];
    clearValidation();
    showIssues(response.data.error || "Invalid export", issues, { live: true });
    settle(null, "No estimate until the problems shown are fixed.");
    if (!issues.some(isProjectIssue) && state.summaryOf !== project) summarizeOnly(project);
  } else {
    const why = response.data?.error || `the server answered HTTP ${response.status}`;
    settle(null, `No estimate: ${why}`);
  }
}

/** The farm's estimate of how long this export takes ("about 2 min on 4 workers"). */
async function askEstimate(project, settings, number) {
  const line = $("export-estimate");
  let response;
  try {
    response = await request("/api/exports/estimate", {
      method: "POST",
      body: exportBody(project, settings),
    });
  } catch {
    return;
  }
  if (number !== latest || !response.ok || !response.data) return;
  const estimate = response.data;
  state.estimate = estimate;
  const workers = Number.isFinite(estimate.workers)
    ? ` on ${estimate.workers} worker${estimate.workers === 1 ? "" : "s"}`
    : "";
  line.textContent = Number.isFinite(estimate.seconds)
    ? `Takes about ${roughly(estimate.seconds)}${workers}.`
    : `No estimate of the time yet: the farm has not finished an export to measure${workers}.`;
}

/** "40 s", "about 2 min", "1 h 5 min": as precise as an estimate deserves. */
export function roughly(seconds) {
  if (seconds < 60) return `${Math.max(5, Math.round(seconds / 5) * 5)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The plan's frame rate as a number if it was made for exactly these settings, else null. */
export function plannedFps(settings) {
  const plan = state.plan;
  return plan && state.planSettings === JSON.stringify(settings) ? plan.fpsValue : null;
}

/** The project alone (default settings): its summary while the settings are being fixed. */
async function summarizeOnly(project) {
  try {
    const response = await request("/api/exports/plan", { method: "POST", body: { project } });
    if (response.status === 200 && response.data && state.project === project) {
      if (state.summaryOf !== project) showProjectSummary(project, response.data.project);
    }
  } catch {
    // the full plan's own request already said what went wrong
  }
}

function complete(settings) {
  return settings.width !== null && settings.height !== null && settings.fps !== "";
}

function setPending(pending) {
  state.planPending = pending;
  renderEstimate();
}

function settle(plan, note, settings = null) {
  state.plan = plan;
  state.planNote = note;
  state.planSettings = settings;
  setPending(false);
  if (plan) previewPlan(plan);
}
