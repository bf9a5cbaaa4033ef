"""Frame times come from the index with exact rational frame rates, never accumulated."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.timing.framerate import FrameTimeline, parse_fps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (60, Fraction(60)),
        ("30000/1001", Fraction(30000, 1001)),
        ("24", Fraction(24)),
        (29.97, Fraction(2997, 100)),
    ],
)
def test_parse_fps(text: int | str | float, expected: Fraction) -> None:
    assert parse_fps(text) == expected


@pytest.mark.parametrize("text", ["0", "30/0", "abc", "-5", "1.5/2"])
def test_parse_fps_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="fps"):
        parse_fps(text)


def test_ntsc_rate_has_no_drift_after_an_hour() -> None:
    timeline = FrameTimeline.between(0, 3600, "30000/1001")
    last = timeline.count - 1
    assert timeline.count == 107_893  # ceil(3600 * 30000 / 1001)
    assert timeline.time_of(last) == Fraction(last * 1001, 30000)
    assert timeline.frame_at(timeline.time_of(last)) == last


def test_count_covers_a_partial_last_frame() -> None:
    assert FrameTimeline.between(0, Fraction(1, 10), 24).count == 3  # 2.4 frames -> 3


@given(
    st.fractions(min_value=0, max_value=100, max_denominator=1000),
    st.fractions(min_value=Fraction(1, 100), max_value=100, max_denominator=1000),
    st.sampled_from([24, 25, 30, 60, Fraction(30000, 1001), Fraction(24000, 1001)]),
)
def test_every_frame_maps_back_to_itself(start: Fraction, length: Fraction, fps: Fraction) -> None:
    timeline = FrameTimeline.between(start, start + length, fps)
    for frame in (0, timeline.count // 2, timeline.count - 1):
        assert timeline.frame_at(timeline.time_of(frame)) == frame
        assert timeline.time_of(frame) < timeline.end
