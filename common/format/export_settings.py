"""Export settings: what video to make of a project (size, rate, codec, range)."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from common.format.strict import NonNegative, StrictModel
from common.timing.framerate import FPS_PATTERN, parse_fps

VideoFormat = Literal["mp4", "webm", "mov", "gif"]
Preset = Literal[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
]
CRF_RANGE: dict[str, tuple[int, int]] = {"mp4": (0, 51), "webm": (0, 63)}
"""crf applies to H.264 (mp4) and VP9 (webm); ProRes (mov) and GIF have no crf."""
GIF_EXACT_FPS = (1, 2, 4, 5, 10, 20, 25, 50)
"""Frame rates a GIF plays exactly: its frame delays are whole hundredths of a second."""
SEGMENTED_FORMATS = ("mp4", "webm", "mov")
"""Formats encoded in segments joined without re-encoding; GIF needs one palette for the whole
video, so it is encoded in one pass."""
CHROMA_SUBSAMPLED_FORMATS = ("mp4", "webm", "mov")
"""Formats whose pixel format (yuv420p, yuv422p10) halves chroma width: width must be even."""


def _fps(value: object) -> str | int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError(
            "fps_type", "expected an integer or a rational string like '30000/1001'"
        )
    try:
        parse_fps(value)
    except ValueError as error:
        message = str(error).split(", got ")[0]  # the issue shows the value itself
        raise PydanticCustomError("fps_value", message) from None
    return value


Fps = Annotated[
    int | str,
    PlainValidator(_fps),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": FPS_PATTERN},
            ]
        },
        mode="validation",
    ),
]


class ExportSettings(StrictModel):
    """Export settings as the app sends them beside the project."""

    width: Annotated[int, Field(ge=16)] = 1280
    height: Annotated[int, Field(ge=16)] = 720
    fps: Fps = 60
    format: VideoFormat = "mp4"
    crf: Annotated[int, Field(ge=0, le=63)] = 18
    preset: Preset = "medium"
    audio: bool = True
    start_beat: NonNegative = 0.0
    end_beat: Annotated[float, Field(gt=0)] | None = None
    cache: Annotated[
        bool,
        Field(
            description="reuse frames, segments and the soundtrack of earlier exports whose "
            "inputs are equal (false: render and encode everything, and store nothing in the "
            "cache); the video is the same bytes either way"
        ),
    ] = True

    @property
    def frame_rate(self) -> Fraction:
        return parse_fps(self.fps)


def wants_audio(settings: ExportSettings) -> bool:
    """A soundtrack is rendered and muxed when asked for and the format can carry one."""
    return settings.audio and settings.format != "gif"
