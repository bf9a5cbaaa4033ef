"""Renderer benchmark: per-stage frame times at 360p, 720p and 1080p, and peak RSS over many frames.

Run from the repository root (either form works; the script puts the root on ``sys.path``)::

    .venv/bin/python bench/render.py [--frames N] [--rss-frames N] [--quick] [--json PATH]
    .venv/bin/python -m bench.render ...

Every GL stage is timed with ``time.perf_counter`` and ends with ``ctx.finish()`` (GL is
asynchronous), so each number is the stage's own cost. The RSS run renders and encodes
``--rss-frames`` frames at 1280x720 in a fresh process, so its peak is a worker's, not this
script's. Prints Markdown tables; writes JSON to ``bench/results/render.json`` by default.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import math
import os
import platform
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from fractions import Fraction
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import moderngl
import numpy as np
import numpy.typing as npt

from bench.report import run_benchmark
from common.format.project import Project
from common.format.validation import load_project_file
from common.scene.visuals import SceneModel
from common.timing.exact import to_fraction
from farm_worker import png
from farm_worker.gl import create_context, describe
from farm_worker.renderer import FrameRenderer, as_image

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.json"
DENSE = ROOT / "examples" / "dense.json"
DEFAULT_JSON = ROOT / "bench" / "results" / "render.json"
FPS = 60
RESOLUTIONS: tuple[tuple[int, int], ...] = ((640, 360), (1280, 720), (1920, 1080))
RSS_SIZE = (1280, 720)
RSS_CHECKPOINT = 100
"""RSS is read after this frame and after the last: the difference shows any leak."""

Image = npt.NDArray[np.uint8]
Encoder = Callable[[Image], bytes]
Summary = dict[str, float]

STAGE_LABELS = {
    "scene_state": "scene state (SceneModel.at)",
    "scene_pass": "scene pass (MSAA as react-postprocessing + resolve)",
    "bloom": "bloom (mipmap blur)",
    "output_pass": "output pass (tone map + sRGB)",
    "readback": "readback (RGB, 1 alignment)",
}


class Stopwatch:
    """Collects per-stage durations; each ends with ``ctx.finish()`` so GL work is counted."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.samples: defaultdict[str, list[float]] = defaultdict(list)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.ctx.finish()
        self.samples[stage].append(time.perf_counter() - start)


def summarise(seconds: list[float]) -> Summary:
    """Median and p90 in ms, and frames/s at the median."""
    ms = np.array(seconds) * 1000.0
    median = float(np.median(ms))
    return {
        "median_ms": median,
        "p90_ms": float(np.percentile(ms, 90)),
        "fps": 1000.0 / median,
        "frames": len(seconds),
    }


def encoders() -> dict[str, Encoder]:
    """fpng (the renderer's encoder), Pillow at levels 0/1/6, and OpenCV if it is installed."""
    found: dict[str, Encoder] = {png.ENCODER: png.encode_png}
    for level in (0, 1, 6):
        found[f"pillow-{level}"] = partial(png.encode_png_pillow, level=level)
    try:
        cv2 = importlib.import_module("cv2")
    except ImportError:
        return found

    def opencv(image: Image) -> bytes:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise RuntimeError("cv2.imencode failed")
        return bytes(data)

    found["opencv-1"] = opencv
    return found


def frame_times(project: Project, count: int) -> list[Fraction]:
    """``count`` frame times spread over the song at 60 fps (looping if it is shorter)."""
    duration = project.tempo_map.beat_to_time(to_fraction(project.duration_beats))
    total = max(1, math.floor(duration * FPS))
    if count <= total:
        return [Fraction(i * total // count, FPS) for i in range(count)]
    return [Fraction(i % total, FPS) for i in range(count)]


def measure_frame(
    renderer: FrameRenderer, seconds: Fraction, clock: Stopwatch, codecs: dict[str, Encoder]
) -> dict[str, int]:
    """Render one frame stage by stage (as FrameRenderer.render_at does); PNG sizes by encoder."""
    with clock("scene_state"):
        scene = renderer.model.at(seconds)
    with clock("scene_pass"):
        hdr = renderer.scene_pass.render(scene)
    bloom, scale = None, 0.0
    if renderer.bloom is not None:
        with clock("bloom"):
            bloom, scale = renderer.bloom.render(hdr), renderer.bloom.scale
    with clock("output_pass"):
        renderer.output.render(hdr, bloom, scale)
    with clock("readback"):
        rgb = renderer.output.read()
    image = as_image(rgb, renderer.width, renderer.height)
    sizes = {}
    for name, encode in codecs.items():
        with clock(f"png:{name}"):
            sizes[name] = len(encode(image))
    return sizes


def bench_resolution(
    ctx: moderngl.Context,
    project: Project,
    model: SceneModel,
    size: tuple[int, int],
    frames: int,
    warmup: int,
) -> dict[str, Any]:
    width, height = size
    codecs = encoders()
    times = frame_times(project, frames)
    with FrameRenderer(ctx, project, width, height, model=model) as renderer:
        for seconds in times[:warmup]:  # llvmpipe compiles shaders again on first draw
            measure_frame(renderer, seconds, Stopwatch(ctx), codecs)
        clock = Stopwatch(ctx)
        sizes: defaultdict[str, list[int]] = defaultdict(list)
        for seconds in times:
            for name, length in measure_frame(renderer, seconds, clock, codecs).items():
                sizes[name].append(length)
        whole = []
        for seconds in times:
            start = time.perf_counter()
            png.encode_png(as_image(renderer.render_at(seconds), width, height))
            whole.append(time.perf_counter() - start)
    end_to_end = summarise(whole)
    end_to_end["fps"] = len(whole) / sum(whole)
    return {
        "width": width,
        "height": height,
        "stages": {stage: summarise(samples) for stage, samples in clock.samples.items()},
        "png_bytes": {name: int(np.median(lengths)) for name, lengths in sizes.items()},
        "end_to_end": {"encoder": png.ENCODER, **end_to_end},
    }


def bench_scene_state(project: Project, frames: int) -> dict[str, Any]:
    """SceneModel compile time and per-frame state cost of a (dense) project; no GL involved."""
    start = time.perf_counter()
    model = SceneModel.from_project(project)
    compile_s = time.perf_counter() - start
    samples = []
    for seconds in frame_times(project, frames):
        start = time.perf_counter()
        model.at(seconds)
        samples.append(time.perf_counter() - start)
    notes = sum(len(track.notes) for track in project.tracks)
    return {"notes": notes, "compile_ms": compile_s * 1000.0, **summarise(samples)}


def proc_status_kib(field: str = "VmRSS") -> int:
    """A size from /proc/self/status (Linux): VmRSS is resident now, VmHWM the peak so far."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_run(project_path: str, frames: int, size: tuple[int, int]) -> dict[str, Any]:
    """In a fresh process: render + fpng-encode ``frames`` frames, report RSS (KiB) and speed."""
    width, height = size
    project = load_project_file(project_path)
    checkpoint = min(RSS_CHECKPOINT, max(1, frames // 2))
    ctx = create_context()
    at_checkpoint = peak_at_checkpoint = 0
    start = time.perf_counter()
    with FrameRenderer(ctx, project, width, height) as renderer:
        for index, seconds in enumerate(frame_times(project, frames), start=1):
            png.encode_png(as_image(renderer.render_at(seconds), width, height))
            if index == checkpoint:
                at_checkpoint = proc_status_kib("VmRSS")
                peak_at_checkpoint = proc_status_kib("VmHWM")
        elapsed = time.perf_counter() - start
        at_end = proc_status_kib("VmRSS")
    ctx.release()
    return {
        "frames": frames,
        "width": width,
        "height": height,
        "encoder": png.ENCODER,
        "fps": frames / elapsed,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # KiB on Linux
        "vm_hwm_end_kib": proc_status_kib("VmHWM"),  # this process's own peak, for comparison
        "checkpoint_frame": checkpoint,
        "vm_rss_checkpoint_kib": at_checkpoint,
        "vm_hwm_checkpoint_kib": peak_at_checkpoint,
        "vm_rss_end_kib": at_end,
        "vm_rss_growth_kib": at_end - at_checkpoint,
    }


def rss_in_fresh_process(frames: int) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(rss_run, str(DEMO), frames, RSS_SIZE).result()


def machine(ctx: moderngl.Context) -> dict[str, Any]:
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions = {
        name: importlib.metadata.version(name) for name in ("numpy", "moderngl", "pillow", "fpng")
    }
    return {
        "gl": describe(ctx),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "lp_num_threads": os.environ.get("LP_NUM_THREADS"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_start": list(os.getloadavg()),
    }


def label(size: tuple[int, int] | dict[str, Any]) -> str:
    width, height = (size["width"], size["height"]) if isinstance(size, dict) else size
    return f"{width}×{height}"


def cell(summary: Summary) -> str:
    return f"{summary['median_ms']:.2f} / {summary['p90_ms']:.2f} ms · {summary['fps']:.0f} fps"


def markdown(result: dict[str, Any]) -> str:
    """The tables of docs/benchmarks.md."""
    runs = list(result["resolutions"].values())
    head = "| Stage (median / p90 ms · frames/s) | " + " | ".join(label(r) for r in runs) + " |"
    rule = "| --- |" + " ---: |" * len(runs)
    lines = [head, rule]
    stages = list(runs[0]["stages"])
    for stage in stages:
        name = STAGE_LABELS.get(stage) or f"PNG encode, {stage.removeprefix('png:')}"
        lines.append(f"| {name} | " + " | ".join(cell(r["stages"][stage]) for r in runs) + " |")
    encoder = runs[0]["end_to_end"]["encoder"]
    lines.append(
        f"| **end to end: render_at + readback + {encoder}** | "
        + " | ".join(cell(r["end_to_end"]) for r in runs)
        + " |"
    )
    lines += ["", "| PNG size (median) | " + " | ".join(label(r) for r in runs) + " |", rule]
    for name in runs[0]["png_bytes"]:
        sizes = " | ".join(f"{r['png_bytes'][name] / 1024:,.0f} KiB" for r in runs)
        lines.append(f"| {name} | {sizes} |")
    dense = result["scene_state_dense"]
    lines += [
        "",
        f"Scene state of dense.json ({dense['notes']:,} notes): {cell(dense)} "
        f"(SceneModel.from_project {dense['compile_ms']:.0f} ms once).",
    ]
    rss = result["rss"]
    lines.append(
        f"RSS over {rss['frames']:,} frames at {label(rss)} (render_at + {rss['encoder']}, fresh "
        f"process, {rss['fps']:.1f} fps): peak {rss['peak_rss_kib'] / 1024:.1f} MiB "
        f"({rss['vm_hwm_checkpoint_kib'] / 1024:.1f} MiB reached by frame "
        f"{rss['checkpoint_frame']}); VmRSS "
        f"{rss['vm_rss_checkpoint_kib'] / 1024:.1f} MiB at frame {rss['checkpoint_frame']}, "
        f"{rss['vm_rss_end_kib'] / 1024:.1f} MiB at the end "
        f"({rss['vm_rss_growth_kib'] / 1024:+.1f} MiB)."
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, help="timed frames per resolution (default 60)")
    parser.add_argument("--rss-frames", type=int, help="frames of the RSS run (default 1000)")
    parser.add_argument(
        "--quick", action="store_true", help="a few frames of each, for a smoke test"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    args = parser.parse_args(argv)
    args.frames = args.frames or (3 if args.quick else 60)
    args.rss_frames = args.rss_frames or (20 if args.quick else 1000)
    args.warmup = 1 if args.quick else 3
    if args.frames < 1 or args.rss_frames < 1:
        parser.error("--frames and --rss-frames must be at least 1")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    # First, while this process is small: Linux carries the parent's peak RSS at fork into the
    # child's ru_maxrss, so a child started after the 1080p runs would report their peak.
    print(f"RSS: {args.rss_frames} frames ...", file=sys.stderr, flush=True)
    rss = rss_in_fresh_process(args.rss_frames)
    project = load_project_file(DEMO)
    model = SceneModel.from_project(project)
    ctx = create_context()
    try:
        info = machine(ctx)
        runs = {}
        for size in RESOLUTIONS:
            print(f"{label(size)}: {args.frames} frames ...", file=sys.stderr, flush=True)
            runs[label(size)] = bench_resolution(
                ctx, project, model, size, args.frames, args.warmup
            )
    finally:
        ctx.release()
    dense = bench_scene_state(load_project_file(DENSE), args.frames)
    info["load_average_end"] = list(os.getloadavg())
    return {
        "benchmark": "renderer",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": info,
        "settings": {
            "project": str(DEMO.relative_to(ROOT)),
            "frames": args.frames,
            "warmup": args.warmup,
            "fps": FPS,
            "rss_frames": args.rss_frames,
        },
        "resolutions": runs,
        "scene_state_dense": dense,
        "rss": rss,
    }


def main(argv: list[str] | None = None) -> None:
    run_benchmark(parse_args, run, markdown, argv)


if __name__ == "__main__":
    main()
