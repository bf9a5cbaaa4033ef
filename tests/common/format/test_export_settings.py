"""Export settings (shared/PROJECT_FORMAT.md, "Export settings"), read as a specification.

Settings travel beside the project. Their shape is checked by ``parse_settings``; checks that need
the project or the service limits by ``build_export``; ``validate_export`` does both and prefixes
paths with ``project.`` or ``settings.``, as in the API's request body.

``build_export`` tells two kinds of problem apart. Settings that contradict the format or the
project (an odd size for a yuv420 codec, a crf outside the codec's range, a beat range outside the
song) are plain ``InvalidInput``. Requests beyond a service limit (size, pixels, fps, duration,
frames, notes, tracks) are ``LimitExceeded``, whose issues list the contradictions first and then
every limit passed, each message naming its limit.
"""

from __future__ import annotations

import copy
import json
import math
from fractions import Fraction
from typing import Any

import pytest

from common.config import Limits
from common.errors import NO_VALUE, InvalidInput, Issue, LimitExceeded
from common.format.export_settings import ExportSettings
from common.format.validation import (
    Export,
    build_export,
    parse_project,
    parse_settings,
    validate_export,
)
from framefarm.cli import main

PROJECT: dict[str, Any] = {
    "format": "framefarm.project/1",
    "name": "Spec",
    "bpm": 120,  # 16 beats = 8 seconds
    "durationBeats": 16,
    "tracks": [
        {
            "id": "lead",
            "instrument": {"type": "Synth"},
            "notes": [{"beat": 0, "duration": 1, "pitch": 60, "velocity": 0.8}],
        }
    ],
}

SMALL = {"width": 320, "height": 180}


def limits(**overrides: Any) -> Limits:
    """Small service limits, every one given so that no FRAMEFARM_* variable can change them."""
    values: dict[str, Any] = {
        "max_width": 640,
        "max_height": 480,
        "max_pixels": 640 * 360,
        "max_fps": 60,
        "max_duration_seconds": 60.0,
        "max_frames": 10_000,
        "max_notes": 100,
        "max_tracks": 8,
        "max_body_bytes": 1 << 20,
    }
    values.update(overrides)
    return Limits(**values)


def project(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(PROJECT)
    data.update(changes)
    return data


def export(settings: Any, *, data: Any = None, **limit_overrides: Any) -> Export:
    return validate_export(project() if data is None else data, settings, limits(**limit_overrides))


def refused(settings: Any, *, data: Any = None, **limit_overrides: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        export(settings, data=data, **limit_overrides)
    return caught.value


def assert_issue(issue: Issue, path: str, words: tuple[str, ...], got: Any = NO_VALUE) -> None:
    assert issue.path == path, str(issue)
    for word in words:
        assert word in issue.message, f"{word!r} not in {issue.message!r}"
    if got is not NO_VALUE:
        assert issue.value == got, str(issue)
        assert isinstance(issue.value, bool) == isinstance(got, bool), str(issue)
        assert str(issue).endswith(f" (got {json.dumps(issue.value)})")


def only(error: InvalidInput) -> Issue:
    assert len(error.issues) == 1, [str(i) for i in error.issues]
    return error.issues[0]


# --- defaults ---------------------------------------------------------------------------------


def test_settings_default_to_720p60_h264() -> None:
    settings = parse_settings({})
    assert (settings.width, settings.height, settings.fps, settings.format) == (
        1280,
        720,
        60,
        "mp4",
    )
    assert (settings.crf, settings.preset, settings.audio) == (18, "medium", True)
    assert (settings.start_beat, settings.end_beat) == (0, None)
    assert settings.frame_rate == 60


def test_the_example_settings_of_the_contract_are_valid() -> None:
    example = {
        "width": 1280,
        "height": 720,
        "fps": 60,
        "format": "mp4",
        "crf": 18,
        "preset": "medium",
        "audio": True,
        "startBeat": 0,
        "endBeat": 64,
    }
    settings = parse_settings(example)
    assert isinstance(settings, ExportSettings)
    assert settings.end_beat == 64


def test_missing_settings_take_the_defaults() -> None:
    exported = validate_export(
        project(), None, limits(max_width=3840, max_height=2160, max_pixels=3840 * 2160)
    )
    assert (exported.settings.width, exported.settings.height) == (1280, 720)
    assert exported.frame_count == 480


@pytest.mark.parametrize(
    ("fps", "rate"),
    [
        (60, Fraction(60)),
        ("30000/1001", Fraction(30000, 1001)),
        ("24", Fraction(24)),
        ("60000/1001", Fraction(60000, 1001)),
    ],
    ids=["integer", "ntsc-30", "integer-as-text", "ntsc-60"],
)
def test_fps_is_an_integer_or_a_rational_string(fps: int | str, rate: Fraction) -> None:
    settings = parse_settings({"fps": fps})
    assert settings.fps == fps
    assert settings.frame_rate == rate


@pytest.mark.parametrize("preset", ["ultrafast", "veryfast", "medium", "veryslow", "placebo"])
def test_x264_presets_are_accepted(preset: str) -> None:
    assert parse_settings({"preset": preset}).preset == preset


# --- shape of the settings (parse_settings) ---------------------------------------------------

RATIONAL = "rational string like '30000/1001'"

SHAPE = [
    pytest.param("fps", 29.97, ("integer", RATIONAL), id="fps-float-refused"),
    pytest.param("fps", 60.0, ("integer", RATIONAL), id="fps-integral-float-refused"),
    pytest.param("fps", True, ("integer", RATIONAL), id="fps-boolean-refused"),
    pytest.param("fps", None, ("integer", RATIONAL), id="fps-null-refused"),
    pytest.param("fps", "0/1", ("> 0",), id="fps-zero-rational"),
    pytest.param("fps", 0, ("> 0",), id="fps-zero"),
    pytest.param("fps", -30, ("> 0",), id="fps-negative"),
    pytest.param("fps", "abc", ("'N/D'",), id="fps-text"),
    pytest.param("fps", "29.97", ("'N/D'",), id="fps-decimal-text"),
    pytest.param("fps", "30000/0", ("denominator", "not be 0"), id="fps-zero-denominator"),
    pytest.param("width", 8, (">= 16",), id="width-too-small"),
    pytest.param("height", 0, (">= 16",), id="height-zero"),
    pytest.param("width", "1280", ("integer",), id="width-string-not-coerced"),
    pytest.param("width", 1280.0, ("integer",), id="width-float"),
    pytest.param("crf", -1, (">= 0",), id="crf-negative"),
    pytest.param("crf", 64, ("<= 63",), id="crf-over-63"),
    pytest.param("crf", 18.5, ("integer",), id="crf-fraction"),
    pytest.param("preset", "fastest", ("'ultrafast'", "'placebo'"), id="preset-unknown"),
    pytest.param("format", "avi", ("'mp4', 'webm', 'mov' or 'gif'",), id="format-unknown"),
    pytest.param("format", "MP4", ("'mp4'",), id="format-is-case-sensitive"),
    pytest.param("audio", "yes", ("true or false",), id="audio-not-a-boolean"),
    pytest.param("startBeat", -1, (">= 0",), id="startBeat-negative"),
    pytest.param("endBeat", 0, ("> 0",), id="endBeat-zero"),
    pytest.param("endBeat", "16", ("expected a number",), id="endBeat-string"),
    pytest.param("bitrate", "8M", ("unknown field",), id="unknown-key"),
]


@pytest.mark.parametrize(("key", "value", "words"), SHAPE)
def test_settings_shape_rejections(key: str, value: Any, words: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_settings({key: value})
    error = caught.value
    assert error.what == "settings"
    assert not isinstance(error, LimitExceeded)
    assert_issue(only(error), key, words, value)
    assert "got" not in error.issues[0].message  # the Issue shows the value, once


@pytest.mark.parametrize(
    ("fps", "message"),
    [
        (0, "fps must be > 0"),
        (-30, "fps must be > 0"),
        ("0/1", "fps must be > 0"),
        ("abc", "fps must be a number or 'N/D' with at most 6 digits each"),
        ("30000/0", "fps denominator must not be 0"),
    ],
    ids=["zero", "negative", "zero-rational", "text", "zero-denominator"],
)
def test_fps_messages_show_the_value_once(fps: int | str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_settings({"fps": fps})
    issue = only(caught.value)
    assert issue.message == message
    assert str(issue) == f"fps: {message} (got {json.dumps(fps)})"


@pytest.mark.parametrize(("key", "value", "words"), SHAPE)
def test_settings_shape_rejections_are_prefixed_in_an_export(
    key: str, value: Any, words: tuple[str, ...]
) -> None:
    assert_issue(only(refused({**SMALL, key: value})), f"settings.{key}", words, value)


@pytest.mark.parametrize("settings", [[], "mp4", 60], ids=["array", "string", "number"])
def test_settings_that_are_not_an_object_are_refused(settings: Any) -> None:
    issue = only(refused(settings))
    assert issue.path == "settings"
    assert "expected an object" in issue.message


def test_project_and_settings_errors_are_listed_together() -> None:
    error = refused({**SMALL, "fps": 29.97, "preset": "fastest"}, data=project(bpm=0, name=""))
    assert [i.path for i in error.issues] == [
        "project.name",
        "project.bpm",
        "settings.fps",
        "settings.preset",
    ]
    assert error.what == "export"
    assert error.summary().splitlines()[0] == "invalid export: 4 errors"


def test_project_errors_deep_in_a_track_are_prefixed() -> None:
    data = project()
    data["tracks"][0]["instrument"] = {"type": "Synth", "params": {"envelope": {"attack": -1}}}
    assert_issue(
        only(refused(SMALL, data=data)),
        "project.tracks[0].instrument.params.envelope.attack",
        ("seconds >= 0",),
        -1,
    )


def test_project_cross_field_errors_are_prefixed() -> None:
    data = project(tempoChanges=[{"beat": 8, "bpm": 100}, {"beat": 4, "bpm": 90}])
    data["tracks"].append(copy.deepcopy(data["tracks"][0]))
    error = refused(SMALL, data=data)
    assert [i.path for i in error.issues] == [
        "project.tempoChanges[1].beat",
        "project.tracks[1].id",
    ]


def test_a_project_that_is_not_an_object_is_refused_at_project() -> None:
    issue = only(refused(SMALL, data=[]))
    assert issue.path == "project"
    assert "expected an object" in issue.message


# --- settings that contradict the format or the project (build_export) -------------------------

EVEN = ("expected an even number", "chroma is subsampled")


def contradiction(settings: Any, *, data: Any = None, **limit_overrides: Any) -> InvalidInput:
    """A refusal that is plain InvalidInput: no service limit is passed."""
    error = refused(settings, data=data, **limit_overrides)
    assert not isinstance(error, LimitExceeded), [str(i) for i in error.issues]
    assert error.what == "export"
    return error


@pytest.mark.parametrize("fmt", ["mp4", "webm", "mov"])
def test_odd_sizes_are_refused_for_yuv420_formats(fmt: str) -> None:
    error = contradiction({"width": 321, "height": 181, "format": fmt})
    width, height = error.issues
    assert_issue(width, "settings.width", (*EVEN, fmt), 321)
    assert_issue(height, "settings.height", (*EVEN, fmt), 181)


def test_an_odd_size_is_allowed_for_gif() -> None:
    exported = export({"width": 321, "height": 181, "format": "gif", "fps": 25})
    assert (exported.settings.width, exported.settings.height) == (321, 181)


@pytest.mark.parametrize("fps", [30, 60, "30000/1001", 24])
def test_gif_refuses_rates_its_delays_cannot_play(fps: int | str) -> None:
    issue = only(contradiction({**SMALL, "format": "gif", "fps": fps}))
    assert_issue(issue, "settings.fps", (), fps)
    assert issue.message == (
        "expected one of 1, 2, 4, 5, 10, 20, 25, 50 for gif "
        "(GIF frame delays are whole hundredths of a second)"
    )


def test_a_wrong_field_is_reported_once_not_again_by_the_checks_that_read_it() -> None:
    """A wrong rate for a gif is the rate's own problem, and a crf for an unknown format is
    not measured against mp4's range (the format the salvaged settings fall back to)."""
    rate = refused({**SMALL, "format": "gif", "fps": "fast"})
    assert [i.path for i in rate.issues] == ["settings.fps"]
    assert "for gif" not in rate.issues[0].message
    crf = refused({**SMALL, "format": "avi", "crf": 60})
    assert [i.path for i in crf.issues] == ["settings.format"]
    # A range is not measured against a song length or an end that is itself wrong.
    song = refused({**SMALL, "endBeat": 8}, data=project(durationBeats="long"))
    assert [i.path for i in song.issues] == ["project.durationBeats"]
    end = refused({**SMALL, "startBeat": 20, "endBeat": "late"})
    assert [i.path for i in end.issues] == ["settings.endBeat"]


@pytest.mark.parametrize("fps", [1, 2, 4, 5, 10, 20, 25, 50])
def test_gif_accepts_rates_it_plays_exactly(fps: int) -> None:
    assert export({**SMALL, "format": "gif", "fps": fps}).settings.fps == fps


def test_a_crf_beyond_the_codec_is_a_contradiction_not_a_limit() -> None:
    issue = only(contradiction({**SMALL, "format": "mp4", "crf": 52}))
    assert_issue(issue, "settings.crf", ("expected 0..51 for mp4",), 52)
    assert "limit" not in issue.message


def test_contradictions_alone_are_listed_together_as_invalid_input() -> None:
    error = contradiction({"width": 321, "height": 180, "crf": 52, "startBeat": 4, "endBeat": 20})
    assert [str(i) for i in error.issues] == [
        "settings.width: expected an even number for mp4 (its chroma is subsampled 2x2) (got 321)",
        "settings.crf: expected 0..51 for mp4 (got 52)",
        "settings.endBeat: expected at most the project's durationBeats (16) (got 20.0)",
    ]


# --- requests beyond the service limits (build_export) -----------------------------------------

LIMITED = [
    pytest.param(
        {"width": 642, "height": 180},
        "settings.width",
        "expected at most 640 (limit max_width)",
        642,
        id="width-over-max_width",
    ),
    pytest.param(
        {"width": 320, "height": 482},
        "settings.height",
        "expected at most 480 (limit max_height)",
        482,
        id="height-over-max_height",
    ),
    pytest.param(
        {"width": 640, "height": 400},
        "settings.width",
        "640x400 = 256000 pixels, over 230400 (limit max_pixels)",
        640,
        id="area-over-max_pixels",
    ),
    pytest.param(
        {**SMALL, "fps": 120},
        "settings.fps",
        "expected at most 60 (limit max_fps)",
        120,
        id="fps-over-max_fps",
    ),
    pytest.param(
        {**SMALL, "fps": "60001/1000"},
        "settings.fps",
        "expected at most 60 (limit max_fps)",
        "60001/1000",
        id="rational-fps-just-over-max_fps",
    ),
]


@pytest.mark.parametrize(("settings", "path", "message", "got"), LIMITED)
def test_requests_beyond_a_limit_name_the_limit(
    settings: dict[str, Any], path: str, message: str, got: Any
) -> None:
    error = refused(settings)
    assert isinstance(error, LimitExceeded)
    assert error.what == "export"
    issue = only(error)
    assert_issue(issue, path, (), got)
    assert issue.message == message


def test_a_size_beyond_every_limit_lists_the_contradictions_then_each_limit() -> None:
    error = refused({"width": 1281, "height": 721})
    assert isinstance(error, LimitExceeded)
    assert [str(i) for i in error.issues] == [
        "settings.width: expected an even number for mp4 (its chroma is subsampled 2x2) (got 1281)",
        "settings.height: expected an even number for mp4 (its chroma is subsampled 2x2) (got 721)",
        "settings.width: expected at most 640 (limit max_width) (got 1281)",
        "settings.height: expected at most 480 (limit max_height) (got 721)",
        "settings.width: 1281x721 = 923601 pixels, over 230400 (limit max_pixels) (got 1281)",
    ]
    assert error.summary().splitlines()[0] == "invalid export: 5 errors"


def three_tracks() -> dict[str, Any]:
    """Three tracks of one note each."""
    data = project()
    data["tracks"] = [dict(copy.deepcopy(PROJECT["tracks"][0]), id=f"t{i}") for i in range(3)]
    return data


def test_every_limit_is_listed_in_order() -> None:
    error = refused(
        {"width": 1282, "height": 722, "fps": 120},
        data=three_tracks(),
        max_duration_seconds=5,
        max_frames=10,
        max_notes=2,
        max_tracks=2,
    )
    assert isinstance(error, LimitExceeded)
    assert [str(i) for i in error.issues] == [
        "settings.width: expected at most 640 (limit max_width) (got 1282)",
        "settings.height: expected at most 480 (limit max_height) (got 722)",
        "settings.width: 1282x722 = 925604 pixels, over 230400 (limit max_pixels) (got 1282)",
        "settings.fps: expected at most 60 (limit max_fps) (got 120)",
        "settings.endBeat: the export lasts 8.0 s, over 5 s (limit max_duration_seconds) "
        "(got 16.0)",
        "settings.fps: the export needs 960 frames, over 10 (limit max_frames) (got 120)",
        "project.tracks: 3 notes, over 2 (limit max_notes) (got 3)",
        "project.tracks: 3 tracks, over 2 (limit max_tracks) (got 3)",
    ]


def test_contradictions_come_first_when_a_limit_is_also_passed() -> None:
    error = refused(
        {**SMALL, "crf": 52, "fps": 120}, data=three_tracks(), max_notes=2, max_tracks=2
    )
    assert isinstance(error, LimitExceeded)
    assert error.what == "export"
    assert [str(i) for i in error.issues] == [
        "settings.crf: expected 0..51 for mp4 (got 52)",
        "settings.fps: expected at most 60 (limit max_fps) (got 120)",
        "project.tracks: 3 notes, over 2 (limit max_notes) (got 3)",
        "project.tracks: 3 tracks, over 2 (limit max_tracks) (got 3)",
    ]


@pytest.mark.parametrize(
    ("beats", "contradicted"),
    [
        (
            {"endBeat": 20},
            "settings.endBeat: expected at most the project's durationBeats (16) (got 20.0)",
        ),
        ({"startBeat": 16}, "settings.startBeat: expected a beat before endBeat (16) (got 16.0)"),
    ],
    ids=["endBeat-past-the-song", "startBeat-at-the-end"],
)
def test_duration_and_frames_are_not_checked_when_the_beat_range_is_wrong(
    beats: dict[str, Any], contradicted: str
) -> None:
    error = refused(
        {**SMALL, **beats, "fps": 120},
        data=three_tracks(),
        max_duration_seconds=1,
        max_frames=10,
        max_tracks=2,
    )
    assert isinstance(error, LimitExceeded)
    assert [str(i) for i in error.issues] == [
        contradicted,
        "settings.fps: expected at most 60 (limit max_fps) (got 120)",
        "project.tracks: 3 tracks, over 2 (limit max_tracks) (got 3)",
    ]


@pytest.mark.parametrize(
    ("settings", "contradicted"),
    [
        (
            {"width": 321, "height": 180},
            "settings.width: expected an even number for mp4 (its chroma is subsampled 2x2) "
            "(got 321)",
        ),
        ({**SMALL, "crf": 52}, "settings.crf: expected 0..51 for mp4 (got 52)"),
    ],
    ids=["odd-width", "crf-beyond-h264"],
)
def test_duration_and_frames_are_checked_beside_other_contradictions(
    settings: dict[str, Any], contradicted: str
) -> None:
    error = refused(settings, max_duration_seconds=5, max_frames=479)
    assert isinstance(error, LimitExceeded)
    assert [str(i) for i in error.issues] == [
        contradicted,
        "settings.endBeat: the export lasts 8.0 s, over 5 s (limit max_duration_seconds) "
        "(got 16.0)",
        "settings.fps: the export needs 480 frames, over 479 (limit max_frames) (got 60)",
    ]


def test_sizes_at_the_limits_are_accepted() -> None:
    exported = export({"width": 640, "height": 360, "fps": 60})
    assert exported.frame_count == 480


@pytest.mark.parametrize(("fmt", "crf"), [("webm", 60), ("webm", 63), ("mp4", 51), ("mp4", 0)])
def test_crf_follows_the_codec(fmt: str, crf: int) -> None:
    assert export({**SMALL, "format": fmt, "crf": crf}).settings.crf == crf


@pytest.mark.parametrize("fmt", ["mov", "gif"])
def test_crf_is_not_checked_for_codecs_without_crf(fmt: str) -> None:
    assert export({**SMALL, "format": fmt, "crf": 60, "fps": 25}).settings.crf == 60


# --- the beat range ---------------------------------------------------------------------------


def test_start_beat_must_come_before_end_beat() -> None:
    assert_issue(
        only(contradiction({**SMALL, "startBeat": 8, "endBeat": 8})),
        "settings.startBeat",
        ("before endBeat (8)",),
        8,
    )


def test_start_beat_at_the_end_of_the_song_is_refused() -> None:
    assert_issue(
        only(contradiction({**SMALL, "startBeat": 16})),
        "settings.startBeat",
        ("before endBeat (16)",),
        16,
    )


def test_end_beat_may_not_pass_the_song() -> None:
    assert_issue(
        only(contradiction({**SMALL, "endBeat": 20})),
        "settings.endBeat",
        ("at most", "durationBeats (16)"),
        20,
    )


def test_duration_over_the_limit_names_seconds_and_the_limit() -> None:
    error = refused(SMALL, max_duration_seconds=5)
    assert isinstance(error, LimitExceeded)
    issue = only(error)
    assert_issue(issue, "settings.endBeat", (), 16)
    assert issue.message == "the export lasts 8.0 s, over 5 s (limit max_duration_seconds)"


def test_exactly_max_duration_is_accepted_and_a_sub_range_counts_from_its_start() -> None:
    """Beats 4 to 14 at 120 bpm are 2 s to 7 s: a 5 s export, exactly the limit."""
    assert export(SMALL, max_duration_seconds=8).timeline.duration == 8
    sub_range = export({**SMALL, "startBeat": 4, "endBeat": 14}, max_duration_seconds=5)
    assert sub_range.timeline.duration == 5


def test_an_export_rebuilt_from_models_counts_tracks_in_the_json_it_came_from() -> None:
    """A range given in bars or minutes rebuilds the export from its models (coordinator/
    ranges.py): the stored JSON is what the limits on notes and tracks are counted in."""
    data = project(tracks=[{**PROJECT["tracks"][0], "id": f"t{i}"} for i in range(3)])
    with pytest.raises(LimitExceeded) as caught:
        build_export(
            parse_project(data), parse_settings(SMALL), limits(max_tracks=2), source=(data, SMALL)
        )
    assert [str(i) for i in caught.value.issues] == [
        "project.tracks: 3 tracks, over 2 (limit max_tracks) (got 3)"
    ]


def test_frames_over_the_limit_name_the_count_and_max_frames() -> None:
    error = refused(SMALL, max_frames=479)
    assert isinstance(error, LimitExceeded)
    issue = only(error)
    assert_issue(issue, "settings.fps", (), 60)
    assert issue.message == "the export needs 480 frames, over 479 (limit max_frames)"


def test_exactly_max_frames_is_accepted() -> None:
    assert export(SMALL, max_frames=480).frame_count == 480


def test_notes_over_the_limit_name_the_count_and_max_notes() -> None:
    data = project()
    data["tracks"][0]["notes"] *= 5
    error = refused(SMALL, data=data, max_notes=4)
    assert isinstance(error, LimitExceeded)
    issue = only(error)
    assert_issue(issue, "project.tracks", (), 5)
    assert issue.message == "5 notes, over 4 (limit max_notes)"


def test_tracks_over_the_limit_name_the_count_and_max_tracks() -> None:
    error = refused(SMALL, data=three_tracks(), max_tracks=2)
    assert isinstance(error, LimitExceeded)
    issue = only(error)
    assert_issue(issue, "project.tracks", (), 3)
    assert issue.message == "3 tracks, over 2 (limit max_tracks)"


@pytest.mark.parametrize("limit", ["max_notes", "max_tracks"])
def test_project_limits_are_reported_at_project_tracks(limit: str) -> None:
    issue = only(refused(SMALL, data=three_tracks(), **{limit: 2}))
    assert issue.path == "project.tracks"


def test_plan_export_takes_parsed_inputs_and_names_settings_paths() -> None:
    parsed = parse_project(project())
    with pytest.raises(LimitExceeded) as caught:
        build_export(
            parsed,
            parse_settings(wide := {"width": 641, "height": 180}),
            limits(),
            source=(project(), wide),
        )
    assert [str(i) for i in caught.value.issues] == [
        "settings.width: expected an even number for mp4 (its chroma is subsampled 2x2) (got 641)",
        "settings.width: expected at most 640 (limit max_width) (got 641)",
    ]


def test_plan_export_refuses_a_contradiction_alone_as_invalid_input() -> None:
    parsed = parse_project(project())
    with pytest.raises(InvalidInput) as caught:
        build_export(
            parsed, parse_settings(crf := {**SMALL, "crf": 52}), limits(), source=(project(), crf)
        )
    assert not isinstance(caught.value, LimitExceeded)
    assert caught.value.what == "export"
    assert [str(i) for i in caught.value.issues] == [
        "settings.crf: expected 0..51 for mp4 (got 52)"
    ]


# --- the exact frame timeline -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "frames"),
    [
        pytest.param({**SMALL, "fps": 60}, 480, id="16-beats-at-120bpm-60fps"),
        pytest.param({**SMALL, "fps": 24}, 192, id="24fps"),
        pytest.param({**SMALL, "fps": "30000/1001"}, math.ceil(8 * 30000 / 1001), id="ntsc"),
        pytest.param({**SMALL, "fps": "60000/1001"}, math.ceil(8 * 60000 / 1001), id="ntsc-60"),
        pytest.param({**SMALL, "startBeat": 4, "endBeat": 12}, 240, id="sub-range"),
        pytest.param({**SMALL, "startBeat": 0.5, "endBeat": 1}, 15, id="half-beat"),
    ],
)
def test_the_export_has_the_exact_frame_count(settings: dict[str, Any], frames: int) -> None:
    exported = export(settings)
    assert exported.frame_count == frames
    assert exported.timeline.count == frames


def test_ntsc_frame_count_is_rounded_up_to_cover_the_song() -> None:
    exported = export({**SMALL, "fps": "30000/1001"})
    assert exported.frame_count == 240
    assert exported.timeline.fps == Fraction(30000, 1001)
    assert exported.timeline.end == 8
    assert exported.timeline.duration >= 8


def test_the_frame_count_follows_tempo_changes() -> None:
    # beats 0..8 at 120 bpm (4 s), then 8..16 at 60 bpm (8 s): 12 s at 60 fps
    data = project(tempoChanges=[{"beat": 8, "bpm": 60}])
    exported = export(SMALL, data=data)
    assert exported.frame_count == 720
    assert exported.timeline.start == 0
    assert exported.timeline.end == 12


def test_a_sub_range_starts_at_the_song_time_of_its_start_beat() -> None:
    data = project(tempoChanges=[{"beat": 8, "bpm": 60}])
    exported = export({**SMALL, "startBeat": 8, "endBeat": 10}, data=data)
    assert (exported.timeline.start, exported.timeline.end) == (Fraction(4), Fraction(6))
    assert exported.frame_count == 120


def test_the_export_carries_the_parsed_project_and_settings() -> None:
    exported = export({**SMALL, "fps": "30000/1001", "format": "webm"})
    assert exported.project.name == "Spec"
    assert exported.settings.format == "webm"
    assert exported.settings.frame_rate == Fraction(30000, 1001)


# --- the validate command with --settings -----------------------------------------------------


def write(tmp_path: Any, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_cli_validate_accepts_settings_text(tmp_path: Any, capsys: Any) -> None:
    song = write(tmp_path, "song.json", PROJECT)
    assert main(["validate", song, "--settings", json.dumps(SMALL)]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_cli_validate_accepts_a_settings_file(tmp_path: Any, capsys: Any) -> None:
    song = write(tmp_path, "song.json", PROJECT)
    settings = write(tmp_path, "settings.json", {"fps": "30000/1001"})
    assert main(["validate", song, "--settings", settings]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_cli_validate_prints_settings_errors_with_their_path(tmp_path: Any, capsys: Any) -> None:
    song = write(tmp_path, "song.json", PROJECT)
    assert main(["validate", song, "--settings", '{"width": 321, "crf": 52}']) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "framefarm: settings.width: expected an even number for mp4 (its chroma is subsampled "
        "2x2) (got 321)",
        "framefarm: settings.crf: expected 0..51 for mp4 (got 52)",
    ]


def test_cli_validate_prints_settings_shape_errors_with_their_path(
    tmp_path: Any, capsys: Any
) -> None:
    song = write(tmp_path, "song.json", PROJECT)
    assert main(["validate", song, "--settings", '{"fps": 29.97}']) == 2
    err = capsys.readouterr().err
    assert err.startswith("framefarm: settings.fps: expected an integer or a rational string")


def test_cli_validate_refuses_settings_text_that_is_not_json(tmp_path: Any, capsys: Any) -> None:
    song = write(tmp_path, "song.json", PROJECT)
    assert main(["validate", song, "--settings", "{oops"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("framefarm: --settings: not JSON: ")
