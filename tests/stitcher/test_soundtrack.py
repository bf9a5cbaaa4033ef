"""The soundtrack: rendered once per job, stored beside the frames, muxed to the video's length."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from common.adapters.storage import LocalStore
from common.jobs.keys import JobKeys
from common.jobs.messages import AudioReady, EncodeSegment, Event, VideoReady
from stitcher.encode import encode_segment
from stitcher.soundtrack import SAMPLE_RATE, render_job_audio
from stitcher.stitch import stitch_job
from tests.stitcher.media import JOB_ID, settings_data, store_job

KEYS = JobKeys(JOB_ID)
VIDEO_SECONDS = 30 / Fraction(30000, 1001)  # 30 frames at 30000/1001


def streams(path: Path) -> list[dict[str, str]]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return list(json.loads(out)["streams"])


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def test_the_soundtrack_spans_exactly_the_video(store: LocalStore, tmp_path: Path) -> None:
    store_job(store, settings_data("mp4", audio=True))
    events: list[Event] = []
    ready = render_job_audio(store, JOB_ID, events.append, workdir=tmp_path)
    assert ready is not None and events == [ready]
    assert ready.sample_count == round(VIDEO_SECONDS * SAMPLE_RATE)
    assert ready.audio_key.startswith("cache/audio/")  # encoded once, into the cache
    assert ready.audio_key.endswith(".m4a") and not ready.reused
    [stream] = streams(store.local_path(ready.audio_key))
    assert (stream["codec_type"], stream["codec_name"]) == ("audio", "aac")
    assert float(stream["duration"]) == pytest.approx(VIDEO_SECONDS, abs=0.03)


def test_a_stored_soundtrack_is_announced_again_not_rendered(
    store: LocalStore, tmp_path: Path
) -> None:
    store_job(store, settings_data("mp4", audio=True))
    first = render_job_audio(store, JOB_ID, lambda event: None, workdir=tmp_path)
    assert first is not None
    modified = store.local_path(first.audio_key).stat().st_mtime_ns
    again: list[Event] = []
    assert render_job_audio(store, JOB_ID, again.append, workdir=tmp_path) == first
    assert again == [first]
    assert store.local_path(first.audio_key).stat().st_mtime_ns == modified


def test_a_cancelled_job_gets_no_soundtrack(store: LocalStore) -> None:
    store_job(store, settings_data("mp4", audio=True))
    store.put(KEYS.stop_marker, b"")
    assert render_job_audio(store, JOB_ID, lambda event: None) is None
    assert store.list(f"{KEYS.prefix}audio/") == []


@pytest.mark.parametrize(("fmt", "codec"), [("mp4", "aac"), ("mov", "aac"), ("webm", "opus")])
def test_the_video_carries_the_soundtrack_for_its_length(
    store: LocalStore, tmp_path: Path, fmt: str, codec: str
) -> None:
    store_job(store, settings_data(fmt, audio=True))
    render_job_audio(store, JOB_ID, lambda event: None, workdir=tmp_path)
    events: list[Event] = []
    ready = stitch_job(store, JOB_ID, events.append, workdir=tmp_path)
    assert isinstance(ready, VideoReady)
    found = {s["codec_type"]: s for s in streams(store.local_path(ready.output_key))}
    assert found["audio"]["codec_name"] == codec
    if fmt != "webm":  # Matroska keeps per-stream durations in tags, not in the stream
        video, audio = float(found["video"]["duration"]), float(found["audio"]["duration"])
        assert abs(audio - video) <= 1 / 30  # within one frame
    assert not any(isinstance(e, AudioReady) for e in events)


def test_audio_false_gives_a_video_without_an_audio_stream(
    store: LocalStore, tmp_path: Path
) -> None:
    store_job(store, settings_data("mp4", audio=False))
    ready = stitch_job(store, JOB_ID, lambda event: None, workdir=tmp_path)
    assert ready is not None
    assert [s["codec_type"] for s in streams(store.local_path(ready.output_key))] == ["video"]


def test_an_equal_soundtrack_comes_from_the_cache_when_only_the_picture_changed(
    store: LocalStore, tmp_path: Path
) -> None:
    store_job(store, settings_data("mp4", audio=True))
    first = render_job_audio(store, JOB_ID, lambda event: None, workdir=tmp_path)
    assert first is not None and not first.reused
    cached = store.local_path(first.audio_key).read_bytes()
    store.delete_prefix(KEYS.prefix)  # a new export of the song, larger this time
    store_job(store, settings_data("mp4", audio=True, width=96, height=54))
    again = render_job_audio(store, JOB_ID, lambda event: None, workdir=tmp_path)
    assert again is not None and again.reused
    assert (again.audio_key, again.sample_count) == (first.audio_key, first.sample_count)
    assert store.local_path(again.audio_key).read_bytes() == cached
    store.delete_prefix(KEYS.prefix)  # a shorter span is another soundtrack
    store_job(store, settings_data("mp4", audio=True, endBeat=1))
    shorter = render_job_audio(store, JOB_ID, lambda event: None, workdir=tmp_path)
    assert shorter is not None and not shorter.reused and shorter.audio_key != first.audio_key


def test_without_the_cache_the_soundtrack_stays_with_its_job(
    store: LocalStore, tmp_path: Path
) -> None:
    store_job(store, settings_data("mp4", audio=True, cache=False))
    ready = render_job_audio(store, JOB_ID, lambda event: None, workdir=tmp_path)
    assert ready is not None and ready.audio_key == KEYS.audio("m4a")
    assert store.list("cache/") == []


def test_joined_segments_carry_the_soundtrack_for_their_length(
    store: LocalStore, tmp_path: Path
) -> None:
    """A segmented export joins its segments without re-encoding and muxes the soundtrack in
    the same step: the joined video has it, for the video's length."""
    spec = store_job(store, settings_data("mp4", audio=True), segment_frames=8)
    for segment in spec.segments:
        command = EncodeSegment(JOB_ID, segment.index, segment.first_frame, segment.frame_count)
        encode_segment(store, command, lambda event: None, worker="enc", workdir=tmp_path)
    render_job_audio(store, JOB_ID, lambda event: None, workdir=tmp_path)
    ready = stitch_job(store, JOB_ID, lambda event: None, workdir=tmp_path)
    assert isinstance(ready, VideoReady)
    found = {s["codec_type"]: s for s in streams(store.local_path(ready.output_key))}
    assert found["audio"]["codec_name"] == "aac"
    video, audio = float(found["video"]["duration"]), float(found["audio"]["duration"])
    assert abs(audio - video) <= 1 / 30  # within one frame
