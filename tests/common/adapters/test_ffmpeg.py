"""The encoder's arguments per format, and what real ffmpeg makes of them (checked by ffprobe)."""

from __future__ import annotations

import contextlib
import itertools
import time
import typing
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from common.adapters.ffmpeg import (
    VP9_SPEED,
    EncodeError,
    encode_args,
    probe,
    run_encoder,
)
from common.format.export_settings import Preset
from tests.stitcher.media import HEIGHT, WIDTH, frame_png, markers, settings

NTSC = Fraction(30000, 1001)
FRAMES = 30


def encode(tmp_path: Path, fmt: str, fps: int | str = "30000/1001", count: int = FRAMES) -> Path:
    export = settings(fmt, fps)
    output = tmp_path / f"out.{fmt}"
    frames = (frame_png(i) for i in range(count))
    run_encoder(encode_args(export, export.frame_rate, output), frames, timeout=30)
    return output


def follows(args: list[str], *pairs: tuple[str, str]) -> bool:
    """Every (option, value) pair appears in ``args`` as consecutive items."""
    adjacent = set(itertools.pairwise(args))
    return all(pair in adjacent for pair in pairs)


# --- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mp4", "webm", "mov", "gif"])
def test_every_format_reads_pngs_from_stdin_and_keeps_every_frame(fmt: str) -> None:
    args = encode_args(settings(fmt), NTSC, Path("/tmp/out"))
    assert args[0] == "ffmpeg" and "-y" in args and args[-1] == "/tmp/out"
    assert follows(
        args,
        ("-f", "image2pipe"),
        ("-framerate", "30000/1001"),
        ("-c:v", "png"),
        ("-i", "-"),
        ("-fps_mode", "passthrough"),
        ("-f", fmt),
    )


def test_mp4_is_h264_yuv420p_with_faststart() -> None:
    args = encode_args(settings("mp4", preset="slow", crf=23), NTSC, Path("o.mp4"))
    assert follows(
        args,
        ("-c:v", "libx264"),
        ("-preset", "slow"),
        ("-crf", "23"),
        ("-pix_fmt", "yuv420p"),
        ("-movflags", "+faststart"),
    )


def test_webm_is_constant_quality_vp9_with_the_preset_as_speed() -> None:
    args = encode_args(settings("webm", preset="medium", crf=31), NTSC, Path("o.webm"))
    assert follows(
        args,
        ("-c:v", "libvpx-vp9"),
        ("-crf", "31"),
        ("-b:v", "0"),
        ("-pix_fmt", "yuv420p"),
        ("-row-mt", "1"),
        ("-deadline", "good"),
        ("-cpu-used", "2"),
    )


def test_every_preset_has_a_vp9_speed_that_never_gets_faster_as_presets_get_slower() -> None:
    presets = typing.get_args(Preset)
    assert set(VP9_SPEED) == set(presets)
    rank = {"realtime": 0, "good": 1, "best": 2}
    effort = [(rank[VP9_SPEED[p][0]], -VP9_SPEED[p][1]) for p in presets]
    assert effort == sorted(effort)


def test_mov_is_prores_hq_10_bit_422() -> None:
    args = encode_args(settings("mov"), NTSC, Path("o.mov"))
    assert follows(
        args,
        ("-c:v", "prores_ks"),
        ("-profile:v", "3"),
        ("-pix_fmt", "yuv422p10le"),
        ("-vendor", "apl0"),
    )


def test_gif_builds_its_palette_in_the_same_command_and_loops() -> None:
    args = encode_args(settings("gif"), NTSC, Path("o.gif"))
    graph = args[args.index("-filter_complex") + 1]
    assert "palettegen=stats_mode=diff" in graph and "paletteuse=dither=bayer" in graph
    assert follows(args, ("-loop", "0"))


# --- what ffmpeg writes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "codec", "pix_fmt", "tolerance"),
    [
        ("mp4", "h264", "yuv420p", 1e-6),
        ("mov", "prores", "yuv422p10le", 1e-6),
        ("webm", "vp9", "yuv420p", 1e-3),  # Matroska stores milliseconds
    ],
)
def test_video_has_every_frame_at_the_exact_rate(
    tmp_path: Path, fmt: str, codec: str, pix_fmt: str, tolerance: float
) -> None:
    info = probe(encode(tmp_path, fmt))
    assert (info.frame_count, info.width, info.height) == (FRAMES, WIDTH, HEIGHT)
    assert (info.codec, info.pix_fmt) == (codec, pix_fmt)
    assert info.fps == NTSC
    assert info.duration == pytest.approx(float(FRAMES / NTSC), abs=tolerance)


@pytest.mark.parametrize("fmt", ["mp4", "webm", "mov"])
def test_frames_come_out_in_the_order_they_went_in(tmp_path: Path, fmt: str) -> None:
    assert markers(encode(tmp_path, fmt)) == list(range(FRAMES))


def test_gif_frames_keep_their_order_but_the_last_frames_new_colours_are_approximated(
    tmp_path: Path,
) -> None:
    """palettegen's diff mode (ffmpeg 5.1) counts a pixel's colour only when it changes later:
    a grey first shown in the last frame is not in the palette and maps to a neighbour."""
    shown = markers(encode(tmp_path, "gif"))
    assert shown[:-1] == list(range(FRAMES - 1))
    assert shown[-1] in (FRAMES - 2, FRAMES - 1)


def test_counting_packets_agrees_with_decoding(tmp_path: Path) -> None:
    video = encode(tmp_path, "webm")
    assert probe(video, decode=False) == probe(video, decode=True)


def test_gif_at_30_fps_has_every_frame_within_a_hundredth_of_a_second(tmp_path: Path) -> None:
    info = probe(encode(tmp_path, "gif", fps=30))
    assert (info.frame_count, info.codec) == (FRAMES, "gif")
    assert abs(info.duration - FRAMES / 30) <= 0.01 + 1e-9  # 1.01 s here
    assert abs(info.fps - 30) < 0.3  # delays of 3 and 4 hundredths: 29.75 on average here


def test_gif_at_50_fps_is_exact(tmp_path: Path) -> None:
    info = probe(encode(tmp_path, "gif", fps=50))
    assert (info.frame_count, info.fps) == (FRAMES, Fraction(50))
    assert info.duration == pytest.approx(FRAMES / 50, abs=1e-9)


def test_gif_above_50_fps_keeps_every_frame_but_plays_slower(tmp_path: Path) -> None:
    """The documented limitation: 1/100 s delays are read as 1/10 s by players and ffprobe."""
    info = probe(encode(tmp_path, "gif", fps=60))
    assert info.frame_count == FRAMES
    assert info.duration > 1.5 * FRAMES / 60


# --- running the encoder ---------------------------------------------------------------------


def test_a_stalled_frame_source_times_out(tmp_path: Path) -> None:
    args = encode_args(settings("mp4"), NTSC, tmp_path / "o.mp4")
    killed_while_stalled: list[bool] = []

    def stalling() -> Iterator[bytes]:
        yield frame_png(0)
        # Stall until the encoder is gone: the timeout must not wait for the source to resume.
        killed_while_stalled.append(wait_until(lambda: not processes_running(args), 120))
        yield frame_png(1)

    with pytest.raises(EncodeError, match=r"timed out after 0\.3 s"):
        run_encoder(args, stalling(), timeout=0.3)
    assert killed_while_stalled == [True]


def wait_until(condition: typing.Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition``; False if it still fails after ``timeout`` s (only catches hangs)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_hung_encoder_is_killed_at_the_timeout() -> None:
    command = ["sleep", "600.25"]  # a duration no other process on the machine uses
    with pytest.raises(EncodeError, match=r"sleep timed out after 0\.2 s"):
        run_encoder(command, [], timeout=0.2)
    assert not processes_running(command)  # killed, not left behind or waited for


def processes_running(command: list[str]) -> list[int]:
    """Pids whose command line is exactly ``command`` (read from /proc)."""
    wanted = "\0".join(command).encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "cmdline").read_bytes() == wanted:
                    found.append(int(entry.name))
    return found


def test_an_encoder_that_dies_reports_its_own_message(tmp_path: Path) -> None:
    args = encode_args(settings("mp4"), NTSC, tmp_path / "o.mp4")
    args[args.index("libx264")] = "no_such_encoder"
    frames = (frame_png(i % FRAMES) for i in range(2000))
    with pytest.raises(EncodeError, match=r"failed \(exit status \d+\): .*no_such_encoder"):
        run_encoder(args, frames, timeout=30)


def test_frames_that_are_not_png_fail_the_encode(tmp_path: Path) -> None:
    args = encode_args(settings("mp4"), NTSC, tmp_path / "o.mp4")
    with pytest.raises(EncodeError, match="failed"):
        run_encoder(args, [b"not a png" * 1000] * 3, timeout=30)


def test_an_error_from_the_frame_source_propagates_unchanged(tmp_path: Path) -> None:
    def failing() -> Iterator[bytes]:
        yield frame_png(0)
        raise LookupError("frame 1 is gone")

    args = encode_args(settings("mp4"), NTSC, tmp_path / "o.mp4")
    with pytest.raises(LookupError, match="frame 1 is gone"):
        run_encoder(args, failing(), timeout=30)


def test_a_missing_program_is_an_encode_error() -> None:
    with pytest.raises(EncodeError, match="cannot start"):
        run_encoder(["/nonexistent/ffmpeg"], [], timeout=1)


def test_probing_a_file_that_is_no_video_is_an_encode_error(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(EncodeError, match="ffprobe failed"):
        probe(path)
