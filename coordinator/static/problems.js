// The server's validation issues in a musician's words: "Kick · note 3's pitch: …" instead of
// project.tracks[1].notes[2].pitch (the path stays beside it, small, for whoever needs it).
// The rules are the server's (POST /api/exports/plan); only the naming happens here.

import { el } from "./page.js";

const FIELD_WORDS = {
  pitch: "pitch",
  time: "start",
  start: "start",
  beat: "beat",
  duration: "length",
  velocity: "velocity",
  instrument: "instrument",
  volume: "volume",
  pan: "pan",
  bpm: "tempo",
  visual: "look",
  effects: "effects",
};

function words(part) {
  return FIELD_WORDS[part] || part.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/** "Kick · note 3's pitch" for project.tracks[1].notes[2].pitch of `project`. */
export function whereInWords(path, project) {
  const rest = String(path).replace(/^project\.?/, "");
  const parts = rest.split(/\.|(?=\[)/).filter(Boolean);
  const said = [];
  for (let i = 0; i < parts.length; i += 1) {
    const name = parts[i];
    const index = /^\[(\d+)\]$/.exec(parts[i + 1] || "");
    if (index) {
      const n = Number(index[1]);
      if (name === "tracks") {
        const track = project?.tracks?.[n];
        said.push(track?.name || track?.id || `Track ${n + 1}`);
      } else if (name === "notes") {
        said.push(`note ${n + 1}`);
      } else if (name === "tempoChanges" || name === "tempos") {
        said.push(`tempo change ${n + 1}`);
      } else {
        said.push(`${words(name)} ${n + 1}`);
      }
      i += 1;
    } else {
      said.push(words(name));
    }
  }
  if (!said.length) return "The project";
  const [first, ...more] = said;
  const head = first.charAt(0).toUpperCase() + first.slice(1);
  return more.length ? `${head} · ${more.join("'s ").replace(/ (\d+)'s /g, " $1's ")}` : head;
}

/** A list item for one issue: the words, the message, the value, the JSON path small. */
export function problemItem(issue, project) {
  const value = "value" in issue ? JSON.stringify(issue.value) : undefined;
  return el(
    "li",
    {},
    el("strong", {}, whereInWords(issue.path || "project", project)),
    `: ${issue.message}`,
    value !== undefined && value.length <= 60 ? ` (got ${value})` : null,
    " ",
    el("code", { class: "issue-path" }, issue.path || "project"),
  );
}
