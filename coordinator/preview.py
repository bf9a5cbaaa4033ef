"""Where a preview is taken: the asked beat or time inside the export's range, or the brightest
moment of the range (pure; the rendering is farm_worker.preview's)."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

from PIL import Image

from common.errors import Issue
from common.format.validation import Export
from common.scene.highlights import brightest_moment
from common.scene.visuals import SceneModel

THUMBNAIL_SIDE = 320
"""Longest side of a live thumbnail: small enough to fetch every few seconds on a phone."""

PREVIEW_QUEUE = 4
"""Previews that may wait for the one preview thread; more get 429 (a scrubber sends many)."""


def preview_moment(export: Export, where: dict[str, Any]) -> Fraction | Issue:
    """The time to show, or the issue with ``beat``/``seconds`` (one of them, a number inside
    the export's range)."""
    timeline, tempo = export.timeline, export.project.tempo_map
    start, end = timeline.start, timeline.start + timeline.duration
    if "beat" in where and "seconds" in where:
        return Issue("beat", "give beat or seconds, not both")
    if not where:
        return brightest_moment(SceneModel.from_project(export.project), start, end)
    field, value = next(iter(where.items()))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Issue(field, "expected a number", value)
    try:
        asked = Fraction(value)
    except (ValueError, OverflowError):
        return Issue(field, "expected a finite number", value)
    seconds = tempo.beat_to_time(asked) if field == "beat" else asked
    if not start <= seconds <= end:
        first, last = float(tempo.time_to_beat(start)), float(tempo.time_to_beat(end))
        limits = (
            f"beats {first:g}..{last:g}"
            if field == "beat"
            else f"seconds {float(start):g}..{float(end):g}"
        )
        return Issue(field, f"expected a moment inside the export ({limits})", value)
    return seconds


def small_png(png: bytes, side: int = THUMBNAIL_SIDE) -> bytes:
    """The PNG scaled down to at most ``side`` pixels on its longest side (never up)."""
    with Image.open(io.BytesIO(png)) as image:
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        return out.getvalue()
