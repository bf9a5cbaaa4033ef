"""The naive single-process exporter, the farm's baseline: one process renders each frame and
pipes its raw RGB straight into one ffmpeg (no PNGs, no broker, no store), as the seed did.

Same renderer, same settings and the same codec arguments as the stitcher (``codec_args``), so
its video is comparable with the farm's; only the input differs (``rawvideo`` instead of PNGs).
``bench/run.py`` measures the farm against it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from common.adapters.ffmpeg import encode_args, run_encoder
from common.format.export_settings import ExportSettings, wants_audio
from common.format.validation import Export
from farm_worker.gl import create_context
from farm_worker.renderer import FrameRenderer
from framefarm.interrupt import StopRequest
from stitcher.soundtrack import write_soundtrack
from stitcher.stitch import BASE_TIMEOUT, check_video

TIMEOUT_PER_FRAME = 2.0
"""Seconds ffmpeg may run per frame on top of BASE_TIMEOUT: it waits for rendering here, so this
is far above the stitcher's (a 1080p frame takes ~0.1 s on llvmpipe, 2 cores)."""


@dataclass(frozen=True, slots=True)
class DirectResult:
    """What ``render_direct`` wrote."""

    output: Path
    frame_count: int
    duration_seconds: float
    size_bytes: int
    seconds: float
    """Wall time of the export, validation to the renamed file."""


def render_direct(
    export: Export,
    output: Path,
    *,
    on_frame: Callable[[int], None] | None = None,
    stop: StopRequest | None = None,
) -> DirectResult:
    """Render every frame of a validated export in this process into one ffmpeg, check the
    video, and move it to ``output``. ``on_frame`` gets the number of frames rendered so far
    after each one.

    Raises RenderError without a GL context, and EncodeError when ffmpeg fails or writes other
    than every frame at the asked size.
    """
    started = time.perf_counter()
    partial = output.with_name(f".{output.name}.part")
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="framefarm-direct-") as scratch:
            if stop is not None:
                stop.scratch.append(Path(scratch))  # a second Ctrl-C removes it before exiting
            audio = None
            if wants_audio(export.settings):
                audio = Path(scratch) / "soundtrack.wav"
                write_soundtrack(export, audio)  # exactly the video's span, as the farm's
            args = direct_encode_args(export.settings, export.timeline.fps, partial, audio)
            timeout = BASE_TIMEOUT + TIMEOUT_PER_FRAME * export.frame_count
            ctx = create_context()
            try:
                with FrameRenderer(
                    ctx, export.project, export.settings.width, export.settings.height
                ) as renderer:
                    run_encoder(args, _frames(renderer, export, on_frame), timeout)
            finally:
                ctx.release()
        check_video(partial, export.settings, export.frame_count)
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return DirectResult(
        output=output,
        frame_count=export.frame_count,
        duration_seconds=float(export.timeline.duration),
        size_bytes=output.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def direct_encode_args(
    settings: ExportSettings, fps: Fraction, output: Path, audio: Path | None = None
) -> list[str]:
    """The stitcher's ffmpeg command with packed RGB frames on stdin instead of PNGs."""
    return encode_args(settings, fps, output, audio, raw_rgb=True)


def _frames(
    renderer: FrameRenderer, export: Export, on_frame: Callable[[int], None] | None
) -> Iterator[bytes]:
    """Each frame's RGB bytes in order, rendered only when ffmpeg is ready for it."""
    for index in range(export.frame_count):
        yield renderer.render_at(export.timeline.time_of(index))
        if on_frame is not None:
            on_frame(index + 1)
