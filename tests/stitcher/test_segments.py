"""Segments end to end on a local store with real ffmpeg: encoded from memory (a render worker)
or from the stored frames (the encode actor) into the same bytes, then joined without
re-encoding into a video whose every frame is where it belongs: exact count, exact timestamps,
a keyframe at each segment's start, and no blip at a seam."""

from __future__ import annotations

import hashlib
import re
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import common.adapters.segments
import stitcher.stitch
from common.adapters.ffmpeg import EncodeError
from common.adapters.ffmpeg import run as run_ffmpeg
from common.adapters.segments import SegmentWriter, stored_segment
from common.adapters.storage import LocalStore
from common.format.validation import parse_settings
from common.jobs import records
from common.jobs.cache_keys import segment_object, segment_record, use_record
from common.jobs.cache_records import CachedObject, CacheUse
from common.jobs.chunks import SegmentPlan
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest, FrameRecord, ManifestError, SegmentManifest
from common.jobs.messages import EncodeSegment, Event, SegmentEncoded, StitchProgress, VideoReady
from common.jobs.spec import JobSpec
from stitcher.encode import encode_segment
from stitcher.stitch import stitch_job
from tests.factories import TypedStore, files_handed_over
from tests.stitcher.media import (
    JOB_ID,
    decoded_frames,
    frame_image,
    frame_png,
    frame_times,
    markers,
    psnr,
    settings_data,
    store_chunk,
    store_job,
    store_spec,
)

KEYS = JobKeys(JOB_ID)
FRAMES = 30  # one second at 30000/1001
SEGMENT = 8  # segments 0-7, 8-15, 16-23, 24-29: all across chunks of 12
PSNR_FLOOR_DB = 38.0
"""Every decoded frame against its PNG at crf 18 (measured here: 44-49 dB, seams included)."""


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def encode_all(store: LocalStore, spec: JobSpec, events: list[Event], tmp_path: Path) -> None:
    for segment in spec.segments:
        command = EncodeSegment(JOB_ID, segment.index, segment.first_frame, segment.frame_count)
        encode_segment(store, command, events.append, worker="enc-1", workdir=tmp_path)


def export_video(store: LocalStore, fmt: str, tmp_path: Path) -> Path:
    spec = store_job(store, settings_data(fmt), segment_frames=SEGMENT)
    events: list[Event] = []
    encode_all(store, spec, events, tmp_path)
    assert [e.segment_index for e in events if isinstance(e, SegmentEncoded)] == [0, 1, 2, 3]
    ready = stitch_job(store, JOB_ID, events.append, workdir=tmp_path / "join")
    assert ready is not None
    assert [e.frames_done for e in events if isinstance(e, StitchProgress)] == [0, FRAMES]
    return store.local_path(ready.output_key)


@pytest.mark.parametrize("fmt", ["mp4", "webm", "mov"])
def test_joined_segments_hold_every_frame_once_at_its_exact_time(
    store: LocalStore, tmp_path: Path, fmt: str
) -> None:
    video = export_video(store, fmt, tmp_path)
    assert markers(video) == list(range(FRAMES))  # none dropped or repeated at a seam
    times, keys = frame_times(video)
    fps = Fraction(30000, 1001)
    tolerance = Fraction(1, 2000) if fmt == "webm" else Fraction(0)  # WebM counts milliseconds
    assert len(times) == FRAMES
    assert all(abs(t - i / fps) <= tolerance for i, t in enumerate(times)), times
    assert set(range(0, FRAMES, SEGMENT)) <= set(keys)  # each segment opens with a keyframe
    if fmt != "mov":  # ProRes: every frame is a keyframe
        assert keys == list(range(0, FRAMES, SEGMENT))


def test_the_join_works_in_a_folder_of_its_own_with_a_time_limit(
    store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join's files go in a ``join-<job>-*`` folder of the worker's scratch (whose it is, in
    a listing), ffmpeg gets the base time plus a hundredth of a second a segment before it is
    killed, and the progress is counted against the whole job's frames."""
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    events: list[Event] = []
    encode_all(store, spec, events, tmp_path)
    handed_over = files_handed_over(store, monkeypatch)
    limits: list[float] = []

    def timed_join(args: list[str], timeout: float) -> None:
        limits.append(timeout)
        run_ffmpeg(args, timeout)

    monkeypatch.setattr(stitcher.stitch, "run", timed_join)
    events.clear()
    assert stitch_job(store, JOB_ID, events.append, workdir=tmp_path / "join") is not None
    assert [path.parent.parent for path in handed_over] == [tmp_path / "join"]
    assert handed_over[0].parent.name.startswith(f"join-{JOB_ID}-")
    assert limits == [stitcher.stitch.BASE_TIMEOUT + 0.01 * len(spec.segments)]
    progress = [e for e in events if isinstance(e, StitchProgress)]
    assert [(e.frames_done, e.frame_count) for e in progress] == [(0, FRAMES), (FRAMES, FRAMES)]


def test_no_frame_blips_at_a_seam(store: LocalStore, tmp_path: Path) -> None:
    video = export_video(store, "mp4", tmp_path)
    frames = decoded_frames(video)
    quality = [psnr(frames[i], frame_image(i)) for i in range(FRAMES)]
    assert min(quality) >= PSNR_FLOOR_DB, quality
    seams = [quality[i] for i in range(SEGMENT, FRAMES, SEGMENT)]
    assert min(seams) >= PSNR_FLOOR_DB


@pytest.mark.parametrize("fmt", ["mp4", "webm", "mov"])
def test_a_segment_from_memory_is_the_segment_from_the_stored_frames(
    store: LocalStore, tmp_path: Path, fmt: str
) -> None:
    """A render worker pipes raw RGB, the encode actor decodes PNGs: the bytes must agree, or
    the video would depend on how the frames were chunked."""
    spec = store_job(store, settings_data(fmt), segment_frames=SEGMENT)
    segment = spec.segments[1]
    command = EncodeSegment(JOB_ID, 1, segment.first_frame, segment.frame_count)
    from_frames = encode_segment(store, command, lambda _: None, worker="enc", workdir=tmp_path)
    assert from_frames is not None and from_frames.encoded_from == "frames"
    stored = store.get(from_frames.key)

    settings = parse_settings(settings_data(fmt))
    writer = SegmentWriter(
        store, KEYS, settings, Fraction(30000, 1001), segment, raw_rgb=True, worker="w"
    )
    for index in segment.frames:
        writer.write(np.ascontiguousarray(frame_image(index)).tobytes())
    from_memory = writer.finish()
    assert from_memory.encoded_from == "memory"
    assert from_memory.cache_key == ""  # a job without the cache: no cache record either
    assert store.list("cache/") == []
    assert store.get(from_memory.key) == stored
    assert from_memory.sha256 == from_frames.sha256 == hashlib.sha256(stored).hexdigest()


def test_a_segment_short_of_frames_is_refused_naming_both_counts(
    store: LocalStore, tmp_path: Path
) -> None:
    """A writer that got fewer frames than its plan stores nothing: a short segment would
    shift every later frame of the video."""
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    segment = spec.segments[1]
    settings = parse_settings(settings_data("mp4"))
    writer = SegmentWriter(
        store, KEYS, settings, Fraction(30000, 1001), segment, raw_rgb=True, worker="w"
    )
    writer.write(np.ascontiguousarray(frame_image(segment.first_frame)).tobytes())
    with pytest.raises(EncodeError) as refused:
        writer.finish()
    assert str(refused.value) == f"segment 1 got 1 frames, its plan has {segment.frame_count}"
    assert store.list(KEYS.segments_prefix) == []


def raw_frame(index: int) -> bytes:
    return np.ascontiguousarray(frame_image(index)).tobytes()


def tiny_writer(store: LocalStore, segment: SegmentPlan, workdir: Path) -> SegmentWriter:
    """A writer of an mp4 segment from raw frames in memory, as a render worker makes one."""
    settings = parse_settings(settings_data("mp4"))
    fps = Fraction(30000, 1001)
    return SegmentWriter(
        store, KEYS, settings, fps, segment, raw_rgb=True, worker="w", workdir=workdir
    )


def test_a_frame_past_the_plan_is_refused_naming_the_segment(
    store: LocalStore, tmp_path: Path
) -> None:
    """Exactly the planned frames are taken; one more would shift every later frame of the
    video, so the writer refuses it at once, saying which segment."""
    writer = tiny_writer(store, SegmentPlan(3, 10, 2), tmp_path)
    try:
        writer.write(raw_frame(10))
        writer.write(raw_frame(11))  # the last planned frame is taken
        with pytest.raises(EncodeError) as refused:
            writer.write(raw_frame(12))
        assert str(refused.value) == "segment 3: more frames than its plan"
    finally:
        writer.abort()


def test_a_segment_is_stored_under_the_job_s_key_for_its_index_and_format(
    store: LocalStore, tmp_path: Path
) -> None:
    """Without the cache a segment belongs to its job: the join and the clean-up find it by
    its index, and its name ends in the format's extension."""
    writer = tiny_writer(store, SegmentPlan(3, 10, 2), tmp_path)
    writer.write(raw_frame(10))
    writer.write(raw_frame(11))
    manifest = writer.finish()
    assert manifest.key == KEYS.segment(3, "mp4") == f"{KEYS.segments_prefix}segment_0003.mp4"
    assert store.exists(manifest.key)


def test_an_encoder_past_its_time_is_stopped_after_its_segment_s_allowance(
    store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An encoder whose frames stop coming is killed once the base time plus its allowance
    per planned frame has passed, and the error says how long it had."""
    monkeypatch.setattr(common.adapters.segments, "BASE_TIMEOUT", 0.05)
    monkeypatch.setattr(common.adapters.segments, "TIMEOUT_PER_FRAME", 0.02)
    writer = tiny_writer(store, SegmentPlan(0, 0, 8), tmp_path)  # 0.05 + 8 x 0.02 = 0.21 s
    # No frame comes (a renderer or a download stuck) until the watchdog has killed ffmpeg.
    encoder = writer._encoder
    deadline = time.monotonic() + 60  # only a hang
    while encoder._process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        with pytest.raises(EncodeError, match=r"^ffmpeg timed out after 0\.21 s"):
            for index in range(8):
                writer.write(raw_frame(index))
            writer.finish()
    finally:
        writer.abort()  # as every caller does after an error
    assert store.list(KEYS.segments_prefix) == []


def test_an_encoded_segment_is_announced_again_not_encoded_again(
    store: LocalStore, tmp_path: Path
) -> None:
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    segment = spec.segments[0]
    command = EncodeSegment(JOB_ID, 0, segment.first_frame, segment.frame_count)
    first = encode_segment(store, command, lambda _: None, worker="a", workdir=tmp_path)
    assert first is not None
    modified = store.local_path(first.key).stat().st_mtime_ns
    again: list[Event] = []
    assert encode_segment(store, command, again.append, worker="b", workdir=tmp_path) == first
    assert again == [first.announcement()]
    assert store.local_path(first.key).stat().st_mtime_ns == modified


def test_a_stopped_job_gets_no_segment(store: LocalStore, tmp_path: Path) -> None:
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    store.put(KEYS.stop_marker, b"cancelled")
    segment = spec.segments[0]
    command = EncodeSegment(JOB_ID, 0, segment.first_frame, segment.frame_count)
    assert encode_segment(store, command, lambda _: None, worker="a") is None
    assert store.list(KEYS.segments_prefix) == []


class StoppedDuringTheEncode(LocalStore):
    """The job ends (its stop marker appears) while a segment is being stored, and the paths
    of the files the encoder hands over are noted."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.handed_over: list[Path] = []

    def put_file(
        self, key: str, path: Path, content_type: str = "application/octet-stream"
    ) -> None:
        self.handed_over.append(path)
        super().put_file(key, path, content_type)
        if key.startswith(KEYS.segments_prefix) and not self.exists(KEYS.stop_marker):
            self.put(KEYS.stop_marker, b"cancelled")


def test_a_job_stopped_during_the_encode_gets_its_segment_taken_back(tmp_path: Path) -> None:
    store = StoppedDuringTheEncode(tmp_path / "store")
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    segment = spec.segments[0]
    command = EncodeSegment(JOB_ID, 0, segment.first_frame, segment.frame_count)
    events: list[Event] = []
    work = tmp_path / "work"
    work.mkdir()
    assert encode_segment(store, command, events.append, worker="a", workdir=work) is None
    assert events == []
    assert store.list(KEYS.segments_prefix) == []  # the video and its manifest
    # The encode worked in the folder it was given (the worker's own scratch), and left it
    # empty.
    assert [path.parent.parent for path in store.handed_over] == [work]
    assert store.handed_over[0].parent.name.startswith("segment-")  # whose it is, in a listing
    assert list(work.iterdir()) == []


def test_a_frame_that_is_not_its_manifests_fails_the_segment(
    store: LocalStore, tmp_path: Path
) -> None:
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    store.put(KEYS.frame(3), frame_png(4))  # another frame's bytes under frame 3's key
    segment = spec.segments[0]
    command = EncodeSegment(JOB_ID, 0, segment.first_frame, segment.frame_count)
    with pytest.raises(ManifestError, match=r"frame 3 .* does not match its manifest"):
        encode_segment(store, command, lambda _: None, worker="a", workdir=tmp_path)
    assert stored_segment(store, KEYS, 0) is None


def test_a_frame_corrupted_in_place_fails_the_segment(store: LocalStore, tmp_path: Path) -> None:
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    data = bytearray(store.get(KEYS.frame(2)))
    data[len(data) // 2] ^= 0x01  # the same length: only its digest can tell
    store.put(KEYS.frame(2), bytes(data))
    segment = spec.segments[0]
    command = EncodeSegment(JOB_ID, 0, segment.first_frame, segment.frame_count)
    with pytest.raises(ManifestError, match=r"frame 2 .* does not match its manifest"):
        encode_segment(store, command, lambda _: None, worker="a", workdir=tmp_path)
    assert stored_segment(store, KEYS, 0) is None


def test_a_command_outside_the_plan_is_refused(store: LocalStore, tmp_path: Path) -> None:
    store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    with pytest.raises(ManifestError, match="not in job"):
        encode_segment(store, EncodeSegment(JOB_ID, 1, 0, 8), lambda _: None, worker="a")
    with pytest.raises(ManifestError, match=r"^segment 99 \(frames 0\+8\) is not in job "):
        encode_segment(store, EncodeSegment(JOB_ID, 99, 0, 8), lambda _: None, worker="a")


def test_frames_missing_from_the_chunks_manifests_are_named(
    store: LocalStore, tmp_path: Path
) -> None:
    spec = store_spec(store, settings_data("mp4"), segment_frames=SEGMENT)
    store_chunk(store, spec.chunks[0], frames=range(0, 5))  # frames 5-7 of segment 0 not there
    store_chunk(store, spec.chunks[1])
    message = f"segment 0 of job {JOB_ID}: no frame 5 (3 missing) in its chunks' manifests"
    with pytest.raises(ManifestError, match=f"^{re.escape(message)}$"):
        encode_segment(store, EncodeSegment(JOB_ID, 0, 0, 8), lambda _: None, worker="a")


def test_the_join_names_a_segment_that_is_missing(store: LocalStore, tmp_path: Path) -> None:
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    encode_all(store, spec, [], tmp_path)
    store.delete(KEYS.segment_manifest(2))
    with pytest.raises(ManifestError, match=r"segment\(s\) 2 not encoded"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path / "join")
    assert store.list(KEYS.output_prefix) == []


def test_the_join_refuses_a_segment_whose_bytes_changed(store: LocalStore, tmp_path: Path) -> None:
    spec = store_job(store, settings_data("mp4"), segment_frames=SEGMENT)
    encode_all(store, spec, [], tmp_path)
    manifest = records.load(SegmentManifest, store.get(KEYS.segment_manifest(1)))
    data = bytearray(store.get(manifest.key))
    data[len(data) // 2] ^= 0xFF  # same length, one byte flipped
    store.put(manifest.key, bytes(data))
    with pytest.raises(ManifestError, match=r"segment 1 .* does not match its manifest"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path / "join")


def test_a_gif_is_made_in_one_pass_over_the_frames(store: LocalStore, tmp_path: Path) -> None:
    store_job(store, settings_data("gif", fps=25))  # GIF needs one palette: no segments
    events: list[Event] = []
    ready = stitch_job(store, JOB_ID, events.append, workdir=tmp_path)
    assert isinstance(ready, VideoReady)
    found = markers(store.local_path(ready.output_key))
    assert len(found) == 25
    # GIF's palette misses colours first seen in the last frame (common/adapters/ffmpeg.py)
    assert found[:-1] == list(range(24))
    assert store.list(KEYS.segments_prefix) == []


# --- the cache: a crossing segment encoded once, reused after --------------------------------


def store_cached_job(store: LocalStore) -> JobSpec:
    """A job with the cache on whose frames carry their cache keys, as a worker stores them."""
    spec = store_spec(store, settings_data("mp4", cache=True), segment_frames=SEGMENT)
    for chunk in spec.chunks:
        frame_records = []
        for index in chunk.frames:
            png = frame_png(index)
            store.put(KEYS.frame(index), png, "image/png")
            digest = hashlib.sha256(png).hexdigest()
            frame_records.append(FrameRecord(index, KEYS.frame(index), digest, len(png), digest))
        manifest = ChunkManifest(
            JOB_ID, chunk.index, chunk.first_frame, tuple(frame_records), 0.1, "test", "w"
        )
        store.put(KEYS.chunk_manifest(chunk.index), records.dump(manifest))
    return spec


def encode_first(store: LocalStore, spec: JobSpec, tmp_path: Path) -> tuple[SegmentManifest, Event]:
    segment = spec.segments[0]
    command = EncodeSegment(JOB_ID, segment.index, segment.first_frame, segment.frame_count)
    events: list[Event] = []
    manifest = encode_segment(store, command, events.append, worker="enc-1", workdir=tmp_path)
    assert manifest is not None
    (event,) = events
    return manifest, event


def test_an_encoded_segment_s_records_are_json_and_its_time_is_measured(tmp_path: Path) -> None:
    """The segment's manifest and its cache record are JSON to whoever opens them; the encode
    time (for the farm's estimates) is the wall time of this encode, to a tenth of a
    millisecond."""
    store = TypedStore(tmp_path / "store")
    spec = store_cached_job(store)
    started = time.perf_counter()
    manifest, _ = encode_first(store, spec, tmp_path)
    elapsed = time.perf_counter() - started
    assert store.types[KEYS.segment_manifest(0)] == "application/json"
    assert store.types[segment_record(manifest.cache_key)] == "application/json"
    assert 0 < manifest.encode_seconds <= elapsed
    assert manifest.encode_seconds == round(manifest.encode_seconds, 4)


def test_a_cached_segment_is_encoded_once_and_reused_while_its_file_lasts(
    store: LocalStore, tmp_path: Path
) -> None:
    spec = store_cached_job(store)
    first, event = encode_first(store, spec, tmp_path)
    assert first.encoded_from == "frames" and first.cache_key
    assert first.key == segment_object(first.cache_key, "mp4")  # kept in the cache
    cached = records.load(CachedObject, store.get(segment_record(first.cache_key)))
    assert (cached.object_key, cached.sha256, cached.size) == (first.key, first.sha256, first.size)
    use = records.load(CacheUse, store.get(use_record(JOB_ID, "segment_0000")))
    assert set(use.keys) == {first.key, segment_record(first.cache_key)}
    assert isinstance(event, SegmentEncoded) and not event.reused

    store.delete(KEYS.segment_manifest(0))  # its commit lost: encoded again, or found
    store.delete(use_record(JOB_ID, "segment_0000"))
    again, event = encode_first(store, spec, tmp_path)
    assert again.encoded_from == "cache" and again.worker == "enc-1"
    assert (again.key, again.sha256, again.size, again.cache_key) == (
        first.key,
        first.sha256,
        first.size,
        first.cache_key,
    )
    assert isinstance(event, SegmentEncoded) and event.reused and event.size == first.size
    use = records.load(CacheUse, store.get(use_record(JOB_ID, "segment_0000")))
    assert set(use.keys) == {first.key, segment_record(first.cache_key)}

    store.delete(KEYS.segment_manifest(0))
    store.delete(first.key)  # evicted since: encoded again
    third, _ = encode_first(store, spec, tmp_path)
    assert third.encoded_from == "frames" and store.exists(third.key)
