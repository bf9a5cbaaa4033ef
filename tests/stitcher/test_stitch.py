"""Stitching a stored job end to end: a local store, real ffmpeg, and the events it publishes."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import threading
from collections.abc import Generator, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import stitcher.stitch
from common.adapters.ffmpeg import EncodeError, VideoInfo, probe, run_encoder
from common.adapters.storage import LocalStore, ObjectStore, S3Store
from common.errors import DecodeError
from common.jobs import records
from common.jobs.chunks import ChunkPlan
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest, FrameRecord, ManifestError, SegmentManifest
from common.jobs.messages import Event, StitchProgress, VideoReady
from common.jobs.spec import JobSpec, SpecError
from stitcher.stitch import stitch_job
from tests.factories import files_handed_over
from tests.stitcher.media import (
    HEIGHT,
    JOB_ID,
    WIDTH,
    frame_png,
    markers,
    settings_data,
    store_chunk,
    store_job,
    store_spec,
)

KEYS = JobKeys(JOB_ID)
NTSC = Fraction(30000, 1001)
FRAMES = 30  # one second at 30000/1001, in chunks of 12, 12 and 6


class RecordingStore(LocalStore):
    """A local store that remembers each write's key and content type, in order."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes: list[tuple[str, str]] = []

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.writes.append((key, content_type))
        super().put(key, data, content_type)

    def put_file(
        self, key: str, path: Path, content_type: str = "application/octet-stream"
    ) -> None:
        self.writes.append((key, content_type))
        super().put_file(key, path, content_type)


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    return RecordingStore(tmp_path / "store")


@pytest.fixture
def events() -> list[Event]:
    return []


def stitch(store: ObjectStore, events: list[Event], tmp_path: Path, **options: Any) -> VideoReady:
    ready = stitch_job(store, JOB_ID, events.append, workdir=tmp_path / "work", **options)
    assert ready is not None
    return ready


def test_stitching_stores_every_frame_in_order_at_the_exact_rate(
    store: RecordingStore, events: list[Event], tmp_path: Path
) -> None:
    store_job(store, settings_data("mp4"))
    ready = stitch(store, events, tmp_path)

    video = store.local_path(KEYS.output("mp4"))
    assert ready == VideoReady(
        JOB_ID, KEYS.output("mp4"), FRAMES, float(FRAMES / NTSC), video.stat().st_size
    )
    info = probe(video)
    assert (info.frame_count, info.width, info.height, info.fps) == (FRAMES, WIDTH, HEIGHT, NTSC)
    assert info.duration == pytest.approx(1.001, abs=1e-6)
    assert markers(video) == list(range(FRAMES))


def test_stitching_streams_from_a_real_s3_server(
    s3_store: S3Store, events: list[Event], tmp_path: Path
) -> None:
    store_job(s3_store, settings_data("mp4"))
    ready = stitch(s3_store, events, tmp_path)

    video = tmp_path / "video.mp4"
    s3_store.get_file(ready.output_key, video)
    assert markers(video) == list(range(FRAMES))
    stat = s3_store.client.stat_object(s3_store.bucket, ready.output_key)
    assert (stat.content_type, stat.size) == ("video/mp4", ready.size_bytes)
    assert stitch(s3_store, events, tmp_path) == ready


def test_progress_runs_from_zero_to_every_frame_then_the_video_is_announced(
    store: RecordingStore, events: list[Event], tmp_path: Path
) -> None:
    store_job(store, settings_data("mp4"))
    ready = stitch(store, events, tmp_path)

    progress = [e for e in events if isinstance(e, StitchProgress)]
    assert events[-1] == ready and len(progress) == len(events) - 1
    done = [p.frames_done for p in progress]
    assert done[0] == 0 and done[-1] == FRAMES and done == sorted(done)
    assert {p.frame_count for p in progress} == {FRAMES}


@pytest.mark.parametrize(
    ("fmt", "mime", "codec"),
    [
        ("mp4", "video/mp4", "h264"),
        ("webm", "video/webm", "vp9"),
        ("mov", "video/quicktime", "prores"),
        ("gif", "image/gif", "gif"),
    ],
)
def test_each_format_is_stored_with_its_mime_type_then_its_metadata(
    store: RecordingStore, events: list[Event], tmp_path: Path, fmt: str, mime: str, codec: str
) -> None:
    store_job(store, settings_data(fmt, fps=25) if fmt == "gif" else settings_data(fmt))
    store.writes.clear()
    ready = stitch(store, events, tmp_path)

    assert store.writes == [
        (KEYS.output(fmt), mime),
        (KEYS.output_metadata, "application/json"),
    ]
    frames = 25 if fmt == "gif" else FRAMES  # the song's 1 s at 25 fps (GIF) or 30000/1001
    info = probe(store.local_path(ready.output_key))
    assert (info.codec, info.frame_count, ready.frame_count) == (codec, frames, frames)
    metadata = json.loads(store.get(KEYS.output_metadata))
    assert metadata["frame_count"] == frames and metadata["size_bytes"] == ready.size_bytes
    assert metadata["duration_seconds"] == ready.duration_seconds


def test_a_second_stitch_announces_the_stored_video_without_encoding(
    store: RecordingStore, events: list[Event], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_job(store, settings_data("mp4"))
    first = stitch(store, events, tmp_path)
    video = store.local_path(first.output_key)
    modified = video.stat().st_mtime_ns

    def no_encoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the video was encoded again")

    monkeypatch.setattr(stitcher.stitch, "run_encoder", no_encoding)
    events.clear()
    again = stitch(store, events, tmp_path)

    assert again == first and events == [first]
    assert video.stat().st_mtime_ns == modified


def test_a_video_without_its_metadata_is_made_again(
    store: RecordingStore, events: list[Event], tmp_path: Path
) -> None:
    """A crash between storing the video and its metadata: the next run redoes the video."""
    store_job(store, settings_data("mp4"))
    first = stitch(store, events, tmp_path)
    store.delete(KEYS.output_metadata)
    store.writes.clear()

    assert stitch(store, events, tmp_path) == first
    assert [key for key, _ in store.writes] == [first.output_key, KEYS.output_metadata]


def test_a_cancelled_job_is_not_stitched(
    store: RecordingStore, events: list[Event], tmp_path: Path
) -> None:
    store_job(store, settings_data("mp4"))
    store.put(KEYS.stop_marker, b"")

    assert stitch_job(store, JOB_ID, events.append, workdir=tmp_path) is None
    assert events == [] and store.list(KEYS.output_prefix) == []


def test_cancelling_during_the_stitch_stops_it_and_stores_nothing(
    store: RecordingStore, events: list[Event], tmp_path: Path
) -> None:
    store_job(store, settings_data("mp4"))

    def cancel_on_first_progress(event: Event) -> None:
        events.append(event)
        store.put(KEYS.stop_marker, b"")

    assert stitch_job(store, JOB_ID, cancel_on_first_progress, workdir=tmp_path / "w") is None
    assert store.list(KEYS.output_prefix) == []
    assert list((tmp_path / "w").iterdir()) == []  # the temporary video is gone too


class EndedElsewhere(RecordingStore):
    """While this stitcher stores its video the job ends: completed by another stitcher (this
    one was frozen) with the same video and its record, or cancelled."""

    def __init__(self, root: Path, reason: bytes, record: bytes) -> None:
        super().__init__(root)
        self.reason, self.record = reason, record

    def put_file(
        self, key: str, path: Path, content_type: str = "application/octet-stream"
    ) -> None:
        super().put_file(key, path, content_type)
        if key.startswith(KEYS.output_prefix) and not self.exists(KEYS.stop_marker):
            if self.reason == b"complete":
                self.put(KEYS.output_metadata, self.record, "application/json")
            self.put(KEYS.stop_marker, self.reason)


@pytest.mark.parametrize("reason", [b"complete", b"cancelled"])
def test_a_stitcher_that_loses_the_race_takes_back_only_a_stopped_jobs_video(
    tmp_path: Path, reason: bytes
) -> None:
    """Completed by another stitcher: the video and its record are the job's and stay (deleting
    them would lose the result). Cancelled: this stitcher's objects are taken back."""
    reference_store = RecordingStore(tmp_path / "reference")
    store_job(reference_store, settings_data("mp4"))
    reference = stitch_job(reference_store, JOB_ID, lambda _: None, workdir=tmp_path / "r")
    assert reference is not None
    store = EndedElsewhere(tmp_path / "store", reason, records.dump(reference))
    store_job(store, settings_data("mp4"))

    assert stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path / "w") is None
    kept = set(store.list(KEYS.output_prefix))
    if reason == b"complete":
        assert kept == {reference.output_key, KEYS.output_metadata}
        assert records.load(VideoReady, store.get(KEYS.output_metadata)) == reference
        assert store.get(reference.output_key) == reference_store.get(reference.output_key)
    else:
        assert kept == set()


def test_a_missing_chunk_manifest_is_named(store: RecordingStore, tmp_path: Path) -> None:
    spec = store_spec(store, settings_data("mp4"))
    store_chunk(store, spec.chunks[0])
    store_chunk(store, spec.chunks[2])

    with pytest.raises(ManifestError, match=r"no manifest for chunk\(s\) 1$"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)
    assert store.list(KEYS.output_prefix) == []


def test_a_frame_changed_after_its_manifest_is_named(store: RecordingStore, tmp_path: Path) -> None:
    store_job(store, settings_data("mp4"))
    store.put(KEYS.frame(17), frame_png(3))

    with pytest.raises(ManifestError, match=r"frame 17 .* does not match its manifest"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path / "w")
    assert store.list(KEYS.output_prefix) == []
    assert list((tmp_path / "w").iterdir()) == []


def test_a_frame_corrupted_in_place_is_refused(store: RecordingStore, tmp_path: Path) -> None:
    store_job(store, settings_data("mp4"))
    data = bytearray(store.get(KEYS.frame(17)))
    data[len(data) // 2] ^= 0x01  # the same length: only its digest can tell
    store.put(KEYS.frame(17), bytes(data))

    with pytest.raises(ManifestError, match=r"frame 17 .* does not match its manifest"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path / "w")
    assert store.list(KEYS.output_prefix) == []


def test_a_frame_missing_from_the_store_is_named(store: RecordingStore, tmp_path: Path) -> None:
    store_job(store, settings_data("mp4"))
    store.delete(KEYS.frame(25))

    with pytest.raises(ManifestError, match="frame 25 is in a chunk manifest but not in the store"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)


def store_segments(store: ObjectStore, settings_json: dict[str, Any]) -> JobSpec:
    """A job whose every segment is committed, as encoders commit them; the segments' bytes
    are stand-ins, since the join checks them against their manifests before ffmpeg sees them."""
    spec = store_spec(store, settings_json, segment_frames=8)
    for segment in spec.segments:
        data = f"segment {segment.index}".encode()
        key = KEYS.segment(segment.index, "mp4")
        store.put(key, data)
        manifest = SegmentManifest(
            *(JOB_ID, segment.index, segment.first_frame, segment.frame_count, key),
            *(hashlib.sha256(data).hexdigest(), len(data), 0.1, "frames", "enc-1"),
        )
        store.put(KEYS.segment_manifest(segment.index), records.dump(manifest))
    return spec


def test_a_segment_missing_from_the_store_is_named(store: RecordingStore, tmp_path: Path) -> None:
    """A committed segment whose file is gone fails the join (permanently), saying which."""
    store_segments(store, settings_data("mp4"))
    store.delete(KEYS.segment(2, "mp4"))

    with pytest.raises(ManifestError) as refused:
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)
    assert str(refused.value) == "segment 2 is not in the store"
    assert store.list(KEYS.output_prefix) == []


def test_a_segment_changed_after_its_manifest_is_named_with_its_key(
    store: RecordingStore, tmp_path: Path
) -> None:
    """The operator is told which segment, where it is stored, and how its bytes differ."""
    store_segments(store, settings_data("mp4"))
    key = KEYS.segment(1, "mp4")
    store.put(key, b"changed")

    with pytest.raises(ManifestError) as refused:
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)
    found, expected = hashlib.sha256(b"changed"), hashlib.sha256(b"segment 1")
    assert str(refused.value) == (
        f"segment 1 ({key}) does not match its manifest: 7 bytes with sha256 "
        f"{found.hexdigest()}, expected 9 bytes with sha256 {expected.hexdigest()}"
    )
    assert store.list(KEYS.output_prefix) == []


def test_a_join_whose_soundtrack_is_not_stored_names_the_job(
    store: RecordingStore, tmp_path: Path
) -> None:
    """The stitch is sent only once the soundtrack is committed: without it the job fails,
    saying so, rather than making a silent video."""
    store_segments(store, settings_data("mp4", audio=True))

    with pytest.raises(ManifestError) as refused:
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)
    assert str(refused.value) == f"job {JOB_ID}: the soundtrack is not in the store"
    assert store.list(KEYS.output_prefix) == []


def test_chunks_that_overlap_and_leave_a_gap_are_refused(
    store: RecordingStore, tmp_path: Path
) -> None:
    spec = store_spec(store, settings_data("mp4"))
    store_chunk(store, spec.chunks[0])
    store_chunk(store, spec.chunks[1], frames=range(11, 23))  # repeats 11, leaves out 23
    store_chunk(store, spec.chunks[2])

    with pytest.raises(ManifestError, match="missing frames 23; duplicate frames 11"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)


def test_a_manifest_of_another_chunk_is_refused(store: RecordingStore, tmp_path: Path) -> None:
    spec = store_spec(store, settings_data("mp4"))
    for chunk in spec.chunks:
        store_chunk(store, chunk)
    stray = ChunkManifest(JOB_ID, 0, 0, (FrameRecord(0, KEYS.frame(0), "0" * 64, 1),), 0, "", "")
    store.put(KEYS.chunk_manifest(2), records.dump(stray))

    with pytest.raises(ManifestError, match=r"manifest of chunk 2 .* says it is chunk 0"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)


def test_a_corrupt_spec_is_a_decode_error(store: RecordingStore, tmp_path: Path) -> None:
    store.put(KEYS.spec, b"{not json")
    with pytest.raises(DecodeError, match="job spec is corrupt"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)


def test_a_spec_whose_frame_count_disagrees_with_its_settings_is_a_spec_error(
    store: RecordingStore, tmp_path: Path
) -> None:
    spec = store_spec(store, settings_data("mp4"))
    wrong = JobSpec(JOB_ID, spec.project, spec.settings, FRAMES + 1, spec.chunks, 0.0)
    store.put(KEYS.spec, records.dump(wrong))
    with pytest.raises(SpecError, match="31 frames"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)


def test_an_encoder_past_its_time_is_stopped(
    store: RecordingStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_job(store, settings_data("mp4"))
    monkeypatch.setattr(stitcher.stitch, "BASE_TIMEOUT", 0.0)

    with pytest.raises(EncodeError, match="timed out"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path, timeout_per_frame=1e-4)
    assert store.list(KEYS.output_prefix) == []


def test_frames_of_the_wrong_size_are_an_encode_error(
    store: RecordingStore, tmp_path: Path
) -> None:
    """The encoder takes the frames' own size; the stitcher checks it against the settings."""
    store_job(store, settings_data("mp4", width=80))
    with pytest.raises(EncodeError, match=f"of {WIDTH}x{HEIGHT}, expected {FRAMES} of 80x"):
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)


def test_a_window_of_one_frame_still_stitches_everything(
    store: RecordingStore, events: list[Event], tmp_path: Path
) -> None:
    store_job(store, settings_data("webm"), chunk_frames=7)
    ready = stitch(store, events, tmp_path, prefetch=1)
    assert markers(store.local_path(ready.output_key)) == list(range(FRAMES))


def test_manifest_hashes_are_of_the_stored_bytes(store: RecordingStore) -> None:
    """The helpers commit chunks as render workers do (guards the tests above)."""
    spec = store_job(store, settings_data("mp4"))
    manifest = records.load(ChunkManifest, store.get(KEYS.chunk_manifest(1)))
    assert manifest.frames[0] == FrameRecord(
        12,
        KEYS.frame(12),
        hashlib.sha256(store.get(KEYS.frame(12))).hexdigest(),
        store.size(KEYS.frame(12)),
    )
    assert spec.chunks[1] == ChunkPlan(1, 12, 12)


def test_the_video_is_made_in_the_process_s_scratch_folder_and_cleared_after(
    store: RecordingStore, tmp_path: Path
) -> None:
    """Under ``workdir`` (the process's scratch, which a later process sweeps if this one is
    killed), in a folder named after the job; nothing is left once the video is stored."""
    store_job(store, settings_data("mp4"))
    work = tmp_path / "work"
    seen: list[list[str]] = []

    def publish(event: Event) -> None:
        if isinstance(event, StitchProgress):
            seen.append(sorted(p.name for p in work.iterdir()))

    assert stitch_job(store, JOB_ID, publish, workdir=work) is not None
    assert seen and all(len(names) == 1 for names in seen), seen
    assert seen[0][0].startswith(f"stitch-{JOB_ID}-")
    assert list(work.iterdir()) == []


class SteppingClock:
    """A monotonic clock that moves a quarter second each time it is read (exact in binary)."""

    def __init__(self) -> None:
        self.now = -0.25

    def monotonic(self) -> float:
        self.now += 0.25
        return self.now


def test_progress_is_reported_every_half_second_of_frames_and_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each report counts the frames handed to the encoder so far: 0 first, then whenever half
    a second has passed since the last (here every second frame), then all of them."""
    monkeypatch.setattr(stitcher.stitch, "time", SteppingClock())
    handed: list[bytes] = []
    reports: list[tuple[int, int]] = []
    frames = [bytes([i]) for i in range(7)]
    for frame in stitcher.stitch._tracked(
        iter(frames), 7, lambda d: reports.append((d, len(handed)))
    ):
        handed.append(frame)
    assert handed == frames
    assert reports == [(0, 0), (2, 2), (4, 4), (6, 6), (7, 7)]


def test_a_window_of_no_frames_is_refused_saying_what_was_given(
    store: RecordingStore, tmp_path: Path
) -> None:
    """A caller's mistake is told with the value it passed, before anything is read."""
    with pytest.raises(ValueError) as refused:
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path, prefetch=0)
    assert str(refused.value) == "prefetch must be >= 1, got 0"


def test_a_workdir_whose_parent_folders_do_not_exist_yet_is_created_and_used(
    store: RecordingStore, events: list[Event], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh scratch path (its parents not made yet) is created, and the video is made in it."""
    store_job(store, settings_data("mp4"))
    work = tmp_path / "scratch" / "stitcher" / "work"
    handed_over = files_handed_over(store, monkeypatch)
    assert stitch_job(store, JOB_ID, events.append, workdir=work) is not None
    assert [path.parent.parent for path in handed_over] == [work]
    assert list(work.iterdir()) == []


def test_the_encoder_gets_the_base_time_plus_half_a_second_a_frame(
    store: RecordingStore, events: list[Event], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default (as the stitch actor calls it) ffmpeg may take BASE_TIMEOUT plus 0.5 s for
    each frame before it is killed: long videos get longer."""
    store_job(store, settings_data("mp4"))
    limits: list[float] = []

    def timed_encoder(args: list[str], frames: Iterable[bytes], timeout: float) -> None:
        limits.append(timeout)
        run_encoder(args, frames, timeout)

    monkeypatch.setattr(stitcher.stitch, "run_encoder", timed_encoder)
    stitch(store, events, tmp_path)
    assert limits == [stitcher.stitch.BASE_TIMEOUT + 0.5 * FRAMES]


def test_a_stored_video_of_another_size_than_its_record_is_made_again(
    store: RecordingStore, events: list[Event], tmp_path: Path
) -> None:
    """A video cut short (or replaced) after its record was written is not announced as is."""
    store_job(store, settings_data("mp4"))
    first = stitch(store, events, tmp_path)
    store.put(first.output_key, store.get(first.output_key)[:100], "video/mp4")
    store.writes.clear()

    assert stitch(store, events, tmp_path) == first
    assert [key for key, _ in store.writes] == [first.output_key, KEYS.output_metadata]
    assert store.size(first.output_key) == first.size_bytes


def test_every_progress_event_names_the_job(
    store: RecordingStore, events: list[Event], tmp_path: Path
) -> None:
    """Progress is routed to the job's watchers by its id."""
    store_job(store, settings_data("mp4"))
    stitch(store, events, tmp_path)
    progress = [e for e in events if isinstance(e, StitchProgress)]
    assert progress and {p.job_id for p in progress} == {JOB_ID}


def test_every_missing_chunk_manifest_is_listed(store: RecordingStore, tmp_path: Path) -> None:
    spec = store_spec(store, settings_data("mp4"))
    store_chunk(store, spec.chunks[1])

    with pytest.raises(ManifestError) as refused:
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)
    assert str(refused.value) == f"job {JOB_ID}: no manifest for chunk(s) 0, 2"


def test_a_changed_frame_is_named_with_its_key_and_how_it_differs(
    store: RecordingStore, tmp_path: Path
) -> None:
    """The operator is told which frame, where it is stored, and how its bytes differ."""
    store_job(store, settings_data("mp4"))
    stored, changed = frame_png(17), frame_png(3)
    store.put(KEYS.frame(17), changed)

    with pytest.raises(ManifestError) as refused:
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)
    assert str(refused.value) == (
        f"frame 17 ({KEYS.frame(17)}) does not match its manifest: {len(changed)} bytes with "
        f"sha256 {hashlib.sha256(changed).hexdigest()}, expected {len(stored)} bytes with "
        f"sha256 {hashlib.sha256(stored).hexdigest()}"
    )


def test_every_segment_not_encoded_is_listed(store: RecordingStore, tmp_path: Path) -> None:
    spec = store_segments(store, settings_data("mp4"))
    store.delete(KEYS.segment_manifest(1))
    store.delete(KEYS.segment_manifest(3))

    with pytest.raises(ManifestError) as refused:
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)
    assert len(spec.segments) > 3
    assert str(refused.value) == f"job {JOB_ID}: segment(s) 1, 3 not encoded"


def test_a_segment_covering_other_frames_than_its_plan_is_named(
    store: RecordingStore, tmp_path: Path
) -> None:
    """A segment manifest that disagrees with the plan says which frames each covers."""
    spec = store_segments(store, settings_data("mp4"))
    plan = spec.segments[1]
    manifest = records.load(SegmentManifest, store.get(KEYS.segment_manifest(1)))
    stray = dataclasses.replace(manifest, first_frame=plan.first_frame + 1)
    store.put(KEYS.segment_manifest(1), records.dump(stray))

    with pytest.raises(ManifestError) as refused:
        stitch_job(store, JOB_ID, lambda _: None, workdir=tmp_path)
    assert str(refused.value) == (
        f"segment 1 of job {JOB_ID} covers frames {plan.first_frame + 1}+{plan.frame_count}, "
        f"its plan {plan.first_frame}+{plan.frame_count}"
    )


def test_the_video_is_checked_by_counting_packets_without_decoding(
    store: RecordingStore, events: list[Event], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding a whole video again to count its frames would cost about as much as making it;
    demuxing is enough (one packet per frame for every format written here)."""
    store_job(store, settings_data("mp4"))
    asked: list[bool] = []

    def noting_probe(path: Path, *, decode: bool = True) -> VideoInfo:
        asked.append(decode)
        return probe(path, decode=decode)

    monkeypatch.setattr(stitcher.stitch, "probe", noting_probe)
    stitch(store, events, tmp_path)
    assert asked == [False]


def test_the_stitch_reads_sixteen_frames_ahead_of_the_encoder(
    store: RecordingStore, events: list[Event], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default (as the stitch actor calls it) up to 16 frames are being fetched or held
    while the encoder takes one: enough to hide the store's latency, few enough to bound
    memory."""
    store_job(store, settings_data("mp4"))
    ahead: list[int] = []
    download_frames = stitcher.stitch.download_frames

    def noting_downloads(
        store: ObjectStore, frames: Iterable[FrameRecord], prefetch: int
    ) -> Generator[bytes, None, None]:
        drawn = 0

        def counted() -> Iterator[FrameRecord]:
            nonlocal drawn
            for record in frames:
                drawn += 1
                yield record

        with contextlib.closing(download_frames(store, counted(), prefetch)) as downloads:
            for handed, data in enumerate(downloads, 1):
                ahead.append(drawn - handed)
                yield data

    monkeypatch.setattr(stitcher.stitch, "download_frames", noting_downloads)
    stitch(store, events, tmp_path)
    assert ahead == [min(16, FRAMES - handed) for handed in range(1, FRAMES + 1)]


class GatedStore(LocalStore):
    """A local store whose frame reads wait, counted, until the test opens the gate."""

    frames_prefix = KEYS.frame(0).rsplit("/", 1)[0] + "/"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.changed = threading.Condition()
        self.reading = 0
        self.open = False

    def get(self, key: str) -> bytes:
        if not key.startswith(self.frames_prefix):
            return super().get(key)
        with self.changed:
            self.reading += 1
            self.changed.notify_all()
            assert self.changed.wait_for(lambda: self.open, timeout=60)
            self.reading -= 1
        return super().get(key)


def test_at_most_eight_frames_are_downloaded_at_once(tmp_path: Path) -> None:
    """However wide the window, the store sees DOWNLOAD_THREADS (8) reads at a time (the
    concurrency S3 was measured with). Every read waits here, so each download thread holds
    one: once all 17 are handed out, the threads the download made are the reads it can have
    under way at once."""
    store = GatedStore(tmp_path / "store")
    store_job(store, settings_data("mp4"), chunk_frames=30)
    (manifest,) = [records.load(ChunkManifest, store.get(KEYS.chunk_manifest(0)))]
    handed_out = threading.Event()

    def seventeen_frames() -> Iterator[FrameRecord]:
        yield from manifest.frames[:17]
        handed_out.set()

    before = set(threading.enumerate())
    got: list[bytes] = []
    reader = threading.Thread(
        target=lambda: got.extend(stitcher.stitch.download_frames(store, seventeen_frames(), 18))
    )
    reader.start()
    try:
        assert handed_out.wait(timeout=60)
        threads = set(threading.enumerate()) - before - {reader}
        with store.changed:
            assert store.changed.wait_for(lambda: store.reading == len(threads), timeout=60)
            assert store.reading == stitcher.stitch.DOWNLOAD_THREADS == 8
    finally:
        with store.changed:
            store.open = True
            store.changed.notify_all()
        reader.join(timeout=60)
    assert got == [frame_png(i) for i in range(17)]
