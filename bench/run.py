"""Farm against the direct exporter: one export, every mode side by side, each stage's cost, and
a model of the farm at 8, 32 and 100 GPU workers.

Run from the repository root::

    .venv/bin/python bench/run.py [--project P] [--width W] [--height H] [--fps F]
        [--end-beat B] [--modes direct,embedded-1,...] [--repeat N] [--quick] [--json PATH]

Modes: ``direct`` (framefarm/direct.py: render -> raw pipe -> one ffmpeg), ``embedded-N``
(``framefarm render --workers N``: the farm in one process with a local store; its N + 1 worker
threads all take render chunks, so N + 1 chunks may render at once) and ``distributed-N`` (N
``framefarm worker`` processes and one ``framefarm stitcher`` on a RabbitMQ vhost and a SeaweedFS
S3 server of this run's own, started here and stopped after). Each run of a mode is one export
in a fresh process (imports done before the clock starts), so its peak RSS (VmHWM) is its own;
workers and the stitcher are fresh processes per run too, and their VmHWM is read before they
are stopped. ffmpeg's memory is not counted anywhere (it is the same encoder in every mode).

Per-chunk times come from the orchestrator's states (when each chunk's first progress and its
commit arrived) and the chunk manifests (``render_seconds``: the chunk's render loop, uploads
included); stages are timed in one more process on the export's own frames. Prints Markdown
tables; writes JSON to ``bench/results/run.json`` by default.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import itertools
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.render import Encoder, Stopwatch, machine, measure_frame, proc_status_kib, summarise
from bench.report import run_benchmark
from common.adapters.storage import LocalStore, ObjectStore, make_store
from common.config import Limits, ServiceSettings
from common.format.validation import read_json_file, validate_export
from common.jobs import records
from common.jobs.chunks import plan_chunks, segment_frames_for
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest
from common.jobs.state import JobState, Phase

if TYPE_CHECKING:
    from sandbox.processes import FarmConfig

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.json"
SONG60 = ROOT / "examples" / "song60.json"
LONG_MODES = ("direct", "embedded-1", "distributed-2")
"""The long export's modes: the baseline, plain ``framefarm render``, and the farm."""
DEFAULT_JSON = ROOT / "bench" / "results" / "run.json"
MODES = ("direct", "embedded-1", "embedded-2", "distributed-1", "distributed-2")
MODE_PATTERN = r"direct|(embedded|distributed)-[1-9][0-9]?"
"""Any worker count may be asked for (bench/device.sh runs embedded-4 and embedded-8)."""
PROJECTED_WORKERS = (8, 32, 100)
LONG_EXPORT_SECONDS = 300
TARGET = (1280, 720, 60)
"""The export the issue's targets are for: 5 minutes of 720p60."""
"""The model also projects this long an export at the same size and rate."""
GPU_GL_MS = 2.0
"""ASSUMED GPU time of the three GL passes (scene, bloom, output) a frame at <= 1080p: not
measured (this machine has no GPU); docs/benchmarks.md expects 'a millisecond or two'."""
RAW_BUDGET_BYTES = 512 * 1024 * 1024
"""Raw frames the stage run may hold in memory for its ffmpeg timings."""
JOB_TIMEOUT_S = 600.0
UPLOAD_THREADS = 4  # farm_worker/chunk.py: ChunkRenderer's upload pool
DOWNLOAD_THREADS = 8  # stitcher/stitch.py: DOWNLOAD_THREADS

Record = dict[str, Any]


# --- one export, in a fresh process -----------------------------------------------------------


@dataclass
class Timeline:
    """When the orchestrator's state first showed each chunk in flight and committed, the
    stitch starting and the job complete (``time.time``, the orchestrator's clock)."""

    submitted: float = 0.0
    first_progress: dict[int, float] = field(default_factory=dict)
    committed: dict[int, float] = field(default_factory=dict)
    stitching: float | None = None
    complete: float | None = None

    def on_submit(self, state: JobState) -> None:
        self.submitted = state.created_at

    def on_state(self, state: JobState) -> None:
        now = time.time()
        for chunk in state.frames_in_flight:
            self.first_progress.setdefault(chunk, now)
        for chunk in state.committed:
            self.committed.setdefault(chunk, now)
        if state.phase is Phase.STITCHING and self.stitching is None:
            self.stitching = now
        if state.phase is Phase.COMPLETE and self.complete is None:
            self.complete = now


def preimport() -> None:
    """Everything any mode imports, so no mode's clock counts imports."""
    for module in ("farm_worker.actors", "framefarm.direct", "framefarm.render", "stitcher.actors"):
        importlib.import_module(module)


def run_mode(
    mode: str, project_path: str, settings: Record, service: Record | None, scratch: str
) -> Record:
    """One export by ``mode`` in this (fresh) process; its wall time, timeline and peak RSS."""
    preimport()
    project = read_json_file(project_path, "project")
    output = Path(scratch) / f"{mode}.mp4"
    kind, workers = split_mode(mode)
    cpu_before = own_cpu_seconds()
    if kind == "direct":
        record = run_direct(project, settings, output)
    else:
        distributed = ServiceSettings.model_validate(service) if service is not None else None
        store_dir = Path(scratch) / f"{mode}-store"
        record = run_farm(project, settings, output, workers, distributed, store_dir)
    process = {"direct": "exporter", "embedded": "farm process"}.get(kind, "submitter")
    record["cpu_s"] = {process: own_cpu_seconds() - cpu_before}
    record["peak_rss_kib"] = {process: vm_hwm_kib()}
    record["output_bytes"] = output.stat().st_size
    return record


def run_direct(project: Record, settings: Record, output: Path) -> Record:
    from framefarm.direct import render_direct

    first: list[float] = []
    start = time.perf_counter()

    def on_frame(done: int) -> None:
        if done == 1:
            first.append(time.perf_counter() - start)

    export = validate_export(project, settings, Limits())  # as the CLI does, before the clock
    result = render_direct(export, output, on_frame=on_frame)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "frames": result.frame_count, "first_frame_s": first[0]}


def run_farm(
    project: Record,
    settings: Record,
    output: Path,
    workers: int,
    distributed: ServiceSettings | None,
    store_dir: Path,
) -> Record:
    """``render_video`` as the CLI calls it (plus intermediates kept for the chunk timings)."""
    from framefarm.render import render_video

    timeline = Timeline()
    t0 = time.time()
    start = time.perf_counter()
    final = render_video(
        validate_export(project, settings, Limits()),
        output,
        workers=workers,
        distributed=distributed,
        store_dir=store_dir,
        keep_intermediates=True,
        on_state=timeline.on_state,
        on_submit=timeline.on_submit,
        timeout=JOB_TIMEOUT_S,
    )
    wall = time.perf_counter() - start
    store = make_store(distributed) if distributed is not None else LocalStore(store_dir)
    keys = JobKeys(final.job_id)
    manifests = [records.load(ChunkManifest, store.get(k)) for k in store.list(keys.chunks_prefix)]
    started = time.perf_counter()
    for prefix in keys.intermediate_prefixes:
        store.delete_prefix(prefix)
    cleanup = time.perf_counter() - started
    return {
        "wall_s": wall,
        "frames": final.frame_count,
        "chunk_count": final.chunk_count,
        "cleanup_s": cleanup,
        **farm_timeline(timeline, manifests, t0),
    }


def farm_timeline(timeline: Timeline, manifests: list[ChunkManifest], t0: float) -> Record:
    """Seconds from the call's start: submit, each chunk, the stitch tail."""
    if timeline.complete is None or not timeline.committed:
        raise RuntimeError("the job's states never showed it committed and complete")
    chunks = []
    for manifest in sorted(manifests, key=lambda m: m.chunk_index):
        committed = timeline.committed[manifest.chunk_index] - t0
        progress = timeline.first_progress.get(manifest.chunk_index)
        chunks.append(
            {
                "index": manifest.chunk_index,
                "frames": manifest.frame_count,
                "worker": manifest.worker,
                "render_s": manifest.render_seconds,
                "first_progress_s": None if progress is None else progress - t0,
                "committed_s": committed,
                "start_s": committed - manifest.render_seconds,  # estimate: see chunk_costs
            }
        )
    last_commit = max(timeline.committed.values())
    return {
        "submitted_s": timeline.submitted - t0,
        "chunks": chunks,
        "stitch_tail_s": timeline.complete - last_commit,
        "complete_s": timeline.complete - t0,
    }


def split_mode(mode: str) -> tuple[str, int]:
    if mode == "direct":
        return "direct", 1
    kind, _, count = mode.partition("-")
    return kind, int(count)


def vm_hwm_kib(pid: int | None = None) -> int:
    """Peak resident memory of a process (this one by default), from /proc."""
    if pid is None:
        return proc_status_kib("VmHWM")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0  # it has exited (a zombie until reaped): no memory to report


def own_cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (ffmpeg, ffprobe)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """CPU time of a running process and of its children that ended, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def in_fresh_process(function: Callable[..., Record], *args: Any) -> Record:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


# --- the distributed farm's processes ---------------------------------------------------------


@contextmanager
def services() -> Iterator[Callable[[str], FarmConfig]]:
    """A SeaweedFS S3 server and a RabbitMQ vhost for this run; yields a factory of FarmConfig
    (own queue prefix per export, one bucket)."""
    from sandbox.processes import FarmConfig
    from sandbox.services import RabbitVhost, SeaweedS3  # the tests' throwaway services

    token = uuid.uuid4().hex[:10]
    with SeaweedS3() as server, RabbitVhost("framefarm-bench") as url:

        def config(name: str) -> FarmConfig:
            return FarmConfig(server, url, f"bench-{token}-{name}", f"bench-{token}")

        yield config


def run_distributed(
    mode: str, config: FarmConfig, project_path: str, settings: Record, scratch: Path
) -> Record:
    """Fresh workers and stitcher, ready on their queues; one export; their VmHWM; stop them."""
    from sandbox.processes import Service, wait_for_consumers

    _, workers = split_mode(mode)
    with ExitStack() as stack:
        started = []
        for index in range(1, workers + 1):
            started.append(stack.enter_context(Service("worker", config, scratch, f"w{index}")))
        stitcher = stack.enter_context(Service("stitcher", config, scratch, "stitcher"))
        try:
            wait_for_consumers(config, "render", workers)
            wait_for_consumers(config, "stitch", 1)
            service = config.settings.model_dump()
            idle = {p.pid: process_cpu_seconds(p.pid) for p in [*started, stitcher]}
            record = in_fresh_process(run_mode, mode, project_path, settings, service, str(scratch))
        except BaseException:
            for process in [*started, stitcher]:
                print(process.output(), file=sys.stderr)
            raise
        gone = [p for p in [*started, stitcher] if p.process.poll() is not None]
        if gone:  # the export completed all the same (redelivery): say so, with their logs
            record["exited_during_run"] = [p.output() for p in gone]
            for process in gone:
                print(process.output(), file=sys.stderr)
        for index, worker in enumerate(started, 1):
            record["peak_rss_kib"][f"worker {index}"] = vm_hwm_kib(worker.pid)
            record["cpu_s"][f"worker {index}"] = process_cpu_seconds(worker.pid) - idle[worker.pid]
        record["peak_rss_kib"]["stitcher"] = vm_hwm_kib(stitcher.pid)
        record["cpu_s"]["stitcher"] = process_cpu_seconds(stitcher.pid) - idle[stitcher.pid]
    return record


# --- stages, timed on the export's own frames -------------------------------------------------


def measure_stages(
    project_path: str,
    settings: Record,
    frame_limit: int,
    repeats: int,
    service: Record | None,
    scratch: str,
) -> Record:
    """Each stage of both pipelines on the export's first frames (consecutive, as encoded)."""
    import moderngl

    from farm_worker import png
    from farm_worker.gl import create_context
    from farm_worker.renderer import FrameRenderer, as_image

    export = validate_export(read_json_file(project_path, "project"), settings, Limits())
    width, height = export.settings.width, export.settings.height
    count = max(2, min(export.frame_count, frame_limit, RAW_BUDGET_BYTES // (width * height * 3)))
    ctx: moderngl.Context = create_context()
    clock = Stopwatch(ctx)
    raws: list[bytes] = []
    pngs: list[bytes] = []
    hashing: list[float] = []
    codecs: dict[str, Encoder] = {png.ENCODER: png.encode_png}
    try:
        info = machine(ctx)
        with FrameRenderer(ctx, export.project, width, height) as renderer:
            for index in range(3):  # llvmpipe compiles shaders again on first draw
                measure_frame(renderer, export.timeline.time_of(index), Stopwatch(ctx), codecs)
            for index in range(count):
                measure_frame(renderer, export.timeline.time_of(index), clock, codecs)
                rgb = renderer.output.read()  # the frame again, untimed, to encode below
                raws.append(rgb)
                pngs.append(png.encode_png(as_image(rgb, width, height)))
                started = time.perf_counter()
                hashlib.sha256(pngs[-1]).hexdigest()
                hashing.append(time.perf_counter() - started)
    finally:
        ctx.release()
    stages: Record = {name: per_frame(samples) for name, samples in clock.samples.items()}
    stages["sha256"] = per_frame(hashing)
    stages.update(ffmpeg_stages(export, raws, pngs, Path(scratch), repeats))
    stages.update(store_stages(LocalStore(Path(scratch) / "stage-store"), pngs, "local"))
    if service is not None:
        s3 = make_store(ServiceSettings.model_validate(service))
        stages.update(store_stages(s3, pngs, "s3"))
    return {
        "machine": info,
        "frames": count,
        "raw_frame_bytes": width * height * 3,
        "png_frame_bytes": int(statistics.median(len(p) for p in pngs)),
        "stages": stages,
    }


def per_frame(seconds: list[float]) -> Record:
    """Median and p90 of per-frame samples (bench/render.py's summary) and how it was taken."""
    summary = summarise(seconds)
    return {**summary, "ms": summary["median_ms"], "measure": "median"}


def throughput(seconds: float, frames: int) -> Record:
    """A stage timed as a whole: wall time per frame."""
    ms = seconds * 1000.0 / frames
    return {"ms": ms, "fps": 1000.0 / ms, "frames": frames, "measure": "wall / frames"}


def ffmpeg_stages(
    export: Any, raws: list[bytes], pngs: list[bytes], scratch: Path, repeats: int
) -> dict[str, Record]:
    """x264 on raw frames (direct) and on PNGs (the stitcher), PNG decoding alone, and joining
    per-chunk segments with ``-f concat -c copy`` (the fix the model projects)."""
    from common.adapters.ffmpeg import FFMPEG, encode_args, probe, run_encoder
    from framefarm.direct import direct_encode_args

    settings, fps = export.settings, export.timeline.fps
    timeout = 60.0 + 2.0 * len(raws)
    decode = [FFMPEG, "-v", "error", "-f", "image2pipe", "-c:v", "png", "-i", "-", "-f", "null"]

    def encoding(frames: list[bytes], args: list[str]) -> Callable[[int], int]:
        def encode(count: int) -> int:
            run_encoder(args, frames[:count], timeout)
            return count

        return encode

    raw_args = direct_encode_args(settings, fps, scratch / "raw.mp4")
    png_args = encode_args(settings, fps, scratch / "png.mp4")
    result = {
        "x264_raw": fit(encoding(raws, raw_args), len(raws), repeats),
        "x264_png": fit(encoding(pngs, png_args), len(pngs), repeats),
        "png_decode": fit(encoding(pngs, [*decode, "-"]), len(pngs), repeats),
    }
    segments: list[tuple[Path, int]] = []
    size = max(1, math.ceil(len(raws) / 4))
    for first in range(0, len(raws), size):
        path = scratch / f"segment_{len(segments)}.mp4"
        part = raws[first : first + size]
        run_encoder(direct_encode_args(settings, fps, path), part, timeout)
        segments.append((path, len(part)))

    def join(count: int) -> int:
        """Concatenate the first segments holding ``count`` frames; check none was lost."""
        total, listed = 0, []
        for path, frames in segments:
            if total >= count:
                break
            total += frames
            listed.append(f"file '{path.name}'\n")
        listing = scratch / "segments.txt"
        listing.write_text("".join(listed))
        joined = scratch / "joined.mp4"
        concat = [FFMPEG, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing)]
        subprocess.run([*concat, "-c", "copy", str(joined)], check=True, timeout=timeout)
        if probe(joined, decode=False).frame_count != total:
            raise RuntimeError("concatenated segments lost frames")
        return total

    result["concat_copy"] = {**fit(join, len(raws), repeats), "segments": len(segments)}
    return result


def fit(run: Callable[[int], int], frames: int, repeats: int) -> Record:
    """``run`` on about half of ``frames`` and on all (it returns how many it took), the median
    of ``repeats`` runs each: the cost of a frame (the slope) and the fixed start-up and flush
    (the rest of the whole run's time)."""
    samples: dict[int, list[float]] = {}
    for _ in range(repeats):
        for asked in (frames // 2, frames):
            started = time.perf_counter()
            count = run(asked)
            samples.setdefault(count, []).append(time.perf_counter() - started)
    walls = {count: statistics.median(seconds) for count, seconds in samples.items()}
    half = min(walls)
    slope = max((walls[frames] - walls[half]) / max(frames - half, 1), 1e-6)
    return {
        "ms": slope * 1000.0,
        "fps": 1.0 / slope,
        "frames": frames,
        "wall_s": walls[frames],
        "fixed_s": max(walls[frames] - frames * slope, 0.0),
        "measure": f"slope, {half} vs {frames} frames (median of {repeats})",
    }


def store_stages(store: ObjectStore, pngs: list[bytes], name: str) -> dict[str, Record]:
    """PUT and GET of the PNGs, one at a time (latency) and with the worker's and stitcher's
    thread counts (throughput)."""
    prefix = f"bench/{uuid.uuid4().hex}/"
    keys = [f"{prefix}frame_{i:06d}.png" for i in range(len(pngs))]
    result: dict[str, Record] = {}
    put_one: list[float] = []
    for key, data in zip(keys, pngs, strict=True):
        started = time.perf_counter()
        store.put(key, data, "image/png")
        put_one.append(time.perf_counter() - started)
    result[f"{name}_put"] = per_frame(put_one)
    get_one: list[float] = []
    for key in keys:
        started = time.perf_counter()
        store.get(key)
        get_one.append(time.perf_counter() - started)
    result[f"{name}_get"] = per_frame(get_one)
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        started = time.perf_counter()
        list(pool.map(lambda key, data: store.put(key, data, "image/png"), keys, pngs))
        result[f"{name}_put_{UPLOAD_THREADS}"] = throughput(
            time.perf_counter() - started, len(keys)
        )
    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        started = time.perf_counter()
        list(pool.map(store.get, keys))
        seconds = time.perf_counter() - started
        result[f"{name}_get_{DOWNLOAD_THREADS}"] = throughput(seconds, len(keys))
    store.delete_prefix(prefix)
    return result


# --- summaries --------------------------------------------------------------------------------


def chunk_costs(runs: list[Record], *, one_thread_per_worker: bool) -> Record:
    """Per-chunk times from every run of a farm mode.

    A chunk's start is estimated as its commit's arrival minus its ``render_seconds``, so
    'queue latency' (submit -> start) includes waiting for a free worker, and a worker's first
    chunk also its spec download and GL set-up. 'Overhead' is what a worker spends between
    consecutive chunks outside its render loop: the next commit's arrival minus the previous
    one's, minus the render loop (manifest PUT, the commit event, ack, the next message, the
    cancelled/manifest checks). It needs chunks known to be one thread's: the embedded farm's
    render threads are all named 'embedded', so with several of them it gives none.
    """
    queue: list[float] = []
    first: list[float] = []
    overhead: list[float] = []
    per_frame_ms: list[float] = []
    for run in runs:
        by_worker: dict[str, list[Record]] = {}
        for chunk in run["chunks"]:
            queue.append(chunk["start_s"] - run["submitted_s"])
            by_worker.setdefault(chunk["worker"], []).append(chunk)
            per_frame_ms.append(chunk["render_s"] * 1000.0 / chunk["frames"])
        for chunks in by_worker.values():
            chunks.sort(key=lambda c: c["start_s"])
            first.append(chunks[0]["start_s"] - run["submitted_s"])
            if one_thread_per_worker:
                for before, after in itertools.pairwise(chunks):
                    gap = after["committed_s"] - before["committed_s"] - after["render_s"]
                    overhead.append(gap)
    return {
        "queue_latency_s": describe(queue),
        "first_chunk_start_s": describe(first),
        "overhead_s": describe(overhead),
        "render_loop_ms_per_frame": describe(per_frame_ms),
    }


def describe(values: Sequence[float]) -> Record | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "count": len(ordered),
    }


def summarise_mode(mode: str, runs: list[Record]) -> Record:
    walls = [r["wall_s"] for r in runs]
    wall = statistics.median(walls)
    frames = runs[0]["frames"]
    rss: dict[str, int] = {}
    for run in runs:
        for process, kib in run["peak_rss_kib"].items():
            rss[process] = max(rss.get(process, 0), kib)
    cpu = statistics.median(sum(r["cpu_s"].values()) for r in runs)
    summary: Record = {
        "wall_s": wall,
        "wall_s_runs": walls,
        "frames": frames,
        "fps": frames / wall,
        "cpu_s": cpu,
        "cpu_ms_per_frame": 1000.0 * cpu / frames,
        "peak_rss_kib": rss,
        "runs": runs,
    }
    if mode != "direct":
        kind = split_mode(mode)[0]
        summary["chunk_count"] = runs[0]["chunk_count"]
        summary["stitch_tail_s"] = statistics.median(r["stitch_tail_s"] for r in runs)
        summary["last_commit_s"] = statistics.median(
            max(c["committed_s"] for c in r["chunks"]) for r in runs
        )
        summary["after_s"] = statistics.median(r["wall_s"] - r["complete_s"] for r in runs)
        summary["chunk_costs"] = chunk_costs(runs, one_thread_per_worker=kind == "distributed")
    return summary


# --- the model --------------------------------------------------------------------------------


ASSUMPTIONS = [
    f"ASSUMED, not measured (no GPU here): the GL passes take {GPU_GL_MS} ms a frame on a GPU",
    "every worker has its own GPU and CPU cores; the CPU stages cost what they cost here",
    "the stitcher, ffmpeg and the S3 store are as fast as on this machine (2 cores, localhost)",
    "RabbitMQ, the store and the orchestrator do not saturate with N workers, and T_submit "
    "does not grow with the number of chunks",
    "uploads overlap rendering: a worker's frame costs max(CPU + GPU work, its upload share)",
    "chunks as plan_chunks makes them for N workers (about 4 each, at least 24 frames)",
    "direct on one GPU: its set-up here, then max(GPU render, x264 on raw frames) a frame",
    "segments (built): workers pipe raw frames into x264 per segment while they render and "
    "store the PNGs; the stitcher joins the segments with -f concat -c copy; x264's start-up "
    "and flush are paid once per segment, overlapping the next frames except the last one",
    "'single encode' is the design before segments (one x264 over every PNG after the last "
    "chunk), kept for comparison",
]


def model(result: Record) -> Record | None:
    """T(N) = T_submit + ceil(chunks / N) * T_chunk + T_stitch + T_after, fitted to this run.

    Measured here: T_submit (the call's start -> the first chunk's start), the overhead per
    chunk, the stitch tail (split into a fixed part and a per-frame part, the slope of the
    stitcher's ffmpeg on PNGs or of its downloads, whichever is slower), T_after (video download
    and teardown), and every CPU stage. ASSUMED, not measured (no GPU here): the GL passes take
    GPU_GL_MS a frame on a GPU. Also assumed: every worker has its own GPU and CPU cores; the
    stitcher, the store and ffmpeg are as fast as on this machine; uploads overlap rendering,
    so a worker's frame costs max(its CPU + GPU work, its share of 4 upload threads); chunks as
    ``plan_chunks`` makes them for N workers (about 4 each, at least 24 frames).

    The direct exporter on one GPU machine: its time to the first frame here, then
    max(GPU render, x264 on raw frames) a frame (the pipe overlaps them), then x264's flush.
    'Segments' is the proposed fix: each worker pipes its chunk's raw frames into x264 itself
    (no PNG, no frame uploads), and the stitcher joins the segments with ``-f concat -c copy``.
    """
    modes = result["modes"]
    source = next((m for m in ("distributed-1", "embedded-1") if m in modes), None)
    if source is None or "direct" not in modes:
        return None
    stages = result["stages"]["stages"]
    farm = modes[source]
    frames = farm["frames"]
    costs = farm["chunk_costs"]
    store = "s3" if f"s3_put_{UPLOAD_THREADS}" in stages else "local"
    render_gpu = GPU_GL_MS + stages["scene_state"]["ms"] + stages["readback"]["ms"]
    png_ms = next(v["ms"] for k, v in stages.items() if k.startswith("png:"))
    stitch_ms = max(stages["x264_png"]["ms"], stages[f"{store}_get_{DOWNLOAD_THREADS}"]["ms"])
    x264 = stages["x264_raw"]
    params: Record = {
        "source": source,
        "gpu_gl_ms_ASSUMED": GPU_GL_MS,
        "T_submit_s": statistics.median(
            min(c["start_s"] for c in run["chunks"]) for run in farm["runs"]
        ),
        "chunk_overhead_s": costs["overhead_s"]["median"] if costs["overhead_s"] else 0.0,
        "T_after_s": statistics.median(r["wall_s"] - r["complete_s"] for r in farm["runs"]),
        "stitch_ms_per_frame": stitch_ms,
        "stitch_fixed_s": max(farm["stitch_tail_s"] - frames * stitch_ms / 1000.0, 0.0),
        "worker_ms_per_frame_gpu": max(
            render_gpu + png_ms + stages["sha256"]["ms"],
            stages[f"{store}_put_{UPLOAD_THREADS}"]["ms"],
        ),
        "worker_ms_per_frame_cpu": costs["render_loop_ms_per_frame"]["median"],
        "segment_ms_per_frame_gpu": max(
            render_gpu + png_ms + stages["sha256"]["ms"],
            x264["ms"],
            stages[f"{store}_put_{UPLOAD_THREADS}"]["ms"],
        ),
        "segment_fixed_s": x264["fixed_s"],
        "concat_ms_per_frame": stages["concat_copy"]["ms"],
        "concat_fixed_s": stages["concat_copy"]["fixed_s"],
        "direct_ms_per_frame_gpu": max(render_gpu, x264["ms"]),
        "direct_fixed_s": statistics.median(r["first_frame_s"] for r in modes["direct"]["runs"])
        + x264["fixed_s"],
    }
    fps = Fraction(result["settings"]["fps"])
    pixels = result["settings"]["width"] * result["settings"]["height"]
    target_fps = Fraction(TARGET[2])
    lengths = {  # name: (frames, fps, CPU costs scaled by pixels)
        "this export": (frames, fps, 1.0),
        f"{LONG_EXPORT_SECONDS} s": (math.ceil(LONG_EXPORT_SECONDS * fps), fps, 1.0),
        f"{LONG_EXPORT_SECONDS} s at {TARGET[0]}x{TARGET[1]}@{TARGET[2]}": (
            math.ceil(LONG_EXPORT_SECONDS * target_fps),
            target_fps,
            TARGET[0] * TARGET[1] / pixels,
        ),
    }
    projections = []
    for name, (count, rate, scale) in lengths.items():
        at = scaled(params, stages, store, scale)
        direct = at["direct_fixed_s"] + count * at["direct_ms_per_frame_gpu"] / 1000.0
        one = farm_time(at, count, 1, at["segment_ms_per_frame_gpu"], rate, segments=True)
        for workers in (1, *PROJECTED_WORKERS):
            png = farm_time(at, count, workers, at["worker_ms_per_frame_gpu"], rate)
            segments = farm_time(
                at, count, workers, at["segment_ms_per_frame_gpu"], rate, segments=True
            )
            projections.append(
                {
                    "export": name,
                    "frames": count,
                    "workers": workers,
                    **segments,
                    "direct_gpu_s": direct,
                    "speedup_vs_direct": direct / segments["total_s"],
                    "speedup_vs_1_worker": one["total_s"] / segments["total_s"],
                    "single_encode_total_s": png["total_s"],
                    "single_encode_speedup_vs_direct": direct / png["total_s"],
                }
            )
    kind = split_mode(source)[0]
    check = [
        {
            "mode": mode,
            "predicted_s": farm_time(
                params,
                frames,
                split_mode(mode)[1],
                params["worker_ms_per_frame_cpu"],
                fps,
                segments=True,
            )["total_s"],
            "measured_s": modes[mode]["wall_s"],
        }
        for mode in modes
        if split_mode(mode)[0] == kind
    ]
    return {
        "formula": "T(N) = T_submit + ceil(chunks / N) * T_chunk + T_stitch + T_after",
        "assumptions": ASSUMPTIONS,
        "parameters": params,
        "projections": projections,
        "check_on_cpu": check,
    }


def scaled(params: Record, stages: Record, store: str, scale: float) -> Record:
    """The model's per-frame costs for frames ``scale`` times as many pixels: every CPU stage
    (scene state aside) and every transfer grows with the pixels; the GL passes stay ASSUMED."""
    if scale == 1.0:
        return params
    png_ms = next(v["ms"] for k, v in stages.items() if k.startswith("png:"))
    render_gpu = GPU_GL_MS + stages["scene_state"]["ms"] + stages["readback"]["ms"] * scale
    worker_cpu = render_gpu + (png_ms + stages["sha256"]["ms"]) * scale
    upload = stages[f"{store}_put_{UPLOAD_THREADS}"]["ms"] * scale
    x264 = stages["x264_raw"]["ms"] * scale
    return {
        **params,
        "stitch_ms_per_frame": params["stitch_ms_per_frame"] * scale,
        "worker_ms_per_frame_gpu": max(worker_cpu, upload),
        "segment_ms_per_frame_gpu": max(worker_cpu, x264, upload),
        "concat_ms_per_frame": params["concat_ms_per_frame"] * scale,
        "direct_ms_per_frame_gpu": max(render_gpu, x264),
    }


def farm_time(
    params: Record,
    frames: int,
    workers: int,
    ms_per_frame: float,
    fps: Fraction,
    *,
    segments: bool = False,
) -> Record:
    """The model's T(N) and its parts for an export of ``frames``: chunks as the orchestrator
    plans them (whole segments of the grid), the slowest worker's rounds, then the tail."""
    grid = segment_frames_for(fps) if segments else 1
    chunks = plan_chunks(frames, None, workers, align=grid)
    longest = max(c.frame_count for c in chunks)
    rounds = math.ceil(len(chunks) / workers)
    chunk_s = params["chunk_overhead_s"] + longest * ms_per_frame / 1000.0
    if segments:
        chunk_s += params["segment_fixed_s"]
        stitch = params["concat_fixed_s"] + frames * params["concat_ms_per_frame"] / 1000.0
    else:
        stitch = params["stitch_fixed_s"] + frames * params["stitch_ms_per_frame"] / 1000.0
    render = rounds * chunk_s
    return {
        "chunks": len(chunks),
        "rounds": rounds,
        "render_s": render,
        "stitch_s": stitch,
        "total_s": params["T_submit_s"] + render + stitch + params["T_after_s"],
    }


# --- output -----------------------------------------------------------------------------------

STAGE_LABELS = {
    "scene_state": "scene state (SceneModel.at)",
    "scene_pass": "GL scene pass (MSAA)",
    "bloom": "GL bloom",
    "output_pass": "GL output pass",
    "readback": "readback (RGB)",
    "sha256": "sha256 of the PNG (worker)",
    "x264_raw": "ffmpeg x264, raw RGB in (direct)",
    "x264_png": "ffmpeg x264, PNG in (stitcher: decode + encode)",
    "png_decode": "ffmpeg PNG decode alone",
    "concat_copy": "ffmpeg -f concat -c copy of 4 segments",
    "local_put": "local store PUT, one at a time",
    "local_get": "local store GET, one at a time",
    f"local_put_{UPLOAD_THREADS}": f"local store PUT, {UPLOAD_THREADS} threads",
    f"local_get_{DOWNLOAD_THREADS}": f"local store GET, {DOWNLOAD_THREADS} threads",
    "s3_put": "S3 PUT (SeaweedFS, localhost), one at a time",
    "s3_get": "S3 GET, one at a time",
    f"s3_put_{UPLOAD_THREADS}": f"S3 PUT, {UPLOAD_THREADS} threads (worker)",
    f"s3_get_{DOWNLOAD_THREADS}": f"S3 GET, {DOWNLOAD_THREADS} threads (stitcher)",
}


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def rss_cell(rss: dict[str, int]) -> str:
    workers = [kib for name, kib in rss.items() if name.startswith("worker")]
    parts = [f"{name} {mib(kib)}" for name, kib in rss.items() if not name.startswith("worker")]
    if workers:
        parts.insert(1, f"worker {' + '.join(mib(k) for k in workers)}")
    return "; ".join(parts)


def markdown(result: Record) -> str:
    modes = result["modes"]
    direct = modes.get("direct")
    lines = [
        "| mode | chunks | wall s (median; runs) | frames/s | time ÷ direct | last commit s "
        "| stitch tail s | after s | CPU ms/frame (÷ direct) | peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for mode, summary in modes.items():
        ratio = f"{summary['wall_s'] / direct['wall_s']:.2f}×" if direct else "–"
        cpu = f"{summary['cpu_ms_per_frame']:.1f}"
        if direct:
            cpu += f" ({summary['cpu_ms_per_frame'] / direct['cpu_ms_per_frame']:.2f}×)"
        runs = ", ".join(f"{w:.2f}" for w in summary["wall_s_runs"])
        farm = [
            f"{summary[key]:.2f}" if key in summary else "–"
            for key in ("last_commit_s", "stitch_tail_s", "after_s")
        ]
        lines.append(
            f"| {mode} | {summary.get('chunk_count', '–')} | {summary['wall_s']:.2f} ({runs}) "
            f"| {summary['fps']:.1f} | {ratio} | {' | '.join(farm)} | {cpu} "
            f"| {rss_cell(summary['peak_rss_kib'])} |"
        )
    if result.get("long"):
        lines += ["", long_markdown(result["long"])]
    stages = result["stages"]
    lines += [
        "",
        f"| stage ({stages['frames']} frames of the export) | ms a frame | frames/s | measured |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, stage in stages["stages"].items():
        label = STAGE_LABELS.get(name) or f"PNG encode, {name.removeprefix('png:')}"
        fps = f"{stage['fps']:.0f}" if stage["ms"] >= 0.01 else "–"
        fixed = f"; fixed {stage['fixed_s']:.2f} s" if "fixed_s" in stage else ""
        lines.append(f"| {label} | {stage['ms']:.2f} | {fps} | {stage['measure']}{fixed} |")
    lines += [
        "",
        "| farm mode | queue latency s | 1st chunk start s | overhead s/chunk | "
        "render loop ms/frame |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mode, summary in modes.items():
        if "chunk_costs" in summary:
            costs = summary["chunk_costs"]
            cells = [
                span(costs[k])
                for k in (
                    "queue_latency_s",
                    "first_chunk_start_s",
                    "overhead_s",
                    "render_loop_ms_per_frame",
                )
            ]
            lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    if result.get("model"):
        lines += ["", model_markdown(result["model"])]
    return "\n".join(lines)


def long_markdown(long: Record) -> str:
    """The long export: throughput against direct, the stitch tail, CPU a frame."""
    modes, direct = long["modes"], long["modes"].get("direct")
    lines = [
        f"Long export: {long['project']}, {long['frames']} frames at {long['size']}, one run each",
        "",
        "| mode | wall s | frames/s | throughput ÷ direct | stitch tail s | CPU ms/frame "
        "| CPU ÷ direct |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mode, summary in modes.items():
        ratio = f"{direct['wall_s'] / summary['wall_s']:.2f}×" if direct else "–"
        cpu = f"{summary['cpu_ms_per_frame'] / direct['cpu_ms_per_frame']:.2f}×" if direct else "–"
        tail = f"{summary['stitch_tail_s']:.2f}" if "stitch_tail_s" in summary else "–"
        lines.append(
            f"| {mode} | {summary['wall_s']:.1f} | {summary['fps']:.1f} | {ratio} | {tail} "
            f"| {summary['cpu_ms_per_frame']:.1f} | {cpu} |"
        )
    return "\n".join(lines)


def span(values: Record | None) -> str:
    if values is None:
        return "–"
    return f"{values['median']:.3f} ({values['min']:.3f}–{values['max']:.3f})"


def model_markdown(fitted: Record) -> str:
    p = fitted["parameters"]
    lines = [
        f"Model T(N) = T_submit + ceil(chunks/N)·T_chunk + T_stitch + T_after, fitted to "
        f"{p['source']}: T_submit {p['T_submit_s']:.2f} s, overhead "
        f"{p['chunk_overhead_s'] * 1000:.0f} ms a chunk, stitch {p['stitch_fixed_s']:.2f} s + "
        f"{p['stitch_ms_per_frame']:.2f} ms a frame, T_after {p['T_after_s']:.2f} s. GPU GL "
        f"passes ASSUMED {p['gpu_gl_ms_ASSUMED']:.1f} ms a frame, so a GPU worker "
        f"{p['worker_ms_per_frame_gpu']:.2f} ms a frame (PNG + upload) and the direct exporter "
        f"on one GPU {p['direct_fixed_s']:.2f} s + {p['direct_ms_per_frame_gpu']:.2f} ms a frame "
        "(x264-bound).",
        "",
        "| export | GPU workers | chunks | T(N) s | render s | tail s | vs 1 worker "
        "| vs direct on 1 GPU | before segments: T(N) s, vs direct |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in fitted["projections"]:
        lines.append(
            f"| {row['export']} ({row['frames']} frames) | {row['workers']} | {row['chunks']} "
            f"| {row['total_s']:.2f} | {row['render_s']:.2f} | {row['stitch_s']:.2f} "
            f"| {row['speedup_vs_1_worker']:.2f}× | {row['speedup_vs_direct']:.2f}× "
            f"| {row['single_encode_total_s']:.2f}, "
            f"{row['single_encode_speedup_vs_direct']:.2f}× |"
        )
    checks = "; ".join(
        f"{c['mode']} predicted {c['predicted_s']:.2f} s, measured {c['measured_s']:.2f} s"
        for c in fitted["check_on_cpu"]
    )
    lines += ["", f"Check with this machine's CPU frame times: {checks}."]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", type=Path, default=DEMO, help="project JSON (demo.json)")
    parser.add_argument("--width", type=int, help="frame width (640; 160 with --quick)")
    parser.add_argument("--height", type=int, help="frame height (360; 90 with --quick)")
    parser.add_argument("--fps", default="30", help="frame rate, N or N/D (30)")
    parser.add_argument("--end-beat", type=float, help="last beat (the song's end; 4 with --quick)")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"comma-separated, of {', '.join(MODES)} (all)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help="runs of each mode, interleaved, and of each ffmpeg timing (3; 1 quick)",
    )
    parser.add_argument("--stage-frames", type=int, help="frames timed per stage (all; 10 quick)")
    parser.add_argument(
        "--long-project",
        type=Path,
        default=SONG60,
        help="a long export run once in each of --long-modes after the rest (song60.json; "
        "none with --quick or --long-modes '')",
    )
    parser.add_argument(
        "--long-modes",
        default=",".join(LONG_MODES),
        help=f"modes of the long export ({','.join(LONG_MODES)})",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny export, for a smoke test")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    args = parser.parse_args(argv)
    args.width = args.width or (160 if args.quick else 640)
    args.height = args.height or (90 if args.quick else 360)
    if args.end_beat is None and args.quick:
        args.end_beat = 4.0
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.stage_frames = args.stage_frames or (10 if args.quick else 100_000)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    args.long_modes = [] if args.quick else [m for m in args.long_modes.split(",") if m.strip()]
    unknown = sorted(
        m for m in {*args.modes, *args.long_modes} if not re.fullmatch(MODE_PATTERN, m)
    )
    if unknown or not args.modes:
        known = "direct, embedded-N, distributed-N"
        parser.error(f"--modes: unknown {', '.join(unknown) or '(none given)'}; known: {known}")
    if args.repeat < 1 or args.stage_frames < 2:
        parser.error("--repeat must be at least 1 and --stage-frames at least 2")
    return args


def export_settings(args: argparse.Namespace) -> Record:
    settings: Record = {
        "width": args.width,
        "height": args.height,
        "fps": args.fps,
        "audio": False,  # the video pipelines only; the soundtrack costs the same in every mode
    }
    if args.end_beat is not None:
        settings["endBeat"] = args.end_beat
    return settings


def run(args: argparse.Namespace) -> Record:
    settings = export_settings(args)
    project = str(args.project)
    export = validate_export(read_json_file(project, "project"), settings, Limits())
    load_start = list(os.getloadavg())
    runs: dict[str, list[Record]] = {mode: [] for mode in args.modes}
    long_runs: dict[str, list[Record]] = {mode: [] for mode in args.long_modes}
    distributed = [m for m in [*args.modes, *args.long_modes] if m.startswith("distributed")]
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="framefarm-bench-")))
        config = stack.enter_context(services()) if distributed else None

        def one(mode: str, project_path: str, name: str) -> Record:
            workdir = scratch / name
            workdir.mkdir()
            if mode.startswith("distributed") and config is not None:
                return run_distributed(mode, config(name), project_path, settings, workdir)
            return in_fresh_process(run_mode, mode, project_path, settings, None, str(workdir))

        for round_ in range(args.repeat):
            for mode in args.modes:
                print(f"{mode} (run {round_ + 1}/{args.repeat}) ...", file=sys.stderr, flush=True)
                runs[mode].append(one(mode, project, f"{mode}-{round_}"))
        for mode in args.long_modes:
            print(f"{mode} on {args.long_project.name} ...", file=sys.stderr, flush=True)
            long_runs[mode].append(one(mode, str(args.long_project), f"long-{mode}"))
        print("stages ...", file=sys.stderr, flush=True)
        service = config("stages").settings.model_dump() if config is not None else None
        stages = in_fresh_process(
            measure_stages, project, settings, args.stage_frames, args.repeat, service, str(scratch)
        )
    info = stages.pop("machine")
    info["ffmpeg"] = ffmpeg_version()
    info["load_average_start"] = load_start
    info["load_average_end"] = list(os.getloadavg())
    result: Record = {
        "benchmark": "farm-vs-direct",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": info,
        "settings": {
            "project": str(Path(project).resolve().relative_to(ROOT))
            if Path(project).resolve().is_relative_to(ROOT)
            else project,
            **settings,
            "frames": export.frame_count,
            "format": export.settings.format,
            "crf": export.settings.crf,
            "preset": export.settings.preset,
            "repeat": args.repeat,
        },
        "modes": {mode: summarise_mode(mode, records) for mode, records in runs.items()},
        "stages": stages,
    }
    if long_runs:
        long_export = validate_export(
            read_json_file(args.long_project, "project"), settings, Limits()
        )
        result["long"] = {
            "project": args.long_project.name,
            "frames": long_export.frame_count,
            "size": f"{args.width}x{args.height}@{args.fps}",
            "modes": {m: summarise_mode(m, records) for m, records in long_runs.items()},
        }
    result["model"] = model(result)
    return result


def ffmpeg_version() -> str:
    from common.adapters.ffmpeg import FFMPEG

    done = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[0]


def main(argv: list[str] | None = None) -> None:
    run_benchmark(parse_args, run, markdown, argv)


if __name__ == "__main__":
    main()
