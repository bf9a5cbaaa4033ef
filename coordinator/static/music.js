// Musical time for the page: beats to seconds across tempo changes, Tone.js durations, and a
// project's summary. Pure functions; the coordinator stays the authority on validation.

/** Tempo segments [{beat, bpm}] sorted by beat, starting at beat 0 with the project's bpm. */
export function tempoSegments(project) {
  const segments = [{ beat: 0, bpm: Number(project.bpm) }];
  const changes = Array.isArray(project.tempoChanges) ? project.tempoChanges : [];
  for (const change of [...changes].sort((a, b) => a.beat - b.beat)) {
    if (change.beat <= 0) segments[0] = { beat: 0, bpm: Number(change.bpm) };
    else segments.push({ beat: Number(change.beat), bpm: Number(change.bpm) });
  }
  return segments;
}

/** Seconds from beat 0 to `beat`: the sum over tempo segments of beats × 60 / bpm. */
export function beatToSeconds(project, beat) {
  const segments = tempoSegments(project);
  let seconds = 0;
  for (let i = 0; i < segments.length; i += 1) {
    const start = segments[i].beat;
    if (beat <= start) break;
    const end = i + 1 < segments.length ? Math.min(segments[i + 1].beat, beat) : beat;
    seconds += ((end - start) * 60) / segments[i].bpm;
  }
  return seconds;
}

/** Beats of a note duration: a number, or Tone.js notation ("4n", "8n.", "16t", "1m", "96i"). */
export function durationToBeats(value, timeSignature = [4, 4]) {
  if (typeof value === "number") return value;
  const match = /^(\d+)([ntmi])(\.)?$/i.exec(String(value).trim());
  if (!match) return 0;
  const count = Number(match[1]);
  const unit = match[2].toLowerCase();
  let beats;
  if (unit === "n") beats = 4 / count;
  else if (unit === "t") beats = (4 / count) * (2 / 3);
  else if (unit === "m") beats = (count * timeSignature[0] * 4) / timeSignature[1];
  else beats = count / 192;
  return match[3] ? beats * 1.5 : beats;
}

/** Frame rate as a number from 60, "60" or "30000/1001"; NaN when it is not one. */
export function fpsValue(fps) {
  if (typeof fps === "number") return fps;
  const match = /^\s*(\d+)(?:\s*\/\s*(\d+))?\s*$/.exec(String(fps));
  if (!match) return Number.NaN;
  const denominator = match[2] === undefined ? 1 : Number(match[2]);
  return denominator === 0 ? Number.NaN : Number(match[1]) / denominator;
}

/** Frames covering [start, end) seconds at `fps`: the last one starts before the end. */
export function frameCount(seconds, fps) {
  return Math.ceil(seconds * fps - 1e-9);
}

/** "1:05" or "0:02.5" for a duration in seconds. */
export function clock(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const total = Math.round(seconds * 10) / 10;
  const minutes = Math.floor(total / 60);
  const rest = trim(total - minutes * 60, 1);
  return `${minutes}:${Number(rest) < 10 ? "0" : ""}${rest}`;
}

/** A number with at most `digits` decimals, without trailing zeros. */
export function trim(value, digits = 2) {
  return String(Number(value.toFixed(digits)));
}

const INSTRUMENTS = new Set([
  "Synth",
  "FMSynth",
  "AMSynth",
  "MembraneSynth",
  "MetalSynth",
  "NoiseSynth",
  "PluckSynth",
  "PolySynth",
]);

/** The instrument's display name: "FMSynth", or "PolySynth · FMSynth" for a wrapped voice. */
export function instrumentName(instrument) {
  if (!instrument || typeof instrument.type !== "string") return "—";
  const voice = instrument.params && instrument.params.voice;
  if (instrument.type === "PolySynth" && typeof voice === "string" && INSTRUMENTS.has(voice)) {
    return `PolySynth · ${voice}`;
  }
  return instrument.type;
}

/** What the page shows of a project, or throws an Error whose message a user can act on. */
export function summarize(project) {
  if (project === null || typeof project !== "object" || Array.isArray(project)) {
    throw new Error("expected a JSON object (a framefarm project)");
  }
  if (!Array.isArray(project.tracks)) {
    throw new Error('not a framefarm project: no "tracks" list');
  }
  const durationBeats = Number(project.durationBeats);
  if (!(durationBeats > 0) || !(Number(project.bpm) > 0)) {
    throw new Error('not a framefarm project: "bpm" and "durationBeats" must be positive numbers');
  }
  const timeSignature =
    Array.isArray(project.timeSignature) && project.timeSignature.length === 2
      ? project.timeSignature.map(Number)
      : [4, 4];
  const tracks = project.tracks.map((track, index) => {
    const notes = Array.isArray(track.notes) ? track.notes : [];
    return {
      id: String(track.id ?? `track-${index}`),
      name: String(track.name ?? track.id ?? `Track ${index + 1}`),
      instrument: instrumentName(track.instrument),
      style: String((track.visual && track.visual.style) || "—"),
      color: validColor(track.visual && track.visual.color),
      mute: Boolean(track.mute),
      notes: notes.map((note) => ({
        beat: Number(note.beat) || 0,
        beats: durationToBeats(note.duration, timeSignature),
        pitch: Number(note.pitch) || 0,
        velocity: Number(note.velocity ?? 1),
      })),
    };
  });
  return {
    name: String(project.name || "Untitled"),
    durationBeats,
    seconds: beatToSeconds(project, durationBeats),
    tempos: tempoSegments(project).map((segment) => segment.bpm),
    timeSignature,
    tracks,
  };
}

function validColor(value) {
  return typeof value === "string" && /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(value)
    ? value
    : "#888888";
}
