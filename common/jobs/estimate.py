"""How long an export will take, from what the farm measured on its recent jobs: wall seconds per
frame at each frame size, scaled by pixels for a size not seen yet (pure: the orchestrator
gathers the samples)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    """One finished job: its frame size, frames and wall time (submitted to complete)."""

    width: int
    height: int
    frames: int
    seconds: float

    @property
    def per_frame(self) -> float:
        return self.seconds / self.frames


@dataclass(frozen=True, slots=True)
class Estimate:
    seconds: float
    seconds_per_frame: float
    based_on: int
    """How many recent jobs the cost was read from (of this size, or the nearest size)."""
    same_size: bool


def estimate(samples: list[Sample], width: int, height: int, frames: int) -> Estimate | None:
    """The median cost per frame of recent jobs of this size; else of the nearest size by
    pixels, scaled by the pixel ratio; None without any finished job to go by."""
    usable = [s for s in samples if s.frames > 0 and s.seconds > 0]
    if not usable or frames < 1:
        return None
    same = [s for s in usable if (s.width, s.height) == (width, height)]
    if same:
        cost = statistics.median(s.per_frame for s in same)
        return Estimate(round(cost * frames, 1), cost, len(same), True)
    pixels = width * height
    nearest = min(usable, key=lambda s: abs(s.width * s.height - pixels))
    alike = [s for s in usable if (s.width, s.height) == (nearest.width, nearest.height)]
    cost = statistics.median(s.per_frame for s in alike) * pixels / (nearest.width * nearest.height)
    return Estimate(round(cost * frames, 1), cost, len(alike), False)
