"""Limits that hold on derived values, and one pass of validation (common/format/validation.py).

The video's length is its frames / fps, exactly (a very low rate stretches a short range);
fps has a floor and its terms a size; numbers too big for a float in a derived length give a
message, not an OverflowError; every problem of project and settings comes in one answer, at
most ``max_issues`` of them. Each limit: exactly at it is accepted, one unit over is refused.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from common.config import Limits
from common.errors import InvalidInput, LimitExceeded
from common.format.validation import validate_export, validate_project
from framefarm.cli import main
from tests.factories import note, project_data, track

# 4 beats at 120 bpm = 2 s of song
SONG = project_data(track("lead", notes=[note(0)]), bpm=120, durationBeats=4)
SIZE = {"width": 64, "height": 36}


def limits(**overrides: Any) -> Limits:
    """Every limit given, so that no FRAMEFARM_* variable can change them."""
    values: dict[str, Any] = {
        "max_width": 640,
        "max_height": 480,
        "max_pixels": 640 * 480,
        "min_fps": 1.0,
        "max_fps": 60,
        "max_duration_seconds": 60.0,
        "max_frames": 10_000,
        "max_notes": 100,
        "max_tracks": 8,
        "max_body_bytes": 1 << 20,
        "max_json_depth": 32,
        "max_int_digits": 20,
        "max_issues": 100,
    }
    values.update(overrides)
    return Limits(**values)


def refused(project: Any, settings: Any, **overrides: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_export(project, settings, limits(**overrides))
    return caught.value


def messages(error: InvalidInput) -> list[str]:
    return [str(issue) for issue in error.issues]


# --- the video's length: frames / fps --------------------------------------------------------


def test_a_low_rate_stretching_a_short_range_past_the_length_is_refused() -> None:
    """2 s of song at 1/1300 fps is 1 frame that lasts 1,300 s: over a 1,200 s limit."""
    error = refused(SONG, {**SIZE, "fps": "1/1300"}, min_fps=1e-6, max_duration_seconds=1200)
    assert isinstance(error, LimitExceeded)
    assert messages(error) == [
        "settings.fps: 1 frame(s) at 1/1300 fps make a 1300.0 s video, over 1200 s "
        '(limit max_duration_seconds) (got "1/1300")'
    ]


def test_a_video_exactly_as_long_as_the_limit_is_accepted() -> None:
    """1/1200 fps: one frame of exactly 1,200 s."""
    settings = {**SIZE, "fps": "1/1200"}
    export = validate_export(SONG, settings, limits(min_fps=1e-6, max_duration_seconds=1200))
    assert export.frame_count == 1
    assert export.timeline.duration == 1200


def test_fps_below_min_fps_is_refused_and_at_it_accepted() -> None:
    assert validate_export(SONG, {**SIZE, "fps": 1}, limits()).frame_count == 2
    error = refused(SONG, {**SIZE, "fps": "999/1000"})
    assert messages(error) == ['settings.fps: expected at least 1 (limit min_fps) (got "999/1000")']
    error = refused(SONG, {**SIZE, "fps": "1/999999"})
    assert messages(error)[0].startswith("settings.fps: expected at least 1 (limit min_fps)")


def test_fps_at_max_fps_is_accepted_and_one_over_refused() -> None:
    assert validate_export(SONG, {**SIZE, "fps": 60}, limits()).frame_count == 120
    error = refused(SONG, {**SIZE, "fps": 61})
    assert messages(error) == ["settings.fps: expected at most 60 (limit max_fps) (got 61)"]


# --- sizes: exactly at a limit is accepted, one pixel over refused -----------------------------

GIF = {"format": "gif", "fps": 10}
"""A GIF's sides need not be even, so one pixel over a limit is a size it could otherwise take."""


@pytest.mark.parametrize(("side", "limit"), [("width", "max_width"), ("height", "max_height")])
def test_a_side_at_its_limit_is_accepted_and_one_pixel_over_refused(side: str, limit: str) -> None:
    roomy = {limit: 101, "max_pixels": 1 << 30}
    at = {**SIZE, **GIF, side: 101}
    assert getattr(validate_export(SONG, at, limits(**roomy)).settings, side) == 101
    error = refused(SONG, {**at, side: 102}, **roomy)
    assert isinstance(error, LimitExceeded)
    assert messages(error) == [f"settings.{side}: expected at most 101 (limit {limit}) (got 102)"]


def test_an_area_at_max_pixels_is_accepted_and_one_pixel_over_refused() -> None:
    at = {**GIF, "width": 101, "height": 17}  # 1717 pixels
    assert validate_export(SONG, at, limits(max_pixels=1717)).settings.width == 101
    error = refused(SONG, at, max_pixels=1716)
    assert messages(error) == [
        "settings.width: 101x17 = 1717 pixels, over 1716 (limit max_pixels) (got 101)"
    ]


@pytest.mark.parametrize(
    ("settings", "tight"),
    [
        # the default width, 1280, x 36 is over 10,000 pixels; 36 alone is no area
        pytest.param({"width": "wide", "height": 36}, {"max_pixels": 10_000}, id="width"),
        pytest.param({"width": 64, "height": "tall"}, {"max_pixels": 10_000}, id="height"),
        # the default rate, 60, is over a max_fps of 30 and under a min_fps of 90
        pytest.param({**SIZE, "fps": "fast"}, {"max_fps": 30}, id="fps-max"),
        pytest.param({**SIZE, "fps": "fast"}, {"min_fps": 90, "max_fps": 240}, id="fps-min"),
    ],
)
def test_a_wrong_size_or_rate_is_not_also_held_to_a_limit_by_its_default(
    settings: dict[str, Any], tight: dict[str, Any]
) -> None:
    """A wrong field is salvaged as its default only to check the rest: a limit that the
    default would pass over is not the user's, and is not said."""
    error = refused(SONG, settings, **tight)
    (wrong,) = (field for field, value in settings.items() if isinstance(value, str))
    assert [issue.path for issue in error.issues] == [f"settings.{wrong}"]
    assert not isinstance(error, LimitExceeded)


@pytest.mark.parametrize(
    ("fps", "ok"),
    [
        ("999999/1", True),
        ("1000000/1", False),
        ("120000/1001", True),
        ("30/1000000", False),
        ("1/1000000000", False),
        (" 30", False),
        ("30\n", False),
        ("\u0663\u0660", False),  # Arabic-Indic digits: int() reads them, the schema does not
    ],
)
def test_fps_terms_have_at_most_six_ascii_digits(fps: str, ok: bool) -> None:
    huge = limits(min_fps=1e-9, max_fps=1_000_000, max_frames=1 << 40)
    if ok:
        validate_export(SONG, {**SIZE, "fps": fps}, huge)
        return
    with pytest.raises(InvalidInput) as caught:
        validate_export(SONG, {**SIZE, "fps": fps}, huge)
    (issue,) = caught.value.issues
    assert issue.path == "settings.fps"
    assert "at most 6 digits each" in issue.message


def test_a_length_too_big_for_a_float_is_a_message_not_an_overflow() -> None:
    """durationBeats 5.6e307 at 1e-5 bpm is ~3e315 s: exact arithmetic, a readable message."""
    project = copy.deepcopy(SONG)
    project.update(durationBeats=5.6e307, bpm=1e-5)
    error = refused(project, SIZE)
    assert isinstance(error, LimitExceeded)
    assert messages(error) == [
        "settings.endBeat: the export lasts more than 10^15 s, over 60 s "
        "(limit max_duration_seconds) (got 5.6e+307)",
        "settings.fps: the export needs more than 10^15 frames, over 10000 (limit max_frames) "
        "(got 60)",
    ]


# --- one pass --------------------------------------------------------------------------------


def bad_project() -> dict[str, Any]:
    """A bad pitch, an unknown instrument, unsorted tempo changes and a repeated id."""
    return project_data(
        track("lead", notes=[note(0, pitch=300)]),
        {**track("bass"), "instrument": {"type": "Theremin"}},
        track("lead"),
        tempoChanges=[{"beat": 8, "bpm": 100}, {"beat": 4, "bpm": 90}],
        durationBeats=16,
    )


EVERY_PROJECT_PROBLEM = [
    "tracks[0].notes[0].pitch",
    "tracks[1].instrument",
    "tempoChanges[1].beat",
    "tracks[2].id",
]


def test_a_project_s_field_and_cross_field_problems_come_in_one_pass() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_project(bad_project(), limits())
    assert [i.path for i in caught.value.issues] == EVERY_PROJECT_PROBLEM


def test_a_bad_rate_does_not_hide_the_other_settings_problems() -> None:
    """Before, "fps must be > 0" came alone and the rest on the next submit."""
    settings = {"fps": 0, "width": 1281, "height": 720, "crf": 70, "endBeat": 99, "startBeat": 2}
    error = refused(bad_project(), settings)
    assert sorted(i.path for i in error.issues) == sorted(
        [f"project.{path}" for path in EVERY_PROJECT_PROBLEM]
        + [
            "settings.fps",  # > 0
            "settings.crf",  # <= 63
            "settings.width",  # even, for mp4
            "settings.width",  # over max_width
            "settings.height",  # over max_height
            "settings.width",  # over max_pixels
            "settings.endBeat",  # past durationBeats
        ]
    )
    assert isinstance(error, LimitExceeded)


def test_checks_that_need_a_wrong_field_are_left_out() -> None:
    """With the format unknown, neither crf nor evenness is judged; with bpm wrong, no length."""
    project = copy.deepcopy(SONG)
    project["bpm"] = "fast"
    error = refused(project, {"format": "avi", "crf": 70, "width": 65, "height": 36})
    assert [i.path for i in error.issues] == ["project.bpm", "settings.format", "settings.crf"]


def test_issues_are_bounded_by_max_issues() -> None:
    many = project_data(track("lead", notes=[note(i, pitch=300) for i in range(10)]))
    with pytest.raises(InvalidInput) as caught:
        validate_export(many, SIZE, limits(max_issues=10))
    assert len(caught.value.issues) == 10  # exactly at the limit: all, no "more"
    with pytest.raises(InvalidInput) as caught:
        validate_export(many, SIZE, limits(max_issues=9))
    issues = caught.value.issues
    assert len(issues) == 10
    assert str(issues[-1]) == "and 1 more (limit max_issues 9)"


def test_a_giant_string_is_shown_cut_in_its_issue() -> None:
    project = copy.deepcopy(SONG)
    project["tracks"][0]["name"] = "x" * 1_000_000
    (issue,) = refused(project, SIZE).issues
    assert issue.path == "project.tracks[0].name"
    assert "at most 200 characters" in issue.message
    assert issue.value == "x" * 80 + "... (1000000 characters)"


# --- one pass in the CLI ---------------------------------------------------------------------


def test_cli_validate_names_every_project_problem_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, the unsorted tempo changes came only once the first two were fixed."""
    file = tmp_path / "song.json"
    file.write_text(json.dumps(bad_project()))
    assert main(["validate", str(file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert [line.split(": ")[1] for line in err.splitlines()] == EVERY_PROJECT_PROBLEM


def test_cli_render_names_every_problem_of_project_and_flags_before_rendering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "song.json"
    file.write_text(json.dumps(bad_project()))
    output = tmp_path / "song.mp4"
    argv = ["render", str(file), "-o", str(output), "--fps", "0", "--width", "99", "--crf", "70"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    named = sorted(line.split(": ")[1] for line in err.splitlines())
    assert named == sorted([*EVERY_PROJECT_PROBLEM, "--fps", "--crf", "--width"]), err
    assert not output.exists()


@pytest.mark.parametrize("limit", ["max_notes", "max_tracks"])
def test_notes_and_tracks_at_their_limit_are_accepted_and_one_more_refused(limit: str) -> None:
    three = project_data(*(track(f"t{i}", notes=[note(0)]) for i in range(3)), durationBeats=4)
    validate_export(three, SIZE, limits(**{limit: 3}))
    error = refused(three, SIZE, **{limit: 2})
    (issue,) = error.issues
    assert issue.path == "project.tracks"
    assert issue.message.endswith(f"over 2 (limit {limit})")


@pytest.mark.parametrize("limit", ["max_notes", "max_tracks"])
def test_a_project_s_counts_are_checked_even_when_its_notes_are_wrong(limit: str) -> None:
    """Counted on the JSON as it came: 3 bad notes over a limit of 2 say both."""
    three = project_data(*(track(f"t{i}", notes=[note(0, pitch=999)]) for i in range(3)))
    paths = [i.path for i in refused(three, SIZE, **{limit: 2}).issues]
    assert paths.count("project.tracks") == 1
    assert len(paths) == 4
