"""Per thread of a render worker: the GL context with the renderer of the last job (a GL context is
current on one thread only), released when the thread stops."""

from __future__ import annotations

import threading

import moderngl

from common.format.validation import Export
from farm_worker.gl import create_context
from farm_worker.renderer import FrameRenderer


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
