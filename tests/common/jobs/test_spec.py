"""Job specs (common/jobs/spec.py): what a job renders, stored once and rebuilt by every worker
into the same validated Export, or refused with a SpecError."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from common.config import Limits
from common.errors import DecodeError
from common.format.validation import validate_export
from common.jobs import records
from common.jobs.chunks import plan_chunks
from common.jobs.spec import JobSpec, SpecError, file_stem
from tests.factories import project_data

JOB = "job-00000001"
SETTINGS: dict[str, Any] = {"width": 64, "height": 36, "fps": 10}


def spec(**changes: Any) -> JobSpec:
    project = project_data(durationBeats=5)  # 2.5 s at 120 bpm: 25 frames at 10 fps
    frame_count = validate_export(project, SETTINGS, Limits()).frame_count
    values: dict[str, Any] = {
        "job_id": JOB,
        "project": project,
        "settings": dict(SETTINGS),
        "frame_count": frame_count,
        "chunks": tuple(plan_chunks(frame_count, 10)),
        "created_at": 1700000000.5,
        "name": "my-song",
    }
    return JobSpec(**(values | changes))


def test_a_spec_round_trips() -> None:
    original = spec()
    assert records.load(JobSpec, records.dump(original)) == original


def test_the_chunk_plan_is_restored_with_its_indices() -> None:
    restored = records.load(JobSpec, records.dump(spec()))
    assert [(c.index, c.first_frame, c.frame_count) for c in restored.chunks] == [
        (0, 0, 10),
        (1, 10, 10),
        (2, 20, 5),
    ]


def test_the_name_defaults_to_video() -> None:
    data = json.loads(records.dump(spec()))
    del data["name"]
    assert records.load(JobSpec, json.dumps(data).encode()).name == "video"


def test_file_stem_keeps_a_safe_download_name() -> None:
    assert file_stem("My Song: Final (v2)") == "My-Song-Final-v2"
    assert file_stem("../../etc/passwd") == "etc-passwd"
    assert file_stem("   ") == file_stem("") == "video"
    assert len(file_stem("a" * 500)) == 80


def test_export_rebuilds_the_validated_export() -> None:
    restored = records.load(JobSpec, records.dump(spec()))
    export = restored.export()
    assert export.frame_count == restored.frame_count == 25
    assert (export.settings.width, export.settings.height, export.settings.fps) == (64, 36, 10)
    assert export.project.name == "Test"


def test_export_ignores_submission_limits_by_default() -> None:
    tight = Limits(max_frames=10)
    with pytest.raises(SpecError, match="does not validate"):
        spec().export(tight)
    assert spec().export().frame_count == 25


@pytest.mark.parametrize(
    "raw",
    [
        b"{oops",
        b"\xff",
        b'{"type": "job_spec", "version": 3}',
        b'{"type": "job_spec", "version": 3, "chunks": 3}',
    ],
)
def test_corrupt_bytes_are_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError, match="job spec is corrupt"):
        records.load(JobSpec, raw)


def test_a_spec_of_another_version_is_refused() -> None:
    data = json.loads(records.dump(spec())) | {"version": 1}
    with pytest.raises(DecodeError, match="job spec version 1 is not 3"):
        records.load(JobSpec, json.dumps(data).encode())


def test_an_invalid_project_is_a_spec_error() -> None:
    broken = spec(project=project_data(bpm=-5))
    with pytest.raises(SpecError, match="job spec does not validate"):
        broken.export()


def test_invalid_settings_are_a_spec_error() -> None:
    with pytest.raises(SpecError, match="job spec does not validate"):
        spec(settings={"width": "wide"}).export()


def test_a_frame_count_that_does_not_match_the_settings_is_refused() -> None:
    with pytest.raises(SpecError, match="job spec says 30 frames, its settings give 25"):
        spec(frame_count=30).export()


@pytest.mark.parametrize("raw", [b"[]", b"null"])
def test_json_that_is_not_an_object_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        records.load(JobSpec, raw)


def test_a_spec_stored_by_the_previous_build_is_read_with_no_owner() -> None:
    """Jobs in flight across an upgrade go on: version 2 had every field but ``owner``."""
    stored = json.loads(records.dump(spec())) | {"version": 2}
    del stored["owner"]
    loaded = records.load(JobSpec, json.dumps(stored).encode())
    assert loaded.owner is None
    assert loaded == dataclasses.replace(spec(), owner=None)
