"""Encode one segment of a job's video and commit it: frames go into an ffmpeg of their own as
they come (written from the caller's thread: ffmpeg encodes in its own process while the caller
renders or downloads the next frame), then the file is stored and its manifest written after it
(the segment's commit).

Used by a render worker for the segments inside its chunk (raw RGB from memory) and by the
encode actor for the segments that cross a chunk boundary (stored PNGs). Both give the same
bytes: the same frames through the same pinned encoder settings.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from common.adapters.ffmpeg import SEGMENT_EXTENSIONS, EncodeError, EncoderProcess, segment_args
from common.adapters.storage import ObjectNotFound, ObjectStore
from common.errors import DecodeError
from common.format.export_settings import ExportSettings
from common.jobs import records
from common.jobs.cache_keys import segment_object, segment_record
from common.jobs.cache_records import CachedObject
from common.jobs.chunks import SegmentPlan
from common.jobs.keys import JobKeys
from common.jobs.manifest import SegmentManifest

BASE_TIMEOUT = 60.0
"""Seconds an encoder may take on top of TIMEOUT_PER_FRAME for each frame; it also waits for
its frames to be rendered or downloaded."""
TIMEOUT_PER_FRAME = 2.0


class SegmentWriter:
    """One segment being encoded. ``write`` each frame in order, then ``finish`` to store it;
    ``abort`` stops the encoder and stores nothing."""

    def __init__(
        self,
        store: ObjectStore,
        keys: JobKeys,
        settings: ExportSettings,
        fps: Fraction,
        segment: SegmentPlan,
        *,
        raw_rgb: bool,
        worker: str,
        workdir: Path | None = None,
        cache_key: str = "",
    ) -> None:
        self.store, self.keys, self.settings, self.segment = store, keys, settings, segment
        self.worker = worker
        self.encoded_from = "memory" if raw_rgb else "frames"
        self.cache_key = cache_key
        self._scratch = tempfile.TemporaryDirectory(prefix="segment-", dir=workdir)
        extension = SEGMENT_EXTENSIONS[settings.format]
        self.path = Path(self._scratch.name) / f"segment.{extension}"
        # With a cache key the segment is stored in the cache, for later exports to reuse.
        self.key = (
            segment_object(cache_key, extension)
            if cache_key
            else keys.segment(segment.index, extension)
        )
        self._written = 0
        self._started = time.perf_counter()
        args = segment_args(settings, fps, self.path, raw_rgb=raw_rgb)
        timeout = BASE_TIMEOUT + TIMEOUT_PER_FRAME * segment.frame_count
        self._encoder = EncoderProcess(args, timeout)

    def write(self, frame: bytes) -> None:
        """The next frame; raises the encoder's error if it has stopped."""
        if self._written >= self.segment.frame_count:
            raise EncodeError(f"segment {self.segment.index}: more frames than its plan")
        if not self._encoder.write(frame):
            self._encoder.finish()  # raises what went wrong, with ffmpeg's own words
        self._written += 1

    def finish(self) -> SegmentManifest:
        """Wait for the encoder, store the segment, then its manifest; returns the manifest."""
        try:
            if self._written != self.segment.frame_count:
                self._encoder.kill()
                raise EncodeError(
                    f"segment {self.segment.index} got {self._written} frames, "
                    f"its plan has {self.segment.frame_count}"
                )
            self._encoder.finish()
            data = self.path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            self.store.put_file(self.key, self.path)
            if self.cache_key:
                entry = CachedObject(self.key, digest, len(data))
                record = segment_record(self.cache_key)
                self.store.put(record, records.dump(entry), "application/json")
            manifest = SegmentManifest(
                job_id=self.keys.job_id,
                segment_index=self.segment.index,
                first_frame=self.segment.first_frame,
                frame_count=self.segment.frame_count,
                key=self.key,
                sha256=digest,
                size=len(data),
                encode_seconds=round(time.perf_counter() - self._started, 4),
                encoded_from=self.encoded_from,
                worker=self.worker,
                cache_key=self.cache_key,
            )
            manifest_key = self.keys.segment_manifest(self.segment.index)
            self.store.put(manifest_key, records.dump(manifest), "application/json")
            return manifest
        finally:
            self._scratch.cleanup()

    def abort(self) -> None:
        """Stop the encoder and forget what it wrote."""
        self._encoder.kill()
        self._scratch.cleanup()


def stored_segment(store: ObjectStore, keys: JobKeys, index: int) -> SegmentManifest | None:
    """The manifest of a segment an earlier run committed, else None."""
    try:
        manifest = records.load(SegmentManifest, store.get(keys.segment_manifest(index)))
    except (ObjectNotFound, DecodeError):
        return None  # absent, or unreadable: encoding it again repairs it
    if manifest.job_id != keys.job_id or manifest.segment_index != index:
        return None
    if not manifest.key.startswith(keys.prefix) and not store.exists(manifest.key):
        return None  # a cached segment evicted since: encoded (or found) again
    return manifest


def reuse_segment(
    store: ObjectStore,
    keys: JobKeys,
    segment: SegmentPlan,
    cache_key: str,
    cached: CachedObject,
    worker: str,
) -> SegmentManifest:
    """Commit a segment that an earlier export encoded from equal frames: its manifest names
    the cached file, nothing is encoded."""
    manifest = SegmentManifest(
        job_id=keys.job_id,
        segment_index=segment.index,
        first_frame=segment.first_frame,
        frame_count=segment.frame_count,
        key=cached.object_key,
        sha256=cached.sha256,
        size=cached.size,
        encode_seconds=0.0,
        encoded_from="cache",
        worker=worker,
        cache_key=cache_key,
    )
    store.put(keys.segment_manifest(segment.index), records.dump(manifest), "application/json")
    return manifest


def remove_segment(store: ObjectStore, keys: JobKeys, manifest: SegmentManifest) -> None:
    """Take back a committed segment (a chunk abandoned after a cancel): manifest first; a file
    in the cache stays (it is valid for any job whose frames are equal)."""
    store.delete(keys.segment_manifest(manifest.segment_index))
    if manifest.key.startswith(keys.prefix):
        store.delete(manifest.key)
