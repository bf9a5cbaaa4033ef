// How the page writes numbers: durations as a clock, decimals without trailing zeros. Display
// only: every musical number (seconds, frames, note lengths) comes from the server's plan.

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
