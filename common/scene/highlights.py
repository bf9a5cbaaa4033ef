"""The moment of a song that shows it best: where the scene model's light output (the summed
luminance of every object's emission) is highest, for poster frames and first previews."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from common.scene.visuals import Scene, SceneModel

SAMPLES = 64
"""Moments looked at across a range: enough to find a chorus, cheap (the model is numpy)."""

LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
"""Rec. 709 luminance weights of linear RGB."""


def scene_energy(scene: Scene) -> float:
    """The scene's total emitted luminance (linear, before bloom and tone mapping)."""
    return float(sum(float((batch.emission @ LUMA).sum()) for batch in scene.batches))


def brightest_moment(
    model: SceneModel, start: Fraction, end: Fraction, samples: int = SAMPLES
) -> Fraction:
    """The time in [start, end) with the most energy among ``samples`` evenly spaced ones (the
    earliest of equals); ``start`` when the range is empty."""
    if end <= start or samples < 1:
        return start
    step = (end - start) / samples
    times = [start + step * i + step / 2 for i in range(samples)]
    energies = [scene_energy(model.at(t)) for t in times]
    return times[int(np.argmax(energies))]
