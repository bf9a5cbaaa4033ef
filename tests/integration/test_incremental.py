"""Incremental re-export: a re-export that reuses cached frames, segments and the soundtrack
gives exactly the file a fresh export of the edited project gives with an empty cache, for each
kind of edit, and reuses what the edit did not touch.

song60 at 64x36 and 8 fps over beats 40-48 (30 frames, 1 s segments: 4 of them) keeps each
export short; the edits are the issue's: notes in 4 bars of one track, a track's colour, a
synth parameter only, nothing.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common.config import UNLIMITED
from common.format.validation import validate_export
from common.jobs.state import JobState, Phase
from framefarm.render import render_video
from tests.integration.helpers import EXAMPLES

pytestmark = pytest.mark.integration

SONG: dict[str, Any] = json.loads((EXAMPLES / "song60.json").read_text())
SETTINGS: dict[str, Any] = {
    "width": 64,
    "height": 36,
    "fps": 8,
    "startBeat": 40,
    "endBeat": 48,
    "crf": 30,
    "preset": "ultrafast",
}
SEGMENT_SECONDS = 1.0
FRAMES = 30


def export(
    project: dict[str, Any], output: Path, cache: Path | None, chunk_frames: int | None = None
) -> JobState:
    settings = {**SETTINGS, "cache": cache is not None}
    state = render_video(
        validate_export(project, settings, UNLIMITED),
        output,
        chunk_frames=chunk_frames,
        segment_seconds=SEGMENT_SECONDS,
        cache_dir=cache,
        timeout=300,
    )
    assert state.phase is Phase.COMPLETE
    return state


def track(project: dict[str, Any], track_id: str) -> dict[str, Any]:
    return next(t for t in project["tracks"] if t["id"] == track_id)


def notes_in_four_bars(project: dict[str, Any]) -> None:
    """The arp's notes from beat 46 to 62 (4 bars) played softer: seen only near the end."""
    for note in track(project, "arp")["notes"]:
        if 46 <= note["beat"] < 62:
            note["velocity"] = round(note["velocity"] * 0.5, 3)


def colour(project: dict[str, Any]) -> None:
    track(project, "bell")["visual"]["color"] = "#ff3d7a"


def synth_parameter(project: dict[str, Any]) -> None:
    track(project, "bass")["instrument"]["params"]["modulationIndex"] = 9


def nothing(project: dict[str, Any]) -> None:
    return None


@pytest.fixture(scope="module")
def first_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The unedited song exported once with an empty cache: (its cache, its video)."""
    folder = tmp_path_factory.mktemp("first")
    cache, video = folder / "cache", folder / "first.mp4"
    state = export(SONG, video, cache)
    assert (state.frames_reused, state.frame_count) == (0, FRAMES)
    return cache, video


@pytest.mark.parametrize(
    ("edit", "chunk_frames"),
    [(notes_in_four_bars, 12), (colour, None), (synth_parameter, None), (nothing, 7)],
    ids=["notes-in-4-bars", "colour", "audio-only", "nothing"],
)
def test_reexport_is_exactly_a_fresh_export(
    first_export: tuple[Path, Path],
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None],
    chunk_frames: int | None,
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(first_export[0], cache)
    edited = copy.deepcopy(SONG)
    edit(edited)
    again = export(edited, tmp_path / "again.mp4", cache, chunk_frames)
    if edit is nothing:
        fresh_video = first_export[1]  # the first export was a fresh one of the same project
    else:
        fresh_video = tmp_path / "fresh.mp4"
        fresh = export(edited, fresh_video, None)
        assert fresh.frames_reused == 0 and not fresh.cache
    assert (tmp_path / "again.mp4").read_bytes() == fresh_video.read_bytes()

    segments = len(again.segment_frames)
    if edit is nothing:
        assert again.frames_reused == FRAMES and len(again.segments_reused) == segments
        assert again.audio_reused
    elif edit is synth_parameter:  # the pictures are the same, the sound is not
        assert again.frames_reused == FRAMES and len(again.segments_reused) == segments
        assert not again.audio_reused
    elif edit is notes_in_four_bars:
        assert 0 < again.frames_reused < FRAMES
        assert 0 < len(again.segments_reused) < segments
        assert not again.audio_reused
    else:  # colour: every frame shows the bell's orb, the sound is the same
        assert again.audio_reused
    assert again.frames_rendered == FRAMES - again.frames_reused


def test_no_cache_stores_nothing_in_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    settings = {**SETTINGS, "endBeat": 42, "cache": False}
    state = render_video(
        validate_export(SONG, settings, UNLIMITED),
        tmp_path / "v.mp4",
        segment_seconds=SEGMENT_SECONDS,
        cache_dir=cache,
        timeout=300,
    )
    assert state.phase is Phase.COMPLETE and not state.cache
    assert not any(p.is_file() for p in cache.rglob("*")) if cache.exists() else True
