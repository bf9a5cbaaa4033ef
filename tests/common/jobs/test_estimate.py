"""Estimates from measured jobs: this size's median cost per frame, else the nearest size's
scaled by pixels, else nothing."""

from __future__ import annotations

import pytest

from common.jobs.estimate import Sample, estimate


def test_nothing_measured_gives_no_estimate() -> None:
    assert estimate([], 1280, 720, 100) is None


def test_the_same_size_uses_the_median_cost_per_frame() -> None:
    samples = [Sample(1280, 720, 100, 10.0), Sample(1280, 720, 50, 10.0), Sample(640, 360, 10, 1)]
    found = estimate(samples, 1280, 720, 300)
    assert found is not None
    assert found.seconds_per_frame == pytest.approx(0.15)  # median of 0.1, 0.2
    assert found.seconds == pytest.approx(45.0)
    assert (found.based_on, found.same_size) == (2, True)


def test_another_size_scales_the_nearest_by_pixels() -> None:
    samples = [Sample(640, 360, 100, 5.0), Sample(3840, 2160, 10, 100.0)]
    found = estimate(samples, 1280, 720, 100)
    assert found is not None
    assert found.seconds_per_frame == pytest.approx(0.05 * 4)  # 4x the pixels of 640x360
    assert (found.based_on, found.same_size) == (1, False)
