"""Keys of a job's segments and soundtrack, from its export: the encoder's arguments and build,
and for the soundtrack the synthesis code and the span of the video."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from common.adapters.ffmpeg import (
    AUDIO_CONTAINERS,
    SEGMENT_EXTENSIONS,
    audio_args,
    ffmpeg_build,
    segment_args,
)
from common.cache.identity import package_digest
from common.format.validation import Export
from common.jobs.cache_keys import audio_key, segment_key

SYNTHESIS_PACKAGES = ("common.audio", "common.format", "common.timing")
"""The code a soundtrack's samples come from."""


def export_segment_key(export: Export, frame_keys: Sequence[str]) -> str:
    """The key of a segment of ``export`` made of frames with ``frame_keys``, in order."""
    settings = export.settings
    extension = SEGMENT_EXTENSIONS[settings.format]
    encoder = segment_args(
        settings, export.timeline.fps, Path(f"segment.{extension}"), raw_rgb=True
    )
    return segment_key(frame_keys, encoder, ffmpeg_build())


def export_audio_key(export: Export, sample_rate: int) -> str:
    """The key of ``export``'s encoded soundtrack: only what the audio depends on."""
    extension, _ = AUDIO_CONTAINERS[export.settings.format]
    encoder = audio_args(export.settings, Path("soundtrack.wav"), Path(f"a.{extension}"))
    synthesis = "|".join(
        package_digest(p) for p in ("common.audio", "common.format", "common.timing")
    )
    return audio_key(
        export.project,
        export.timeline.start,
        export.timeline.duration,
        sample_rate,
        [*encoder, ffmpeg_build()],
        synthesis,
    )
