"""The direct exporter (framefarm/direct.py), the farm's baseline: exact frame count, size and
rate, and the same video as the farm's from the same renderer and codec settings.

Both pipelines hand x264 the same rgb24 pixels (raw on a pipe here, PNGs decoded by ffmpeg in the
stitcher) with the same arguments, so the encoder makes the same decisions: measured here, the
H.264 streams are byte-identical, not merely close (PSNR infinite, mean absolute difference 0).
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from common.config import Limits
from common.errors import InvalidInput
from common.format.validation import Export, validate_export
from common.jobs.state import Phase
from framefarm.direct import render_direct
from framefarm.render import render_video
from tests.integration.helpers import EXAMPLES, ffprobe

pytestmark = pytest.mark.integration

DEMO: dict[str, Any] = json.loads((EXAMPLES / "demo.json").read_text())
SETTINGS: dict[str, Any] = {
    "width": 160,
    "height": 90,
    "fps": "24000/1001",
    "endBeat": 4,
    "audio": False,
}
FPS = Fraction(24000, 1001)
FRAMES = 48  # 2 s at 23.976 fps: ceil(47.95)


def decoded_frames(video: Path, width: int, height: int) -> npt.NDArray[np.uint8]:
    """Every frame of ``video`` decoded by ffmpeg to rgb24, as (frames, height, width, 3)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def h264_stream(video: Path) -> bytes:
    """The video's H.264 elementary stream, without the container."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:v", "-c", "copy", "-f", "h264", "-"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


def exported(settings: dict[str, Any]) -> Export:
    """The demo with ``settings``, validated as the CLI does before it renders."""
    return validate_export(DEMO, settings, Limits())


def psnr(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_direct_export_has_every_frame_at_the_asked_size_and_rate(tmp_path: Path) -> None:
    video = tmp_path / "direct.mp4"
    seen: list[int] = []

    result = render_direct(exported(SETTINGS), video, on_frame=seen.append)

    assert result.output == video
    assert result.frame_count == FRAMES
    assert result.size_bytes == video.stat().st_size > 0
    assert result.duration_seconds == pytest.approx(float(FRAMES / FPS))
    assert seen == list(range(1, FRAMES + 1))
    probe = ffprobe(video)
    assert (probe.frame_count, probe.width, probe.height) == (FRAMES, 160, 90)
    assert probe.fps == FPS
    assert probe.duration == pytest.approx(float(FRAMES / FPS), abs=1e-3)
    assert probe.codec == "h264"
    assert not list(tmp_path.glob(".*.part"))


def test_direct_export_is_the_farms_video(tmp_path: Path) -> None:
    """One segment (2 s): the same pixels into the same pinned x264 give the same bitstream."""
    direct, farm = tmp_path / "direct.mp4", tmp_path / "farm.mp4"
    render_direct(exported(SETTINGS), direct)
    final = render_video(exported(SETTINGS), farm, chunk_frames=12, timeout=120)
    assert final.phase is Phase.COMPLETE and final.chunk_count == 4

    ours, theirs = decoded_frames(direct, 160, 90), decoded_frames(farm, 160, 90)
    assert ours.shape == theirs.shape == (FRAMES, 90, 160, 3)
    difference = np.abs(ours.astype(np.int16) - theirs.astype(np.int16))
    assert psnr(ours, theirs) > 40, f"mean abs diff {difference.mean():.3f}"
    assert difference.max() == 0  # same pixels into the same x264: the same decoded frames
    assert h264_stream(direct) == h264_stream(farm)  # ... and the same bitstream
    assert len({frame.tobytes() for frame in ours}) > 1  # the frames are not all alike


def test_a_segmented_farm_export_shows_the_direct_exports_frames(tmp_path: Path) -> None:
    """Four segments, each opening with a keyframe: another bitstream, the same pictures."""
    direct, farm = tmp_path / "direct.mp4", tmp_path / "farm.mp4"
    render_direct(exported(SETTINGS), direct)
    render_video(exported(SETTINGS), farm, chunk_frames=12, segment_seconds=0.5, timeout=120)
    ours, theirs = decoded_frames(direct, 160, 90), decoded_frames(farm, 160, 90)
    assert ours.shape == theirs.shape == (FRAMES, 90, 160, 3)
    assert h264_stream(direct) != h264_stream(farm)
    worst = min(psnr(a, b) for a, b in zip(ours, theirs, strict=True))
    assert worst > 38, f"the least alike frame: {worst:.1f} dB"


def test_direct_export_muxes_the_soundtrack(tmp_path: Path) -> None:
    video = tmp_path / "direct.mp4"
    render_direct(exported({**SETTINGS, "audio": True}), video)

    streams = json.loads(
        subprocess.run(
            [
                *("ffprobe", "-v", "error", "-of", "json", str(video)),
                *("-show_entries", "stream=codec_type,codec_name,duration"),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    )["streams"]
    by_type = {s["codec_type"]: s for s in streams}
    assert by_type["video"]["codec_name"] == "h264"
    assert by_type["audio"]["codec_name"] == "aac"
    assert float(by_type["audio"]["duration"]) == pytest.approx(float(FRAMES / FPS), abs=0.05)


def test_invalid_settings_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    video = tmp_path / "direct.mp4"
    with pytest.raises(InvalidInput) as raised:
        render_direct(exported({**SETTINGS, "width": 15}), video)
    assert [issue.path for issue in raised.value.issues] == ["settings.width"]
    assert not list(tmp_path.iterdir())
