"""Per-worker caches: job specs (downloaded once per job, not per chunk) and, per thread, the GL
context with the renderer of the last job (a GL context is current on one thread only)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import moderngl

from common.adapters.storage import ObjectStore
from common.format.validation import Export
from common.jobs.keys import JobKeys
from common.jobs.spec import JobSpec
from farm_worker.gl import create_context
from farm_worker.renderer import FrameRenderer


class SpecCache:
    """The last few jobs' specs and validated exports, shared by a worker's threads."""

    def __init__(self, store: ObjectStore, size: int = 8) -> None:
        self.store = store
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[JobSpec, Export]] = OrderedDict()

    def get(self, job_id: str) -> tuple[JobSpec, Export]:
        with self._lock:
            if job_id in self._items:
                self._items.move_to_end(job_id)
                return self._items[job_id]
        spec = JobSpec.from_bytes(self.store.get(JobKeys(job_id).spec))
        item = (spec, spec.export())
        with self._lock:
            self._items[job_id] = item
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return item


class ThreadRenderers:
    """One GL context per thread, created on first use, and the renderer of that thread's last
    (job, size): consecutive chunks of one job reuse every GL object."""

    def __init__(self) -> None:
        self._local = threading.local()

    def context(self) -> moderngl.Context:
        ctx: moderngl.Context | None = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = create_context()
            self._local.ctx = ctx
        return ctx

    def renderer(self, job_id: str, export: Export) -> FrameRenderer:
        key = (job_id, export.settings.width, export.settings.height)
        current: tuple[tuple[str, int, int], FrameRenderer] | None = getattr(
            self._local, "renderer", None
        )
        if current is not None and current[0] == key:
            return current[1]
        if current is not None:
            current[1].release()
            self._local.renderer = None
        renderer = FrameRenderer(
            self.context(), export.project, export.settings.width, export.settings.height
        )
        self._local.renderer = (key, renderer)
        return renderer

    def release(self) -> None:
        """Release this thread's GL objects and context."""
        current = getattr(self._local, "renderer", None)
        if current is not None:
            current[1].release()
        ctx = getattr(self._local, "ctx", None)
        if ctx is not None:
            ctx.release()
        self._local.renderer = None
        self._local.ctx = None
