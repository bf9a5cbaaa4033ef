"""Single frames for someone choosing settings: one moment of an export at a small size, drawn by
the export's own renderer on one thread that owns its GL context (a context is current on one
thread only, and one thread bounds the GPU/CPU a page's scrubbing can take)."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction

from common.format.validation import Export
from farm_worker.cache import ThreadRenderers
from farm_worker.png import encode_png
from farm_worker.renderer import FrameRenderer, as_image

PREVIEW_MAX_SIDE = 480
"""Longest side of a preview in pixels: enough to judge a look, quick on a CPU renderer."""


def preview_size(width: int, height: int, max_side: int = PREVIEW_MAX_SIDE) -> tuple[int, int]:
    """The export's aspect ratio within ``max_side``, never larger than the export; even sides."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class PreviewRenderer:
    """Renders preview PNGs one at a time on its own thread; keeps the last project's renderer
    (scrubbing one song reuses every GL object)."""

    def __init__(self, max_side: int = PREVIEW_MAX_SIDE) -> None:
        self.max_side = max_side
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="preview")
        self._renderers = ThreadRenderers()
        self._last: tuple[tuple[str, int, int], FrameRenderer] | None = None

    def submit(self, export: Export, seconds: Fraction) -> Future[bytes]:
        return self._executor.submit(self._render, export, seconds)

    def _render(self, export: Export, seconds: Fraction) -> bytes:
        width, height = preview_size(export.settings.width, export.settings.height, self.max_side)
        renderer = self._renderer(export, width, height)
        return encode_png(as_image(renderer.render_at(seconds), width, height))

    def _renderer(self, export: Export, width: int, height: int) -> FrameRenderer:
        digest = hashlib.sha256(
            json.dumps(export.project_json, sort_keys=True).encode()
        ).hexdigest()
        key = (digest, width, height)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        if self._last is not None:
            self._last[1].release()
            self._last = None
        renderer = FrameRenderer(self._renderers.context(), export.project, width, height)
        self._last = (key, renderer)
        return renderer

    def close(self) -> None:
        def release() -> None:
            if self._last is not None:
                self._last[1].release()
                self._last = None
            self._renderers.release()

        self._executor.submit(release).result()
        self._executor.shutdown(wait=True)
