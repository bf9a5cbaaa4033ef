"""Audio benchmark: seconds of soundtrack rendered per second of wall time, against the frames.

Run from the repository root (either form works; the script puts the root on ``sys.path``)::

    .venv/bin/python bench/audio.py [--seconds S] [--repeats N] [--json PATH]
    .venv/bin/python -m bench.audio ...

Renders the first ``--seconds`` (default 30) of ``examples/dense.json`` and
``examples/song60.json`` at 48 kHz with :func:`common.audio.render_soundtrack`, ``--repeats``
times each (the median counts), and compares the time with what the frame renderer needs for
the same stretch at 60 fps: its end-to-end 1280x720 rate from ``bench/results/render.json``
(``docs/benchmarks.md``; 19 fps when that file is missing). Prints a Markdown table and writes
JSON to ``bench/results/audio.json`` by default.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from common.audio import render_soundtrack
from common.format.validation import load_project_file

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = (ROOT / "examples" / "dense.json", ROOT / "examples" / "song60.json")
RENDER_JSON = ROOT / "bench" / "results" / "render.json"
DEFAULT_JSON = ROOT / "bench" / "results" / "audio.json"
SAMPLE_RATE = 48000
VIDEO_FPS = 60
FALLBACK_FRAME_FPS = 19.0
"""End-to-end 1280x720 frames per second in docs/benchmarks.md."""


def frame_rate_720p() -> tuple[float, str]:
    """The frame renderer's end-to-end 720p rate and where the number came from."""
    try:
        result = json.loads(RENDER_JSON.read_text(encoding="utf-8"))
        fps = float(result["resolutions"]["1280×720"]["end_to_end"]["fps"])
    except (OSError, KeyError, ValueError):
        return FALLBACK_FRAME_FPS, "docs/benchmarks.md"
    return fps, str(RENDER_JSON.relative_to(ROOT))


def measure(path: Path, seconds: float, repeats: int, frame_fps: float) -> dict[str, Any]:
    project = load_project_file(path)
    walls = []
    audio = np.zeros((0, 2), dtype=np.float32)
    for _ in range(repeats):
        start = time.perf_counter()
        audio = render_soundtrack(project, 0.0, seconds, SAMPLE_RATE)
        walls.append(time.perf_counter() - start)
    wall = statistics.median(walls)
    frames_wall = seconds * VIDEO_FPS / frame_fps
    return {
        "project": str(path.relative_to(ROOT)),
        "tracks": len(project.audible_tracks),
        "notes": sum(len(track.notes) for track in project.tracks),
        "audio_seconds": seconds,
        "sample_rate": SAMPLE_RATE,
        "wall_seconds": wall,
        "all_wall_seconds": walls,
        "realtime_factor": seconds / wall,
        "frames_wall_seconds": frames_wall,
        "share_of_frames_time": wall / frames_wall,
        "peak": float(np.max(np.abs(audio))) if len(audio) else 0.0,
    }


def table(results: list[dict[str, Any]], frame_fps: float, source: str) -> str:
    lines = [
        f"Audio render, first {results[0]['audio_seconds']:g} s at {SAMPLE_RATE} Hz, stereo "
        f"(median of {len(results[0]['all_wall_seconds'])}); frames: {frame_fps:.1f} fps at "
        f"1280x720 end to end ({source}), {VIDEO_FPS} fps video",
        "",
        "| project | tracks | notes | wall | s of audio per s | frames' time | audio / frames |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['project']} | {r['tracks']} | {r['notes']:,} | {r['wall_seconds']:.2f} s "
            f"| {r['realtime_factor']:.1f} | {r['frames_wall_seconds']:.0f} s "
            f"| {100 * r['share_of_frames_time']:.1f} % |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="audio to render per project")
    parser.add_argument("--repeats", type=int, default=3, help="renders per project (median)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    frame_fps, source = frame_rate_720p()
    results = [measure(path, args.seconds, args.repeats, frame_fps) for path in PROJECTS]
    print(table(results, frame_fps, source))
    output = {
        "benchmark": "audio",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "frames_fps_720p": frame_fps,
        "frames_fps_source": source,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
