"""Estimates from measured jobs: the worker-seconds per rendered frame of this size (else of the
nearest size, scaled by pixels) shared by the live workers, plus the tail; else nothing."""

from __future__ import annotations

import pytest

from common.jobs.estimate import Sample, estimate


def sample(width: int, height: int, frames: int, render: float, tail: float = 0.0) -> Sample:
    return Sample(width, height, frames, render, frames, tail)


def test_nothing_measured_gives_no_estimate() -> None:
    assert estimate([], 1280, 720, 100, 4) is None
    unmeasured = [Sample(1280, 720, 0, 0.0, 100, 1.0)]  # every frame from the cache
    assert estimate(unmeasured, 1280, 720, 100, 4) is None


def test_the_work_per_frame_is_shared_by_the_live_workers() -> None:
    samples = [sample(1280, 720, 100, 10.0, tail=2.0), sample(1280, 720, 50, 10.0, tail=1.0)]
    on_one = estimate(samples, 1280, 720, 300, 1)
    on_five = estimate(samples, 1280, 720, 300, 5)
    assert on_one is not None and on_five is not None
    assert on_one.seconds_per_frame == pytest.approx(0.15)  # median of 0.1 and 0.2 worker-s
    assert on_one.tail_seconds == pytest.approx(6.0)  # 0.02 s per frame after rendering
    assert on_one.seconds == pytest.approx(300 * 0.15 + 6.0, abs=0.05)  # to 0.1 s
    assert on_five.seconds == pytest.approx(300 * 0.15 / 5 + 6.0)  # the tail does not shrink
    assert (on_five.workers, on_five.based_on, on_five.same_size) == (5, 2, True)


def test_no_live_worker_counts_as_one() -> None:
    """The export waits for a worker and then takes at least what one takes."""
    samples = [sample(640, 360, 100, 5.0)]
    for workers in (None, 0):
        found = estimate(samples, 640, 360, 100, workers)
        assert found is not None
        assert (found.seconds, found.workers) == (5.0, 1)


def test_frames_taken_from_the_cache_are_not_work() -> None:
    """The cost is per frame rendered; the tail is per frame of the video."""
    half_cached = Sample(640, 360, 50, 5.0, 100, 2.0)
    found = estimate([half_cached], 640, 360, 100, 2)
    assert found is not None
    assert found.seconds_per_frame == pytest.approx(0.1)
    assert found.seconds == pytest.approx(100 * 0.1 / 2 + 2.0, abs=0.05)


def test_another_size_scales_the_nearest_by_pixels() -> None:
    samples = [sample(640, 360, 100, 5.0, tail=1.0), sample(3840, 2160, 10, 100.0)]
    found = estimate(samples, 1280, 720, 100, 2)
    assert found is not None
    assert found.seconds_per_frame == pytest.approx(0.05 * 4)  # 4x the pixels of 640x360
    assert found.tail_seconds == pytest.approx(4.0)
    assert found.seconds == pytest.approx(100 * 0.2 / 2 + 4.0, abs=0.05)
    assert (found.based_on, found.same_size) == (1, False)


def test_the_same_pixels_in_another_shape_is_not_the_same_size() -> None:
    found = estimate([sample(1920, 1080, 10, 1.0)], 1080, 1920, 10, 1)
    assert found is not None
    assert not found.same_size
    assert found.seconds_per_frame == pytest.approx(0.1)


def test_no_more_workers_share_an_export_than_it_has_chunks() -> None:
    samples = [sample(1280, 720, 100, 10.0)]  # 0.1 worker-second a frame
    on_eight = estimate(samples, 1280, 720, 300, 8, chunks=3)
    on_three = estimate(samples, 1280, 720, 300, 3, chunks=3)
    assert on_eight is not None and on_three is not None
    assert on_eight.workers == 3 and on_eight.seconds == on_three.seconds
    on_two = estimate(samples, 1280, 720, 300, 2, chunks=3)
    assert on_two is not None and on_two.workers == 2
