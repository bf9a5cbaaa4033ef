"""The segments inside one chunk, encoded from the rendered frames while the chunk renders: each
frame's RGB goes to its segment's encoder as soon as it exists, and a finished segment is stored
on the upload threads while the next frames render.

A segment an earlier delivery of the chunk already committed is not encoded again (its bytes
would be the same); it is announced with the others. So is a segment the cache holds (an
earlier export encoded the same frames with the same encoder): its manifest names the cached
file. With a cache key, a segment encoded here is stored in the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Executor, Future
from pathlib import Path

from common.adapters.segments import (
    SegmentWriter,
    remove_segment,
    reuse_segment,
    stored_segment,
)
from common.adapters.storage import ObjectStore
from common.format.validation import Export
from common.jobs.cache_records import CachedObject
from common.jobs.chunks import SegmentPlan
from common.jobs.keys import JobKeys
from common.jobs.manifest import SegmentManifest

log = logging.getLogger(__name__)


class InlineEncoding:
    def __init__(
        self,
        store: ObjectStore,
        keys: JobKeys,
        export: Export,
        segments: list[SegmentPlan],
        worker: str,
        *,
        workdir: Path | None = None,
        cache_keys: Mapping[int, str] | None = None,
        cached: Mapping[int, CachedObject] | None = None,
    ) -> None:
        self.store, self.keys, self.export, self.worker = store, keys, export, worker
        self.workdir = workdir
        self.cache_keys = dict(cache_keys or {})
        self.earlier: list[SegmentManifest] = []
        self.reused: list[SegmentManifest] = []
        self._starts: dict[int, SegmentPlan] = {}
        self._encoded_frames: set[int] = set()
        for segment in segments:
            committed = stored_segment(store, keys, segment.index)
            entry = (cached or {}).get(segment.index)
            if committed is not None:
                self.earlier.append(committed)
            elif entry is not None:
                key = self.cache_keys[segment.index]
                self.reused.append(reuse_segment(store, keys, segment, key, entry, worker))
            else:
                self._starts[segment.first_frame] = segment
                self._encoded_frames.update(segment.frames)
        self._writer: SegmentWriter | None = None
        self._last_frame = -1
        self._finishing: list[Future[SegmentManifest]] = []

    def needs(self, index: int) -> bool:
        """Whether frame ``index`` goes into a segment encoded here (else its pixels are not
        needed: a cached frame is not even downloaded)."""
        return index in self._encoded_frames

    def frame(self, index: int, rgb: bytes, pool: Executor) -> None:
        """The chunk's frame ``index`` (packed RGB, top row first) is rendered."""
        segment = self._starts.get(index)
        if segment is not None:
            self._writer = SegmentWriter(
                self.store,
                self.keys,
                self.export.settings,
                self.export.timeline.fps,
                segment,
                raw_rgb=True,
                worker=self.worker,
                workdir=self.workdir,
                cache_key=self.cache_keys.get(segment.index, ""),
            )
            self._last_frame = segment.frames[-1]
        if self._writer is None:
            return
        self._writer.write(rgb)
        if index == self._last_frame:
            self._finishing.append(pool.submit(self._writer.finish))
            self._writer = None

    def finish(self) -> list[SegmentManifest]:
        """Every segment of the chunk committed: those encoded now, those reused from the cache
        and those found stored."""
        if self._writer is not None:
            raise RuntimeError("the chunk ended inside a segment that lies within it")
        return [*self.earlier, *self.reused, *(future.result() for future in self._finishing)]

    def abort(self, *, remove: bool) -> None:
        """Stop encoding; with ``remove`` (the job was stopped) take back what was committed."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        finished: list[SegmentManifest] = list(self.reused)
        for future in self._finishing:
            try:
                finished.append(future.result())
            except Exception:  # the chunk is being abandoned anyway
                log.debug("a segment failed while its chunk was abandoned", exc_info=True)
        if remove:
            for manifest in finished:
                remove_segment(self.store, self.keys, manifest)
