"""Make one job's video and announce it: join its encoded segments without re-encoding (mp4,
webm, mov), or stream every frame through one encoder (GIF, which needs one palette); check it
with ffprobe, store it and its record."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

from common.adapters.ffmpeg import (
    MIME_TYPES,
    EncodeError,
    encode_args,
    join_args,
    probe,
    run,
    run_encoder,
)
from common.adapters.storage import ObjectNotFound, ObjectStore
from common.errors import DecodeError
from common.format.export_settings import ExportSettings, wants_audio
from common.format.validation import Export
from common.jobs import records
from common.jobs.chunks import ChunkPlan, SegmentPlan
from common.jobs.keys import JobKeys
from common.jobs.manifest import (
    ChunkManifest,
    FrameRecord,
    ManifestError,
    SegmentManifest,
    ordered_frames,
)
from common.jobs.messages import Event, StitchProgress, VideoReady
from common.jobs.spec import JobSpec, SpecCache
from stitcher.soundtrack import stored_audio

BASE_TIMEOUT = 60.0
"""Seconds the encoder may take on top of ``timeout_per_frame`` for each frame."""
PROGRESS_INTERVAL = 0.5
DOWNLOAD_THREADS = 8
"""Concurrent frame downloads at most (S3 GETs were measured with 8 threads here)."""


class _Cancelled(Exception):  # noqa: N818 (a signal inside this module, not an error)
    """The job was cancelled while its video was being made."""


def stitch_job(
    store: ObjectStore,
    job_id: str,
    publish: Callable[[Event], None],
    *,
    workdir: Path | None = None,
    specs: SpecCache | None = None,
    prefetch: int = 16,
    timeout_per_frame: float = 0.5,
) -> VideoReady | None:
    """Make the job's video and return the VideoReady event published for it.

    None (and nothing stored) when the job is cancelled, before or during the stitch. A video
    stored by an earlier run is announced again, not re-encoded. SpecError, ManifestError and
    EncodeError are permanent and propagate; StorageError may be worth a retry.
    """
    if prefetch < 1:
        raise ValueError(f"prefetch must be >= 1, got {prefetch}")
    keys = JobKeys(job_id)
    if store.exists(keys.stop_marker):
        return None
    ready = stored_video(store, keys)
    if ready is None:
        spec, export = (specs or SpecCache(store)).get(job_id)
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
        try:
            if spec.segments:
                ready = _join_segments(store, keys, spec, export, publish, workdir=workdir)
            else:
                frames = ordered_frames(load_manifests(store, keys, spec.chunks), spec.frame_count)
                timeout = BASE_TIMEOUT + timeout_per_frame * len(frames)
                ready = _make_video(
                    store,
                    keys,
                    export.settings,
                    export.timeline.fps,
                    frames,
                    publish,
                    workdir=workdir,
                    prefetch=prefetch,
                    timeout=timeout,
                )
        except _Cancelled:
            return None
    publish(ready)
    return ready


def stored_video(store: ObjectStore, keys: JobKeys) -> VideoReady | None:
    """The VideoReady of a video an earlier run stored completely, else None."""
    try:
        event = records.load(VideoReady, store.get(keys.output_metadata))
    except ObjectNotFound:
        return None
    except DecodeError:
        return None  # unreadable metadata: making the video again repairs it
    if event.job_id != keys.job_id:
        return None
    if not store.exists(event.output_key) or store.size(event.output_key) != event.size_bytes:
        return None
    return event


def load_manifests(
    store: ObjectStore, keys: JobKeys, chunks: Sequence[ChunkPlan]
) -> list[ChunkManifest]:
    """The manifest of each of ``chunks``; ManifestError names the chunks without one."""
    present = set(store.list(keys.chunks_prefix))
    missing = [c.index for c in chunks if keys.chunk_manifest(c.index) not in present]
    if missing:
        listed = ", ".join(str(i) for i in missing)
        raise ManifestError(f"job {keys.job_id}: no manifest for chunk(s) {listed}")
    manifests = []
    for chunk in chunks:
        manifest = records.load(ChunkManifest, store.get(keys.chunk_manifest(chunk.index)))
        if manifest.job_id != keys.job_id or manifest.chunk_index != chunk.index:
            raise ManifestError(
                f"manifest of chunk {chunk.index} of job {keys.job_id} says it is chunk "
                f"{manifest.chunk_index} of job {manifest.job_id}"
            )
        manifests.append(manifest)
    return manifests


def download_frames(
    store: ObjectStore, records: Iterable[FrameRecord], prefetch: int
) -> Generator[bytes, None, None]:
    """Each frame's PNG in order, checked against its record, at most ``prefetch`` ahead."""
    pending = iter(records)
    threads = min(prefetch, DOWNLOAD_THREADS)
    with ThreadPoolExecutor(threads, thread_name_prefix="stitch-download") as pool:
        window: collections.deque[Future[bytes]] = collections.deque(
            pool.submit(fetch_frame, store, r) for r in itertools.islice(pending, prefetch)
        )
        try:
            while window:
                data = window.popleft().result()
                for record in itertools.islice(pending, 1):
                    window.append(pool.submit(fetch_frame, store, record))
                yield data
        finally:
            for future in window:
                future.cancel()


def fetch_frame(store: ObjectStore, record: FrameRecord) -> bytes:
    """A frame's bytes; ManifestError when they are absent or not what the manifest recorded."""
    try:
        data = store.get(record.key)
    except ObjectNotFound:
        raise ManifestError(
            f"frame {record.index} is in a chunk manifest but not in the store ({record.key})"
        ) from None
    check_bytes(f"frame {record.index}", record.key, data, record.size, record.sha256)
    return data


def check_bytes(what: str, key: str, data: bytes, size: int, sha256: str) -> None:
    """ManifestError unless ``data`` is the ``size`` bytes whose digest its manifest recorded."""
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != size or digest != sha256:
        raise ManifestError(
            f"{what} ({key}) does not match its manifest: {len(data)} bytes with sha256 "
            f"{digest}, expected {size} bytes with sha256 {sha256}"
        )


def _make_video(
    store: ObjectStore,
    keys: JobKeys,
    settings: ExportSettings,
    fps: Fraction,
    frames: list[FrameRecord],
    publish: Callable[[Event], None],
    *,
    workdir: Path | None,
    prefetch: int,
    timeout: float,
) -> VideoReady:
    """One pass over every frame (GIF: one palette for the whole video), then store it."""
    report = _reporter(store, keys, len(frames), publish)
    with tempfile.TemporaryDirectory(prefix=f"stitch-{keys.job_id}-", dir=workdir) as temporary:
        video = Path(temporary) / f"video.{settings.format}"
        audio = _fetch_audio(store, keys, Path(temporary)) if wants_audio(settings) else None
        with contextlib.closing(download_frames(store, frames, prefetch)) as downloads:
            stream = _tracked(downloads, len(frames), report)
            run_encoder(encode_args(settings, fps, video, audio), stream, timeout)
        return _store_video(store, keys, settings, fps, video, len(frames))


def _join_segments(
    store: ObjectStore,
    keys: JobKeys,
    spec: JobSpec,
    export: Export,
    publish: Callable[[Event], None],
    *,
    workdir: Path | None,
) -> VideoReady:
    """Join the encoded segments without re-encoding, with the encoded soundtrack copied beside
    them: the only work left after the last frame besides the last segment's encode."""
    settings, fps = export.settings, export.timeline.fps
    report = _reporter(store, keys, spec.frame_count, publish)
    report(0)
    segments = load_segments(store, keys, spec.segments)
    with tempfile.TemporaryDirectory(prefix=f"join-{keys.job_id}-", dir=workdir) as temporary:
        folder = Path(temporary)
        files = fetch_segments(store, segments, folder)
        listing = folder / "segments.txt"
        listing.write_text("".join(f"file '{path.name}'\n" for path in files))
        audio = _fetch_audio(store, keys, folder) if wants_audio(settings) else None
        video = folder / f"video.{settings.format}"
        run(join_args(settings, fps, listing, video, audio), BASE_TIMEOUT + 0.01 * len(files))
        ready = _store_video(store, keys, settings, fps, video, spec.frame_count)
    report(spec.frame_count)
    return ready


def load_segments(
    store: ObjectStore, keys: JobKeys, plan: Sequence[SegmentPlan]
) -> list[SegmentManifest]:
    """The manifest of every planned segment, each matching its plan; ManifestError names the
    segments without one."""
    present = set(store.list(keys.segments_prefix))
    missing = [s.index for s in plan if keys.segment_manifest(s.index) not in present]
    if missing:
        listed = ", ".join(str(i) for i in missing)
        raise ManifestError(f"job {keys.job_id}: segment(s) {listed} not encoded")
    manifests = []
    for segment in plan:
        manifest = records.load(SegmentManifest, store.get(keys.segment_manifest(segment.index)))
        found = (manifest.job_id, manifest.first_frame, manifest.frame_count)
        if found != (keys.job_id, segment.first_frame, segment.frame_count):
            raise ManifestError(
                f"segment {segment.index} of job {keys.job_id} covers frames "
                f"{manifest.first_frame}+{manifest.frame_count}, its plan "
                f"{segment.first_frame}+{segment.frame_count}"
            )
        manifests.append(manifest)
    return manifests


def fetch_segments(
    store: ObjectStore, segments: Sequence[SegmentManifest], folder: Path
) -> list[Path]:
    """Download the segments side by side, each checked against its manifest."""

    def fetch(manifest: SegmentManifest) -> Path:
        path = folder / f"segment_{manifest.segment_index:06d}{Path(manifest.key).suffix}"
        try:
            store.get_file(manifest.key, path)
        except ObjectNotFound:
            raise ManifestError(f"segment {manifest.segment_index} is not in the store") from None
        what = f"segment {manifest.segment_index}"
        check_bytes(what, manifest.key, path.read_bytes(), manifest.size, manifest.sha256)
        return path

    with ThreadPoolExecutor(DOWNLOAD_THREADS, thread_name_prefix="join-download") as pool:
        return list(pool.map(fetch, segments))


def _fetch_audio(store: ObjectStore, keys: JobKeys, folder: Path) -> Path:
    """The encoded soundtrack the audio actor stored (its record says where)."""
    ready = stored_audio(store, keys)
    if ready is None:  # permanent: the stitch is sent only once the soundtrack is committed
        raise ManifestError(f"job {keys.job_id}: the soundtrack is not in the store")
    path = folder / f"soundtrack{Path(ready.audio_key).suffix}"
    store.get_file(ready.audio_key, path)
    return path


def _store_video(
    store: ObjectStore,
    keys: JobKeys,
    settings: ExportSettings,
    fps: Fraction,
    video: Path,
    frame_count: int,
) -> VideoReady:
    """Check the video, store it, then its record (the commit), unless the job was stopped."""
    check_video(video, settings, frame_count)
    if store.exists(keys.stop_marker):
        raise _Cancelled
    output_key = keys.output(settings.format)
    store.put_file(output_key, video, MIME_TYPES[settings.format])
    size = video.stat().st_size
    ready = VideoReady(keys.job_id, output_key, frame_count, float(frame_count / fps), size)
    store.put(keys.output_metadata, records.dump(ready), "application/json")
    reason = _stop_reason(store, keys)
    if reason is not None:
        # Ended while the video was being stored. Cancelled or failed: the clean-up may have run
        # before these objects existed (a marker written after this check is followed by a
        # clean-up that sees them), so take them back. Complete: another stitcher (this one was
        # frozen past its heartbeat) finished the job first, with the same video at the same
        # keys; they are the job's result now, and stay.
        if reason != b"complete":
            store.delete(keys.output_metadata)
            store.delete(output_key)
        raise _Cancelled
    return ready


def _stop_reason(store: ObjectStore, keys: JobKeys) -> bytes | None:
    """What the job's stop marker says (cancelled, failed, complete); None once it is gone."""
    try:
        return store.get(keys.stop_marker)
    except ObjectNotFound:
        return None


def check_video(video: Path, settings: ExportSettings, frame_count: int) -> None:
    """EncodeError unless the file holds exactly ``frame_count`` frames of the asked size."""
    info = probe(video, decode=False)
    size = (settings.width, settings.height)
    if info.frame_count != frame_count or (info.width, info.height) != size:
        raise EncodeError(
            f"ffmpeg wrote {info.frame_count} frames of {info.width}x{info.height}, "
            f"expected {frame_count} of {size[0]}x{size[1]}"
        )


def _reporter(
    store: ObjectStore, keys: JobKeys, total: int, publish: Callable[[Event], None]
) -> Callable[[int], None]:
    """Publishes progress; stops the stitch (by raising _Cancelled) once the job is cancelled."""

    def report(done: int) -> None:
        if store.exists(keys.stop_marker):
            raise _Cancelled
        publish(StitchProgress(keys.job_id, done, total))

    return report


def _tracked(frames: Iterable[bytes], total: int, report: Callable[[int], None]) -> Iterator[bytes]:
    """The frames, reporting 0 first, then about every PROGRESS_INTERVAL, then ``total``."""
    report(0)
    last = time.monotonic()
    for done, frame in enumerate(frames, 1):
        yield frame
        now = time.monotonic()
        if done == total or now - last >= PROGRESS_INTERVAL:
            report(done)
            last = now
