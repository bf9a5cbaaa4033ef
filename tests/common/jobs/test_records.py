"""The codec of stored records (common/jobs/records.py): compact, sorted JSON naming the record's
type and version, equal records giving equal bytes; and for whatever it cannot read, a
DecodeError that names the record and says what is wrong."""

from __future__ import annotations

import json
import math

import pytest

from common.errors import DecodeError
from common.jobs import records
from common.jobs.cache_records import CachedObject
from common.jobs.state import JobState

ENTRY = CachedObject("cache/segments/abc.mp4", "d" * 64, 1234)


def test_a_record_is_compact_sorted_json_with_its_type_and_version() -> None:
    assert records.dump(ENTRY) == (
        b'{"object_key":"cache/segments/abc.mp4","sample_count":0,"sample_rate":0,'
        b'"sha256":"' + b"d" * 64 + b'","size":1234,"type":"cached_object","version":1}'
    )
    assert records.load(CachedObject, records.dump(ENTRY)) == ENTRY


def test_a_number_json_cannot_hold_is_refused_when_dumping() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        records.dump(JobState("job", 1, {0: 1}, created_at=math.nan))


def refusal(raw: bytes) -> str:
    with pytest.raises(DecodeError) as caught:
        records.load(CachedObject, raw)
    return str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "cached object is corrupt: not JSON (Expecting value: line 1 column 1 (char 0))"),
        (b"[1, 2]", "cached object is corrupt: expected a JSON object"),
        (b'{"version": 1}', "cached object is corrupt: it says it is a None record"),
        (
            b'{"type": "job_state", "version": 1}',
            "cached object is corrupt: it says it is a 'job_state' record",
        ),
        (b'{"type": "cached_object"}', "cached object version None is not 1 (this build's)"),
        (
            b'{"type": "cached_object", "version": 2}',
            "cached object version 2 is not 1 (this build's)",
        ),
    ],
)
def test_what_cannot_be_read_is_named(raw: bytes, message: str) -> None:
    assert refusal(raw) == message


def test_bytes_that_are_not_text_or_nest_too_deep_are_not_json() -> None:
    assert refusal(b"\xff\xfe").startswith("cached object is corrupt: not JSON (")
    assert refusal(b"[" * 100_000).startswith("cached object is corrupt: not JSON (")


def test_every_wrong_field_is_named_with_its_path() -> None:
    data = json.loads(records.dump(ENTRY)) | {"size": "big", "object_key": 5, "extra": 1}
    message = refusal(json.dumps(data).encode())
    assert message.startswith("cached object is corrupt: ")
    problems = message.removeprefix("cached object is corrupt: ").split("; ")
    assert sorted(p.split(":")[0] for p in problems) == ["extra", "object_key", "size"]
    assert any(p.startswith("size: Input should be a valid integer") for p in problems)


def test_a_nested_field_s_path_is_dotted() -> None:
    data = json.loads(records.dump(JobState("job", 1, {0: 1}))) | {"chunk_frames": {"0": "x"}}
    with pytest.raises(DecodeError) as caught:
        records.load(JobState, json.dumps(data).encode())
    assert str(caught.value).startswith("job state is corrupt: chunk_frames.0: ")


def test_an_older_version_a_record_names_is_read_and_others_are_not() -> None:
    """JobState reads versions 2 and 3 (fields only added since); version 1 is refused."""
    stored = json.loads(records.dump(JobState("job", 1, {0: 1})))
    for older in (2, 3):
        read = records.load(JobState, json.dumps(stored | {"version": older}).encode())
        assert read.job_id == "job"
    with pytest.raises(DecodeError, match=r"^job state version 1 is not 4 \(this build's\)$"):
        records.load(JobState, json.dumps(stored | {"version": 1}).encode())
