"""Render frames of an export to PNG files: the local, single-process path behind the CLI."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from common.format.validation import Export
from farm_worker.gl import create_context
from farm_worker.png import encode_png
from farm_worker.renderer import FrameRenderer, as_image


def frame_name(index: int) -> str:
    """File name of frame ``index`` of an export: frame_000042.png."""
    return f"frame_{index:06d}.png"


def render_frames_to_files(
    export: Export,
    frames: range,
    *,
    directory: str | os.PathLike[str] | None = None,
    single_file: str | os.PathLike[str] | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> int:
    """Render ``frames`` to ``directory/frame_NNNNNN.png`` (or one frame to ``single_file``)."""
    settings = export.settings
    ctx = create_context()
    if (directory is None) == (single_file is None):
        raise ValueError("give exactly one of directory and single_file")

    def target(index: int) -> Path:
        if single_file is not None:
            return Path(single_file)
        return Path(directory or ".") / frame_name(index)

    written = 0
    try:
        with FrameRenderer(ctx, export.project, settings.width, settings.height) as renderer:
            for index in frames:
                rgb = renderer.render_at(export.timeline.time_of(index))
                png = encode_png(as_image(rgb, settings.width, settings.height))
                _write_atomically(target(index), png)
                written += 1
                if on_frame is not None:
                    on_frame(written)
    finally:
        ctx.release()
    return written


def _write_atomically(path: Path, data: bytes) -> None:
    """Write next to the target and rename, so a crash never leaves a half-written PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(data)
    temporary.replace(path)
