// The export page: load a project, choose settings, start an export, follow it over the
// WebSocket, preview and download the result, and list recent exports. No build step: each
// part is an ES module (page, token, project, settings, job, recent; api and music below them).

import { cancelExport, follow, startExport } from "./job.js";
import { $ } from "./page.js";
import { drawRolls, setupProject } from "./project.js";
import { refreshRecent, setupRecent } from "./recent.js";
import { setupSettings } from "./settings.js";
import { setupToken } from "./token.js";

function main() {
  setupToken(refreshRecent);
  setupProject();
  setupSettings({ onSubmit: startExport, onRangeChange: drawRolls });
  setupRecent(follow);
  $("cancel").addEventListener("click", cancelExport);
  refreshRecent();
  const match = /^#job=([0-9a-f]{8,64})$/i.exec(window.location.hash);
  if (match) follow(match[1]);
}

main();
