"""How long an export will take, from what the farm measured on its recent jobs (pure: the
orchestrator gathers the samples, the caller counts the live workers).

A job's wall time depends on how many workers shared it, so samples keep the work itself: the
worker-seconds its chunks spent rendering (each chunk reports its own render time), per frame
rendered, and the tail after the last frame (the join, or GIF's one pass), per frame. An export
of ``frames`` on ``workers`` live workers then takes about
``frames × render cost ÷ workers + frames × tail cost``. A size not measured yet is scaled from
the nearest measured size by pixels.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    """One finished job: its frame size, the frames its workers rendered (cache hits are not
    work), the worker-seconds they took, and the frames and seconds of its tail."""

    width: int
    height: int
    frames_rendered: int
    render_seconds: float
    frames: int
    tail_seconds: float

    @property
    def render_per_frame(self) -> float:
        return self.render_seconds / self.frames_rendered

    @property
    def tail_per_frame(self) -> float:
        return self.tail_seconds / self.frames


@dataclass(frozen=True, slots=True)
class Estimate:
    seconds: float
    seconds_per_frame: float
    """Worker-seconds of rendering per frame (divided by the workers for the wall time)."""
    tail_seconds: float
    """The part after rendering (the join): it does not shrink with more workers."""
    workers: int
    based_on: int
    """How many recent jobs the cost was read from (of this size, or the nearest size)."""
    same_size: bool


def estimate(
    samples: list[Sample],
    width: int,
    height: int,
    frames: int,
    workers: int | None,
    chunks: int | None = None,
) -> Estimate | None:
    """The median costs per frame of recent jobs of this size (else of the nearest size by
    pixels, scaled by the pixel ratio), the rendering shared by ``workers`` (at least one: with
    none live the export waits, and then takes at least this), but by no more workers than the
    export has ``chunks`` (a chunk is one worker's); None without any measured job."""
    usable = [s for s in samples if s.frames_rendered > 0 and s.render_seconds > 0 and s.frames]
    if not usable or frames < 1:
        return None
    same = [s for s in usable if (s.width, s.height) == (width, height)]
    same_size, scale = bool(same), 1.0
    if not same_size:
        pixels = width * height
        nearest = min(usable, key=lambda s: abs(s.width * s.height - pixels))
        same = [s for s in usable if (s.width, s.height) == (nearest.width, nearest.height)]
        scale = pixels / (nearest.width * nearest.height)
    render = statistics.median(s.render_per_frame for s in same) * scale
    tail = statistics.median(s.tail_per_frame for s in same) * scale
    sharing = max(min(workers or 1, chunks or workers or 1), 1)
    seconds = frames * render / sharing + frames * tail
    return Estimate(
        round(seconds, 1),
        render,
        round(frames * tail, 1),
        sharing,
        len(same),
        same_size,
    )
