// Quality in plain words: High, Balanced or Small file, each a CRF and an encoder preset chosen
// per codec (x264's CRF scale is 0-51, VP9's 0-63). The numbers stay under "Fine-tune" for
// whoever wants them; moving them there makes the choice "Custom".

import { $ } from "./page.js";

export const QUALITY = {
  mp4: {
    high: { crf: 18, preset: "medium" },
    balanced: { crf: 23, preset: "medium" },
    small: { crf: 28, preset: "faster" },
  },
  webm: {
    high: { crf: 24, preset: "medium" },
    balanced: { crf: 32, preset: "medium" },
    small: { crf: 40, preset: "faster" },
  },
};

function chosenFormat() {
  return document.querySelector('input[name="format"]:checked')?.value || "mp4";
}

/** The quality words that match the CRF and preset now set, or "custom". */
function matching() {
  const table = QUALITY[chosenFormat()];
  if (!table) return $("quality").value;
  const crf = Number($("crf").value);
  const preset = $("preset").value;
  const found = Object.entries(table).find(([, v]) => v.crf === crf && v.preset === preset);
  return found ? found[0] : "custom";
}

function apply() {
  const table = QUALITY[chosenFormat()];
  const level = table?.[$("quality").value];
  if (!level) return;
  $("crf").value = String(level.crf);
  $("preset").value = level.preset;
  // the settings form follows its fields' input events (hints, the plan, what is saved)
  $("crf").dispatchEvent(new Event("input", { bubbles: true }));
  $("preset").dispatchEvent(new Event("input", { bubbles: true }));
}

function fitFormat() {
  const table = QUALITY[chosenFormat()];
  $("quality").disabled = !table;
  if (table && $("quality").value !== "custom") apply();
}

export function setupQuality() {
  $("quality").disabled = !QUALITY[chosenFormat()];
  $("quality").value = matching() === "custom" ? "custom" : matching();
  $("quality").addEventListener("change", apply);
  for (const id of ["crf", "preset"]) {
    $(id).addEventListener("input", (event) => {
      if (event.isTrusted) $("quality").value = matching();
    });
  }
  for (const radio of document.querySelectorAll('input[name="format"]')) {
    radio.addEventListener("change", fitFormat);
  }
}
