"""Reading and judging a project or export (common/format/validation.py) where the other tests
do not look: files that cannot be read or parsed, a project that is not an object, the project
file's own limits, and lengths too long to print.

Each error names what it refused (``invalid project``) and each issue keeps its path and value;
the messages are the ones a user reads, so they are compared whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import ValidationError

from common.config import Limits
from common.errors import NO_VALUE, InvalidInput, Issue, LimitExceeded
from common.format.project import Project
from common.format.validation import (
    issues_from_pydantic,
    json_path,
    load_project_file,
    parse_project,
    parse_settings,
    read_json_file,
    validate_export,
    validate_project,
)
from tests.factories import note, project_data, track

SIZE = {"width": 64, "height": 36}


def limits(**overrides: Any) -> Limits:
    """The defaults, whatever FRAMEFARM_* variables are set, with ``overrides``."""
    return Limits.model_construct(**overrides)


# --- files ------------------------------------------------------------------------------------


def test_a_file_that_cannot_be_read_names_the_file_and_why(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(InvalidInput) as caught:
        read_json_file(path, "settings")
    assert caught.value.what == "settings"
    assert caught.value.issues == (Issue("", f"cannot read {path}: No such file or directory"),)
    assert str(caught.value).startswith("invalid settings: 1 error\n")


def test_a_file_that_is_not_json_names_the_file_in_its_issue(tmp_path: Path) -> None:
    path = tmp_path / "song.json"
    path.write_text("{nope")
    with pytest.raises(InvalidInput) as caught:
        read_json_file(path, "project")
    (issue,) = caught.value.issues
    assert caught.value.what == "project"
    assert issue.path == ""
    assert issue.value is NO_VALUE
    assert issue.message.startswith(f"{path}: not JSON: ")


def test_a_project_file_is_read_within_the_limits_given(tmp_path: Path) -> None:
    """The limits passed are the ones applied (here the nesting depth), naming the file."""
    path = tmp_path / "song.json"
    path.write_text(json.dumps(project_data(track("lead", notes=[note(0)]))))
    assert load_project_file(path, limits(max_json_depth=8)).name
    with pytest.raises(InvalidInput) as caught:
        load_project_file(path, limits(max_json_depth=2))
    assert caught.value.what == "project"
    (issue,) = caught.value.issues
    assert issue.message == (
        f"{path}: arrays and objects nested deeper than 2 levels (limit max_json_depth)"
    )


def test_a_missing_project_file_is_refused_as_the_project(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_project_file(tmp_path / "absent.json")
    assert caught.value.what == "project"


# --- a project alone --------------------------------------------------------------------------


def test_a_project_that_is_not_an_object_is_one_issue_about_the_whole_file() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_project(["not", "an", "object"], limits())
    assert caught.value.what == "project"
    assert [str(i) for i in caught.value.issues] == ["expected an object"]
    assert str(caught.value).startswith("invalid project: 1 error\n")


@pytest.mark.parametrize("limit", ["max_notes", "max_tracks"])
def test_a_project_alone_is_held_to_its_own_limits(limit: str) -> None:
    """``framefarm validate`` applies max_notes and max_tracks, exactly at each accepted."""
    three = project_data(*(track(f"t{i}", notes=[note(0)]) for i in range(3)), durationBeats=4)
    assert len(validate_project(three, limits(**{limit: 3})).tracks) == 3
    with pytest.raises(InvalidInput) as caught:
        validate_project(three, limits(**{limit: 2}))
    (issue,) = caught.value.issues
    assert issue.path == "tracks"  # as the project file names it
    assert issue.message == f"3 {limit.removeprefix('max_')}, over 2 (limit {limit})"


def test_a_project_alone_lists_at_most_max_issues() -> None:
    many = project_data(track("lead", notes=[note(i, pitch=300) for i in range(5)]))
    with pytest.raises(InvalidInput) as caught:
        validate_project(many, limits(max_issues=2))
    assert [i.path for i in caught.value.issues] == [
        "tracks[0].notes[0].pitch",
        "tracks[0].notes[1].pitch",
        "",
    ]
    assert caught.value.issues[-1].message == "and 3 more (limit max_issues 2)"


# --- lengths too long to print ----------------------------------------------------------------

# 60 bpm: a beat is a second.
SECONDS = 10**15


def too_long(duration_beats: float, fps: int) -> list[str]:
    project = project_data(track("lead", notes=[note(0)]), bpm=60, durationBeats=duration_beats)
    with pytest.raises(LimitExceeded) as caught:
        validate_export(project, {**SIZE, "fps": fps}, limits())
    return [str(i) for i in caught.value.issues]


def test_a_length_just_under_10_to_the_15_seconds_is_printed_as_a_number() -> None:
    assert too_long(SECONDS - 1, 1) == [
        "settings.endBeat: the export lasts 999999999999999.0 s, over 1200 s "
        "(limit max_duration_seconds) (got 999999999999999.0)",
        "settings.fps: the export needs 999999999999999 frames, over 72000 (limit max_frames) "
        "(got 1)",
    ]


@pytest.mark.parametrize("beats", [SECONDS, 2 * SECONDS])
def test_a_length_from_10_to_the_15_seconds_on_is_said_in_words(beats: int) -> None:
    assert too_long(beats, 1) == [
        "settings.endBeat: the export lasts more than 10^15 s, over 1200 s "
        f"(limit max_duration_seconds) (got {json.dumps(float(beats))})",
        "settings.fps: the export needs more than 10^15 frames, over 72000 (limit max_frames) "
        "(got 1)",
    ]


# --- paths ------------------------------------------------------------------------------------


def test_a_json_path_names_keys_and_indices_as_the_input_has_them() -> None:
    data = {"tracks": [{"instrument": {"type": "Synth"}}]}
    loc = ("tracks", 0, "instrument", "Synth", "params")  # "Synth": the union's tag
    assert json_path(loc, data) == "tracks[0].instrument.params"
    assert json_path(loc, data, "project") == "project.tracks[0].instrument.params"


def test_a_mapping_that_is_not_a_dict_is_an_issue_not_a_crash() -> None:
    """pydantic refuses it as a whole (an error without a location); the checks still run."""
    project = MappingProxyType(project_data(track("lead", notes=[note(0)])))
    with pytest.raises(InvalidInput) as caught:
        validate_export(project, SIZE, limits())
    assert [str(i) for i in caught.value.issues] == ["project: expected an object"]


@pytest.mark.parametrize("field", ["tempoChanges", "tracks"])
def test_list_items_that_are_not_objects_are_issues_not_a_crash(field: str) -> None:
    """The order and identity rules read each item's beat or id from the JSON as it came: an
    item that is a number, a string or a list has none, and is refused as itself."""
    data = project_data(track("lead", notes=[note(0)]))
    data[field] = [5, "x", [1]]
    with pytest.raises(InvalidInput) as caught:
        validate_project(data, limits())
    assert [i.path for i in caught.value.issues] == [f"{field}[{n}]" for n in range(3)]


# --- each kind of problem in words ------------------------------------------------------------


def project_issues(data: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        validate_project(data, limits())
    return [str(i) for i in caught.value.issues]


def with_track(**fields: Any) -> dict[str, Any]:
    return project_data({**track("lead"), **fields})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            project_data(track("lead", notes=[note(0, pitch=-1)])),
            "tracks[0].notes[0].pitch: expected a value >= 0 (got -1)",
        ),
        (
            project_data(visualizer={"camera": {"fov": 179}}),
            "visualizer.camera.fov: expected a value < 179 (got 179)",
        ),
        (with_track(id=""), 'tracks[0].id: expected at least 1 character(s) (got "")'),
        (
            project_data(visualizer={"bloom": {"mipmapBlur": False}}),
            "visualizer.bloom.mipmapBlur: only the mipmap blur (mipmapBlur: true) is "
            "supported; the Kawase blur of postprocessing < 6.37 is not implemented (got false)",
        ),
        # a field's value is shown, a missing field's parent or an untagged object's is not,
        # even when it is empty
        (with_track(instrument={}), "tracks[0].instrument: expected a 'type' field"),
    ],
)
def test_each_kind_of_problem_is_said_in_words(data: Any, expected: str) -> None:
    assert project_issues(data) == [expected]


def test_missing_fields_of_an_empty_project_show_no_value() -> None:
    assert project_issues({}) == [
        "format: a value is required",
        "name: a value is required",
        "bpm: a value is required",
        "durationBeats: a value is required",
    ]


@pytest.mark.parametrize(("length", "cut"), [(80, False), (81, True)])
def test_a_string_is_shown_whole_up_to_80_characters(length: int, cut: bool) -> None:
    colour = "y" * length
    shown = f"{'y' * 80}... ({length} characters)" if cut else colour
    [issue] = project_issues(project_data({**track("lead"), "visual": {"color": colour}}))
    assert issue.endswith(f"(got {json.dumps(shown)})")


def test_an_unknown_field_is_named_as_given() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_project(project_data(Xylo=1))
    assert [str(i) for i in caught.value.issues] == [
        "Xylo: unknown field (not part of the format) (got 1)"
    ]


def test_issues_from_pydantic_without_a_prefix_keep_the_input_s_paths() -> None:
    data = project_data(track("lead", notes=[note(0, pitch=-1)]))
    with pytest.raises(ValidationError) as caught:
        Project.model_validate(data)
    assert [i.path for i in issues_from_pydantic(caught.value.errors(include_url=False), data)] == [
        "tracks[0].notes[0].pitch"
    ]


def test_a_prefix_given_to_the_parsers_starts_every_path() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_project(project_data(track("lead", notes=[note(0, pitch=-1)])), "project")
    assert [i.path for i in caught.value.issues] == ["project.tracks[0].notes[0].pitch"]
    with pytest.raises(InvalidInput) as caught:
        parse_settings({"crf": -1}, "settings")
    assert [i.path for i in caught.value.issues] == ["settings.crf"]
    assert caught.value.what == "settings"
