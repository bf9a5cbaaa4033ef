"""A terminal progress bar for long work: frames done, rate, ETA; quiet lines when not a TTY."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from common.jobs.state import JobState


def format_eta(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_size(size: int) -> str:
    """Bytes as a person reads them: 812 B, 4.3 KB, 12.5 MB, 1.02 GB (powers of 1000, as file
    managers show them)."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            break
    return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"


class ProgressBar:
    """Redraws one line in place on a terminal (at most 10 times a second); on a pipe or a log
    file it prints a plain line every ``log_every`` seconds instead, so logs stay readable."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        label: str = "frames",
        width: int = 30,
        log_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.label = label
        self.width = width
        self.clock = clock
        self.started = clock()
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self.min_interval = 0.1 if self.interactive else log_every
        self.last_draw = -float("inf")
        self.done = 0
        self.start_done = 0
        self.phase = ""

    def update(self, done: int, phase: str = "") -> None:
        changed = bool(phase) and phase != self.phase
        finished = done >= self.total and self.done < self.total
        self.done = min(done, self.total)
        self.phase = phase or self.phase
        if changed:
            self.started, self.start_done = self.clock(), self.done  # each phase has its own rate
        now = self.clock()
        if changed or finished or now - self.last_draw >= self.min_interval:
            self.last_draw = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        elapsed = max((self.clock() if now is None else now) - self.started, 1e-9)
        rate = (self.done - self.start_done) / elapsed
        fraction = self.done / self.total
        filled = round(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        eta = format_eta((self.total - self.done) / rate) if rate > 0 else "?"
        phase = f"{self.phase}: " if self.phase else ""
        return (
            f"{phase}[{bar}] {self.done}/{self.total} {self.label} {fraction:4.0%} "
            f"{rate:5.1f} {self.label}/s ETA {eta}"
        )

    def _draw(self, now: float) -> None:
        text = self.line(now)
        if self.interactive:
            self.stream.write(f"\r{text}\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


class JobProgress:
    """One line for a whole export: the job's percent (which never goes back), frames rendered
    and encoded side by side, and the ETA of the whole job, as the WebSocket feed reports them."""

    def __init__(
        self,
        stream: TextIO,
        *,
        width: int = 30,
        log_every: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stream = stream
        self.width = width
        self.clock = clock
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self.min_interval = 0.1 if self.interactive else log_every
        self.last_draw = -float("inf")
        self.percent = 0.0
        self.phase = ""

    def update(self, state: JobState) -> None:
        from coordinator.views import eta_seconds

        now = self.clock()
        changed = state.phase.value != self.phase
        self.phase = state.phase.value
        self.percent = max(self.percent, state.percent)
        if not changed and not state.phase.terminal and now - self.last_draw < self.min_interval:
            return
        self.last_draw = now
        filled = round(self.width * self.percent / 100)
        bar = "#" * filled + "-" * (self.width - filled)
        eta = eta_seconds(state, now)
        text = (
            f"{self.phase}: [{bar}] {self.percent:5.1f}% rendered {state.frames_done}/"
            f"{state.frame_count} encoded {state.frames_encoded}/{state.frame_count} "
            f"ETA {'?' if eta is None else format_eta(eta)}"
        )
        self.stream.write(f"\r{text}\x1b[K" if self.interactive else text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
