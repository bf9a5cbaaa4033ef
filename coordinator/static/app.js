// The export page: load a project, choose settings, start an export, follow it over the
// WebSocket, preview and download the result, and list recent exports. No build step: each
// part is an ES module (page, token, project, settings, plan, job, recent; api and format below
// them). Every number about the music (seconds, frames) comes from the server's plan.

import { cancelExport, follow, startExport } from "./job.js";
import { $ } from "./page.js";
import { refreshPlan, schedulePlan } from "./plan.js";
import { setupPreview } from "./preview.js";
import { setupQuality } from "./quality.js";
import { drawRolls, setupProject } from "./project.js";
import { refreshRecent, setupRecent } from "./recent.js";
import { setupSettings } from "./settings.js";
import { setupToken } from "./token.js";

function main() {
  setupToken(() => {
    refreshRecent();
    refreshPlan();
  });
  setupProject({ onChange: schedulePlan });
  setupSettings({ onSubmit: startExport, onRangeChange: drawRolls, onChange: schedulePlan });
  setupQuality();
  setupRecent(follow);
  setupPreview();
  $("cancel").addEventListener("click", cancelExport);
  refreshRecent();
  const match = /^#job=([0-9a-f]{8,64})$/i.exec(window.location.hash);
  if (match) follow(match[1]);
}

main();
