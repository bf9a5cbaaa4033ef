"""ffmpeg at the edge: each format's encoder arguments (one pass, segments, the join, the
soundtrack), frames streamed to its stdin under a wall-clock timeout, and probing what it wrote."""

from __future__ import annotations

import collections
import contextlib
import errno
import functools
import json
import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from common.errors import NotRetryable
from common.format.export_settings import ExportSettings, Preset, VideoFormat

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"
STDERR_TAIL_BYTES = 4096
"""How much of ffmpeg's stderr an EncodeError quotes (the end, where the reason is)."""
PROBE_TIMEOUT = 120.0
DISK_FULL_BYTES = 1 << 20
"""A disk with less free space than this is taken as full when a written file is unreadable."""

MIME_TYPES: dict[VideoFormat, str] = {
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "gif": "image/gif",
}

VP9_SPEED: dict[Preset, tuple[str, int]] = {
    "ultrafast": ("realtime", 8),
    "superfast": ("realtime", 7),
    "veryfast": ("good", 5),
    "faster": ("good", 4),
    "fast": ("good", 3),
    "medium": ("good", 2),
    "slow": ("good", 1),
    "slower": ("good", 0),
    "veryslow": ("good", 0),
    "placebo": ("best", 0),
}
"""x264 preset -> libvpx-vp9 (-deadline, -cpu-used). ``good`` takes cpu-used 0 (slowest) to 5;
only ``realtime`` goes faster (6-8), at a visible cost in size for the same crf; ``best`` is
libvpx's exhaustive search, fitting ``placebo``. At 640x360, 60 frames, crf 32 here: realtime/8
0.30 s 29 KB; good/5 0.61 s 18 KB; good/2 0.63 s 14 KB; good/0 1.31 s 14 KB."""

BITEXACT = ("-fflags", "+bitexact")
"""No random ids (WebM's SegmentUID) or version strings in the files: equal input, equal bytes."""
ENCODER_THREADS = 4
"""Threads of every encoder, pinned: x264's bitstream depends on its thread count, so an
automatic count would make the video's bytes depend on the machine."""

GIF_FILTER = (
    "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=5"
)


class EncodeError(NotRetryable):
    """ffmpeg failed, timed out, or wrote something other than the frames it was given."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What ffprobe reports about a file's first video stream."""

    frame_count: int
    width: int
    height: int
    fps: Fraction
    duration: float
    codec: str
    pix_fmt: str


AUDIO_CODECS: dict[str, list[str]] = {
    "mp4": ["-c:a", "aac", "-b:a", "192k"],
    "mov": ["-c:a", "aac", "-b:a", "256k"],
    "webm": ["-c:a", "libopus", "-b:a", "160k"],
}
"""AAC in MP4/MOV, Opus in WebM; GIF has no sound."""


def encode_args(
    settings: ExportSettings,
    fps: Fraction,
    output: Path,
    audio: Path | None = None,
    *,
    raw_rgb: bool = False,
) -> list[str]:
    """The ffmpeg command that encodes PNG frames (or, with ``raw_rgb``, packed RGB frames)
    read from stdin into ``output``.

    Every input frame becomes exactly one output frame (``-fps_mode passthrough``: nothing is
    duplicated or dropped) with timestamps ``i / fps`` in the exact rational rate, so mp4 and mov
    (time base 1/fps numerator) store the exact duration; webm stores milliseconds (within 1 ms).

    GIF cannot be exact: frame delays are whole hundredths of a second. ffmpeg rounds each
    timestamp to 1/100 s, so at 30 fps delays go 3, 4, 3 (the total stays within 0.01 s; 90
    frames probe as 3.01 s) and 30000/1001 probes as 30/1. Above 50 fps some delays become 1/100 s,
    which browsers and ffmpeg's own GIF demuxer replace by 10/100 s: 90 frames at 60 fps (delays
    2, 1, 2, ...) probe as 4.28 s instead of 1.5 s. Only rates dividing 100 (1, 2, 4, 5, 10, 20,
    25, 50) play exactly; above 50 fps a GIF plays slower than the song. The palette is built
    from what changes between frames (``stats_mode=diff``); ffmpeg 5.1 counts a pixel's colour
    only when a later frame changes it, so colours first shown in the last frame are left out of
    the palette and drawn with their nearest neighbours.
    """
    source = frames_source(settings, fps, raw_rgb=raw_rgb)
    if audio is not None:
        if settings.format not in AUDIO_CODECS:
            raise EncodeError(f"{settings.format} cannot carry audio")
        # The soundtrack is rendered to exactly the video's length; -shortest only guards
        # against an encoder's padding of the last audio frame.
        source += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0"]
        source += [*AUDIO_CODECS[settings.format], "-shortest"]
    return [
        FFMPEG,
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *source,
        "-fps_mode",
        "passthrough",
        *codec_args(settings),
        str(output),
    ]


def frames_source(settings: ExportSettings, fps: Fraction, *, raw_rgb: bool) -> list[str]:
    """The input side: PNG frames (or packed 8-bit RGB frames) on stdin at the exact rate."""
    rate = f"{fps.numerator}/{fps.denominator}"
    if raw_rgb:
        size = f"{settings.width}x{settings.height}"
        return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", size, "-framerate", rate, "-i", "-"]
    return ["-f", "image2pipe", "-framerate", rate, "-c:v", "png", "-i", "-"]


def codec_args(settings: ExportSettings, *, segment: bool = False) -> list[str]:
    """Codec, quality and muxer options of one format (the muxer is named, not guessed).

    Every option that changes the bitstream is pinned, the encoder's thread count included
    (x264's output depends on it), so equal frames give equal bytes on any machine with the same
    ffmpeg build. A ``segment`` is a part of the video to be joined later: no faststart.
    """
    crf = str(settings.crf)
    threads = ("-threads", str(ENCODER_THREADS))
    if settings.format == "mp4":
        layout = () if segment else ("-movflags", "+faststart")
        return [
            *("-c:v", "libx264", "-preset", settings.preset, "-crf", crf, *threads),
            *("-pix_fmt", "yuv420p", *layout, "-f", "mp4"),
        ]
    if settings.format == "webm":
        deadline, cpu_used = VP9_SPEED[settings.preset]
        return [
            *("-c:v", "libvpx-vp9", "-crf", crf, "-b:v", "0", "-pix_fmt", "yuv420p", *threads),
            *("-row-mt", "1", "-deadline", deadline, "-cpu-used", str(cpu_used), "-f", "webm"),
        ]
    if settings.format == "mov":
        return [
            *("-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le", *threads),
            *("-vendor", "apl0", "-f", "mov"),
        ]
    return ["-filter_complex", GIF_FILTER, "-loop", "0", "-f", "gif"]


SEGMENT_EXTENSIONS: dict[VideoFormat, str] = {"mp4": "mp4", "webm": "webm", "mov": "mov"}
AUDIO_CONTAINERS: dict[VideoFormat, tuple[str, str]] = {
    "mp4": ("m4a", "mp4"),
    "mov": ("m4a", "mp4"),
    "webm": ("webm", "webm"),
}
"""The soundtrack's file for each format: extension and muxer (AAC in MP4, Opus in WebM)."""


def segment_args(
    settings: ExportSettings, fps: Fraction, output: Path, *, raw_rgb: bool
) -> list[str]:
    """Encode one segment from frames on stdin: it starts with a keyframe and depends on no
    other segment (closed GOP). MP4/MOV tick at 1/fps numerator, so every timestamp is exact."""
    return [
        *(FFMPEG, "-hide_banner", "-loglevel", "error", "-y"),
        *frames_source(settings, fps, raw_rgb=raw_rgb),
        *("-fps_mode", "passthrough", "-an", *BITEXACT),
        *codec_args(settings, segment=True),
        *_timescale(settings, fps),
        str(output),
    ]


def join_args(
    settings: ExportSettings,
    fps: Fraction,
    listing: Path,
    output: Path,
    audio: Path | None = None,
) -> list[str]:
    """Join the segments listed in ``listing`` (ffmpeg's concat format) without re-encoding,
    with the encoded soundtrack copied beside them.

    Each segment's timestamps start at 0; the concat demuxer offsets them by the previous
    segments' durations, which containers round (MP4's movie time is in milliseconds). The
    ``setts`` filter then sets every packet's time from its index alone, keeping each packet's
    own presentation delay (B-frames), so frame i shows at exactly i / fps.
    """
    tick = f"round(N*{fps.denominator}/({fps.numerator}*TB))"
    stamps = f"setts=dts=STARTDTS+{tick}:pts=STARTDTS+{tick}+PTS-DTS"
    inputs = ["-f", "concat", "-safe", "0", "-i", str(listing)]
    maps = ["-map", "0:v:0"]
    if audio is not None:
        if settings.format not in AUDIO_CONTAINERS:
            raise EncodeError(f"{settings.format} cannot carry audio")
        inputs += ["-i", str(audio)]
        maps += ["-map", "1:a:0"]  # exactly the video's length already: nothing to cut
    layout = ["-movflags", "+faststart"] if settings.format == "mp4" else []
    return [
        *(FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *inputs, *maps),
        *("-c", "copy", "-bsf:v", stamps, *layout, *_timescale(settings, fps), *BITEXACT),
        *("-f", settings.format, str(output)),
    ]


def audio_args(settings: ExportSettings, wav: Path, output: Path) -> list[str]:
    """Encode the soundtrack once, ahead of the join, so the join only copies it."""
    _, muxer = AUDIO_CONTAINERS[settings.format]
    return [
        *(FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav), "-vn"),
        *AUDIO_CODECS[settings.format],
        *(*BITEXACT, "-f", muxer, str(output)),
    ]


def _timescale(settings: ExportSettings, fps: Fraction) -> list[str]:
    return ["-video_track_timescale", str(fps.numerator)] if settings.format != "webm" else []


def run(args: list[str], timeout: float) -> None:
    """Run an ffmpeg command that reads no frames (join, audio); EncodeError if it fails."""
    run_encoder(args, (), timeout)


def run_encoder(args: list[str], frames: Iterable[bytes], timeout: float) -> None:
    """Run ``args`` with each frame written to its stdin in turn; wait for it to finish.

    The process is killed ``timeout`` seconds after it starts (a blocking pipe cannot be
    interrupted by the task queue's time limit). An exception from ``frames`` kills it too and
    propagates as it is.
    """
    encoder = EncoderProcess(args, timeout)
    try:
        for frame in frames:
            if not encoder.write(frame):
                break
    except BaseException:
        encoder.kill()
        raise
    encoder.finish()


class EncoderProcess:
    """An encoder that takes its frames as the caller makes them: ``write`` each (from the
    caller's own thread, no hand-over), then ``finish``; ``kill`` abandons it. Killed once
    ``timeout`` seconds have passed since it started."""

    def __init__(self, args: list[str], timeout: float) -> None:
        try:
            self._process = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as error:
            raise EncodeError(f"cannot start {args[0]}: {error}") from error
        assert self._process.stdin is not None and self._process.stderr is not None
        self._program = args[0]
        self._stdin = self._process.stdin
        self._stderr = _TailReader(self._process.stderr, STDERR_TAIL_BYTES)
        self._watchdog = _Watchdog(self._process, timeout)
        self._complete = True

    def write(self, frame: bytes) -> bool:
        """False once the encoder has stopped reading (it exited or was killed)."""
        if not self._complete:
            return False
        try:
            self._stdin.write(frame)
        except BrokenPipeError:
            self._complete = False
        return self._complete

    def finish(self) -> None:
        """End the input, wait, and raise EncodeError unless it wrote every frame it took."""
        try:
            if self._complete:
                try:
                    self._stdin.close()
                except BrokenPipeError:
                    self._complete = False
            self._process.wait()
        finally:
            self._close()
        _check_outcome(
            self._program,
            self._process.returncode,
            self._complete,
            self._watchdog,
            self._stderr.text(),
        )

    def kill(self) -> None:
        self._close()

    def _close(self) -> None:
        self._watchdog.cancel()
        _stop(self._process)
        self._stderr.join()


def probe(path: Path, *, decode: bool = True) -> VideoInfo:
    """ffprobe's view of the first video stream of ``path``.

    ``decode`` counts frames by decoding them all (``nb_read_frames``, the truth); otherwise
    packets are counted (``nb_read_packets``): demuxing only, far faster on a long video, and
    one packet per frame for every format written here.
    """
    counting = "-count_frames" if decode else "-count_packets"
    entries = (
        "stream=codec_name,width,height,pix_fmt,r_frame_rate,avg_frame_rate,duration,"
        "nb_read_frames,nb_read_packets:format=duration"
    )
    args = [FFPROBE, "-v", "error", "-select_streams", "v:0", counting]
    args += ["-show_entries", entries, "-of", "json", str(path)]
    try:
        done = subprocess.run(args, capture_output=True, timeout=PROBE_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EncodeError(f"cannot probe {path}: {error}") from error
    if done.returncode != 0:
        if NO_SPACE in _decode_tail(done.stderr) or _disk_full(path):
            raise DiskFull("ffmpeg")  # what it wrote was cut short: the disk, not the codec
        raise EncodeError(f"ffprobe failed on {path}: {_decode_tail(done.stderr)}")
    return _video_info(json.loads(done.stdout), path)


def _disk_full(path: Path) -> bool:
    """Whether the disk that holds ``path`` is (nearly) full: a truncated file's likely cause."""
    try:
        return shutil.disk_usage(path.parent).free < DISK_FULL_BYTES
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the process if it still runs, reap it, and close our end of its stdin."""
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stdin is not None:
        with contextlib.suppress(BrokenPipeError):  # unflushed frames for a process now gone
            process.stdin.close()


class DiskFull(OSError):  # noqa: N818 (reads as what happened)
    """ffmpeg (or ffprobe, on what it left) ran out of disk: said in plain words, and an OSError
    with ENOSPC like any other write that hits a full disk (worth a retry elsewhere)."""

    def __init__(self, program: str) -> None:
        super().__init__(errno.ENOSPC, f"no space left on device (while {program} wrote)")


NO_SPACE = "No space left on device"


def _check_outcome(
    program: str, returncode: int, complete: bool, watchdog: _Watchdog, stderr: str
) -> None:
    if NO_SPACE in stderr:
        raise DiskFull(program)
    detail = f": {stderr}" if stderr else ""
    if watchdog.fired:
        raise EncodeError(f"{program} timed out after {watchdog.timeout:g} s{detail}")
    if returncode != 0:
        raise EncodeError(f"{program} failed (exit status {returncode}){detail}")
    if not complete:
        raise EncodeError(f"{program} stopped reading frames before the last one{detail}")


def _video_info(data: dict[str, Any], path: Path) -> VideoInfo:
    streams = data.get("streams") or []
    if not streams:
        raise EncodeError(f"{path} has no video stream")
    stream: dict[str, Any] = streams[0]
    count = stream.get("nb_read_frames", stream.get("nb_read_packets"))
    if count is None:
        raise EncodeError(f"ffprobe did not count the frames of {path}")
    duration = stream.get("duration", data.get("format", {}).get("duration"))
    rate = stream.get("avg_frame_rate", "0/0")
    if rate.endswith("/0"):
        rate = stream["r_frame_rate"]
    try:
        return VideoInfo(
            frame_count=int(count),
            width=int(stream["width"]),
            height=int(stream["height"]),
            fps=Fraction(rate),
            duration=float(duration),
            codec=str(stream["codec_name"]),
            pix_fmt=str(stream["pix_fmt"]),
        )
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        raise EncodeError(f"ffprobe's report on {path} is incomplete: {error!r}") from error


def _decode_tail(raw: bytes) -> str:
    return raw[-STDERR_TAIL_BYTES:].decode("utf-8", "replace").strip()


class _TailReader:
    """Drains a pipe on its own thread (so the child never blocks on it), keeping the tail."""

    def __init__(self, pipe: IO[bytes], limit: int) -> None:
        self._pipe = pipe
        self._chunks: collections.deque[bytes] = collections.deque()
        self._limit = limit
        self._size = 0
        self._thread = threading.Thread(target=self._drain, name="ffmpeg-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        for chunk in iter(lambda: self._pipe.read(self._limit), b""):
            self._chunks.append(chunk)
            self._size += len(chunk)
            while self._size - len(self._chunks[0]) >= self._limit:
                self._size -= len(self._chunks.popleft())
        self._pipe.close()

    def join(self) -> None:
        self._thread.join()

    def text(self) -> str:
        return _decode_tail(b"".join(self._chunks))


class _Watchdog:
    """Kills a process once ``timeout`` seconds have passed, unless cancelled first."""

    def __init__(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        self.timeout = timeout
        self.fired = False
        self._process = process
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        if self._process.poll() is None:
            self.fired = True
            self._process.kill()

    def cancel(self) -> None:
        self._timer.cancel()


@functools.cache
def ffmpeg_build() -> str:
    """ffmpeg's version line, for cache keys: another build may encode other bytes."""
    try:
        done = subprocess.run(
            [FFMPEG, "-version"], check=False, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EncodeError(f"cannot run {FFMPEG} -version: {error}") from error
    lines = done.stdout.splitlines()
    return lines[0] if lines else "unknown"
