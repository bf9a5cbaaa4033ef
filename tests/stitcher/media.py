"""Test media for the stitcher: numbered PNG frames, stored jobs, and reading frames back."""

from __future__ import annotations

import hashlib
import json
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from common.adapters.storage import ObjectStore
from common.config import Limits
from common.format.export_settings import ExportSettings
from common.format.validation import parse_settings, validate_export
from common.jobs import records
from common.jobs.chunks import ChunkPlan, plan_chunks, plan_segments
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest, FrameRecord
from common.jobs.spec import JobSpec
from farm_worker.png import encode_png
from tests.factories import project_data

WIDTH, HEIGHT = 64, 36
MARKER_STEP = 8
"""Frame i's left half is flat grey 8 + 8 i: survives lossy codecs, readable up to frame 30."""
JOB_ID = "stitchtest-0001"


def settings_data(fmt: str = "mp4", fps: int | str = "30000/1001", **extra: Any) -> dict[str, Any]:
    """Settings JSON for a 64x36 export of the first second (two beats at 120 bpm)."""
    data = {"width": WIDTH, "height": HEIGHT, "fps": fps, "format": fmt, "crf": 18, "audio": False}
    return {**data, "preset": "veryfast", "endBeat": 2, **extra}


def settings(fmt: str = "mp4", fps: int | str = "30000/1001", **extra: Any) -> ExportSettings:
    return parse_settings(settings_data(fmt, fps, **extra))


def frame_image(index: int) -> npt.NDArray[np.uint8]:
    """Left half: the index as a flat grey; right half: a white square moving right."""
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[:, : WIDTH // 2] = MARKER_STEP + MARKER_STEP * index
    x = WIDTH // 2 + (index * 3) % (WIDTH // 2 - 8)
    image[14:22, x : x + 8] = 255
    return image


def frame_png(index: int) -> bytes:
    return encode_png(frame_image(index))


def markers(path: Path) -> list[int]:
    """The frame index read back from each frame of a video, decoding it with ffmpeg.

    ``passthrough`` here too: rawvideo is a constant-rate muxer, and GIF's rounded delays
    would otherwise have ffmpeg drop and duplicate frames while decoding.
    """
    raw = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-i", str(path), "-fps_mode", "passthrough"),
            *("-f", "rawvideo", "-pix_fmt", "rgb24", "-"),
        ],
        capture_output=True,
        check=True,
    ).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)
    grey = frames[:, 4:-4, 4 : WIDTH // 2 - 4].astype(np.float64).mean(axis=(1, 2, 3))
    return [round(value / MARKER_STEP) - 1 for value in grey]


def store_spec(
    store: ObjectStore,
    settings_json: dict[str, Any],
    chunk_frames: int = 12,
    segment_frames: int = 0,
) -> JobSpec:
    """A job's spec.json as the coordinator writes it (with a segment grid if asked)."""
    project = project_data()
    export = validate_export(project, settings_json, Limits())
    chunks = tuple(plan_chunks(export.frame_count, chunk_frames))
    segments = tuple(plan_segments(export.frame_count, segment_frames))
    spec = JobSpec(
        JOB_ID, project, settings_json, export.frame_count, chunks, 0.0, segments=segments
    )
    store.put(JobKeys(JOB_ID).spec, records.dump(spec), "application/json")
    return spec


def store_chunk(store: ObjectStore, chunk: ChunkPlan, frames: range | None = None) -> None:
    """A chunk's frames, then its manifest, as a render worker commits them."""
    keys = JobKeys(JOB_ID)
    frame_records = []
    for index in chunk.frames if frames is None else frames:
        png = frame_png(index)
        store.put(keys.frame(index), png, "image/png")
        frame_records.append(
            FrameRecord(index, keys.frame(index), hashlib.sha256(png).hexdigest(), len(png))
        )
    manifest = ChunkManifest(
        JOB_ID, chunk.index, chunk.first_frame, tuple(frame_records), 0.1, "test", "test-worker"
    )
    store.put(keys.chunk_manifest(chunk.index), records.dump(manifest), "application/json")


def store_job(
    store: ObjectStore,
    settings_json: dict[str, Any],
    chunk_frames: int = 12,
    segment_frames: int = 0,
) -> JobSpec:
    """A job whose every chunk is committed: ready to stitch (or, with a grid, to encode)."""
    spec = store_spec(store, settings_json, chunk_frames, segment_frames)
    for chunk in spec.chunks:
        store_chunk(store, chunk)
    return spec


def decoded_frames(video: Path, width: int = WIDTH, height: int = HEIGHT) -> npt.NDArray[np.uint8]:
    """Every frame of ``video`` decoded to rgb24, one per stored frame: (frames, h, w, 3)."""
    raw = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-i", str(video), "-fps_mode", "passthrough"),
            *("-f", "rawvideo", "-pix_fmt", "rgb24", "-"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def psnr(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def frame_times(video: Path) -> tuple[list[Fraction], list[int]]:
    """Each frame's presentation time in seconds (exact, from the stream's time base), in
    presentation order, and the indices of the key frames."""
    out = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-select_streams", "v:0", "-of", "json"),
            *("-show_entries", "frame=pts,key_frame:stream=time_base", str(video)),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    data = json.loads(out)
    base = Fraction(data["streams"][0]["time_base"])
    frames = sorted(data["frames"], key=lambda f: int(f["pts"]))
    times = [int(f["pts"]) * base for f in frames]
    return times, [i for i, f in enumerate(frames) if f["key_frame"]]
