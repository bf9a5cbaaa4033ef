"""What of a chunk the cache already holds: every frame's key (its scene's digest and the look),
the cached frames (one listing of the chunk's key range), the segments inside the chunk whose
frames are all unchanged and that were encoded before, and the use record that keeps them from
eviction while the job runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from common.adapters.storage import ObjectNotFound, ObjectStore
from common.cache.entries import export_segment_key
from common.cache.identity import package_digest
from common.cache.store import (
    CacheChanged,
    CachedFrame,
    cached_frames,
    load_cached,
    missing_objects,
    record_use,
)
from common.errors import DecodeError
from common.format.validation import Export
from common.jobs import records
from common.jobs.cache_keys import (
    frame_key,
    frame_object,
    scenes_key,
    scenes_record,
    segment_record,
)
from common.jobs.cache_records import CachedObject, SceneDigests
from common.jobs.chunks import ChunkPlan, SegmentPlan
from common.jobs.manifest import FrameRecord, SegmentManifest
from common.scene.visuals import Scene
from farm_worker.identity import export_look
from farm_worker.renderer import FrameRenderer

SCENE_PACKAGES = ("common.scene", "common.format", "common.timing")
"""The code a scene comes from."""


@dataclass
class ChunkReuse:
    """The cache's answer for one chunk; ``scene`` hands each frame's scene to the renderer
    (computed once, for the key)."""

    look: str
    keys: dict[int, str]
    seconds: dict[int, float]
    hits: dict[int, CachedFrame]
    segment_keys: dict[int, str]
    segments: dict[int, CachedObject]
    scenes: dict[int, Scene] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)

    @classmethod
    def look_up(
        cls,
        store: ObjectStore,
        renderer: FrameRenderer,
        export: Export,
        chunk: ChunkPlan,
        inline: list[SegmentPlan],
    ) -> ChunkReuse:
        look = export_look(renderer, export)
        scenes, digests = _scene_digests(store, renderer, export, chunk)
        keys = {i: frame_key(look, digests[i]) for i in chunk.frames}
        seconds = {i: float(export.timeline.time_of(i)) for i in chunk.frames}
        listed = cached_frames(store, look, seconds[chunk.frames[0]], seconds[chunk.frames[-1]])
        hits = {i: listed[k] for i, k in keys.items() if k in listed}
        segment_keys = {
            s.index: export_segment_key(export, [keys[i] for i in s.frames]) for s in inline
        }
        segments: dict[int, CachedObject] = {}
        for segment in inline:
            cached = load_cached(store, segment_record(segment_keys[segment.index]))
            if cached is not None:
                segments[segment.index] = cached
        for index in hits:
            scenes.pop(index, None)  # not rendered (unless it vanishes from the cache)
        reuse = cls(look, keys, seconds, hits, segment_keys, segments, scenes)
        reuse.used = [hit.object_key for hit in hits.values()]
        for index, cached in segments.items():
            reuse.used += [cached.object_key, segment_record(segment_keys[index])]
        return reuse

    def check_still_cached(
        self, store: ObjectStore, records: list[FrameRecord], segments: list[SegmentManifest]
    ) -> None:
        """Before the commit: every cached frame and segment the chunk names is still there
        (its use record, written before it relied on them, keeps them from any later sweep; a
        sweep that was already under way may have taken one). CacheChanged (retried) if not."""
        reused = {r.key for r in records if r.reused}
        hits = [hit for hit in self.hits.values() if hit.object_key in reused]
        others = [m.key for m in segments if m.reused]
        if not hits and not others:
            return
        seconds = sorted(self.seconds.values())
        gone = missing_objects(store, self.look, hits, others, seconds[0], seconds[-1])
        if gone:
            raise CacheChanged(
                f"{len(gone)} cached objects were evicted while the chunk used them "
                f"(first {gone[0]}): rendering the chunk again"
            )

    def scene(self, index: int, renderer: FrameRenderer, export: Export) -> Scene:
        scene = self.scenes.pop(index, None)
        return scene if scene is not None else renderer.model.at(export.timeline.time_of(index))

    def frame_object(self, index: int, png_sha256: str) -> str:
        return frame_object(self.look, self.seconds[index], self.keys[index], png_sha256)

    def record(self, store: ObjectStore, job_id: str, what: str, extra: list[str]) -> None:
        """Store the job's use of every cached object this chunk relies on."""
        self.used += extra
        record_use(store, job_id, what, self.used, time.time())


def _scene_digests(
    store: ObjectStore, renderer: FrameRenderer, export: Export, chunk: ChunkPlan
) -> tuple[dict[int, Scene], dict[int, str]]:
    """Each frame's scene digest: from the record of an equal span (same project but its name,
    same times, same scene code: then nothing is computed), else computed, with the scenes kept
    for the renderer and the record stored for the next export."""
    times = [str(export.timeline.time_of(i)) for i in chunk.frames]
    code = "|".join(package_digest(p) for p in SCENE_PACKAGES)
    record = scenes_record(scenes_key(export.project, times, code))
    try:
        stored = records.load(SceneDigests, store.get(record))
        if len(stored.digests) == chunk.frame_count:
            return {}, dict(zip(chunk.frames, stored.digests, strict=True))
    except (ObjectNotFound, DecodeError):
        pass
    scenes = {i: renderer.model.at(export.timeline.time_of(i)) for i in chunk.frames}
    digests = {i: scene.digest() for i, scene in scenes.items()}
    found = SceneDigests(tuple(digests[i] for i in chunk.frames))
    store.put(record, records.dump(found), "application/json")
    return scenes, digests
