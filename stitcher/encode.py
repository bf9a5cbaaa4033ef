"""Encode a segment that crosses a chunk boundary from its stored frames (the encode actor's
work): download the PNGs in order, checking each against its chunk's manifest, into the
segment's encoder, then commit the segment.

Idempotent: a committed segment is announced again, not encoded again; a stopped job's segment
is skipped.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from common.adapters.segments import (
    SegmentWriter,
    remove_segment,
    reuse_segment,
    stored_segment,
)
from common.adapters.storage import ObjectStore
from common.cache.entries import export_segment_key
from common.cache.store import load_cached, record_use
from common.jobs.cache_keys import segment_record
from common.jobs.chunks import SegmentPlan, covering_chunks
from common.jobs.keys import JobKeys
from common.jobs.manifest import ManifestError, SegmentManifest
from common.jobs.messages import EncodeSegment, Event
from common.jobs.spec import SpecCache
from stitcher.stitch import download_frames, load_manifests

PREFETCH = 16


def encode_segment(
    store: ObjectStore,
    command: EncodeSegment,
    publish: Callable[[Event], None],
    *,
    worker: str,
    specs: SpecCache | None = None,
    workdir: Path | None = None,
) -> SegmentManifest | None:
    """Encode (or re-announce) one segment; None when the job was stopped."""
    keys = JobKeys(command.job_id)
    if store.exists(keys.stop_marker):
        return None
    manifest = stored_segment(store, keys, command.segment_index)
    if manifest is None:
        spec, export = (specs or SpecCache(store)).get(command.job_id)
        segment = _planned(command, spec.segments)
        needed = covering_chunks(segment, spec.chunks)
        chunks = [c for c in spec.chunks if c.index in needed]
        by_index = {r.index: r for m in load_manifests(store, keys, chunks) for r in m.frames}
        missing = [i for i in segment.frames if i not in by_index]
        if missing:
            raise ManifestError(
                f"segment {segment.index} of job {keys.job_id}: no frame {missing[0]} "
                f"({len(missing)} missing) in its chunks' manifests"
            )
        frames = [by_index[i] for i in segment.frames]
        cache_key = ""
        if export.settings.cache and all(f.frame_key for f in frames):
            cache_key = export_segment_key(export, [f.frame_key for f in frames])
            cached = load_cached(store, segment_record(cache_key))
            if cached is not None:
                used = [cached.object_key, segment_record(cache_key)]
                record_use(store, keys.job_id, f"segment_{segment.index:04d}", used, time.time())
                if store.exists(cached.object_key):  # else evicted since: encoded again below
                    manifest = reuse_segment(store, keys, segment, cache_key, cached, worker)
                    publish(manifest.announcement())
                    return manifest
        writer = SegmentWriter(
            store,
            keys,
            export.settings,
            export.timeline.fps,
            segment,
            raw_rgb=False,
            worker=worker,
            workdir=workdir,
            cache_key=cache_key,
        )
        try:
            with contextlib.closing(download_frames(store, frames, PREFETCH)) as downloads:
                for png in downloads:
                    writer.write(png)
            manifest = writer.finish()
        except BaseException:
            writer.abort()
            raise
        if store.exists(keys.stop_marker):  # ended meanwhile: take the commit back
            remove_segment(store, keys, manifest)
            return None
        if cache_key:
            used = [manifest.key, segment_record(cache_key)]
            record_use(store, keys.job_id, f"segment_{segment.index:04d}", used, time.time())
    publish(manifest.announcement())
    return manifest


def _planned(command: EncodeSegment, segments: tuple[SegmentPlan, ...]) -> SegmentPlan:
    """The segment of the stored plan that the command names, with the same frames."""
    plan = next((s for s in segments if s.index == command.segment_index), None)
    if plan is None or (plan.first_frame, plan.frame_count) != (
        command.first_frame,
        command.frame_count,
    ):
        raise ManifestError(
            f"segment {command.segment_index} (frames {command.first_frame}"
            f"+{command.frame_count}) is not in job {command.job_id}'s plan"
        )
    return plan
