"""Scale simulation: the real orchestrator on a real RabbitMQ and S3 server with 10, 50 and 100
simulated render workers, to find where the farm stops scaling linearly and why.

Run from the repository root::

    .venv/bin/python bench/scale.py [--workers 10,50,100] [--modes frames,control]
        [--frame-ms MS] [--chunk-frames F] [--chunks-per-worker C] [--processes P] [--quick]
        [--json PATH]

What runs. A SeaweedFS S3 server and a RabbitMQ vhost of this run's own (sandbox/services.py),
a queue prefix and a bucket per worker count. This process is the coordinator: the real
``Orchestrator`` and ``EventPump`` as ``Farm.distributed`` wires them, with the pump's handler
wrapped to time every event (like tests/integration/helpers.py's EventLog) and the orchestrator's
send wrapped to note when each RenderChunk was enqueued. The render workers are simulated
(bench/simworker.py): they consume the render queue through dramatiq like real workers, sleep
for the modelled frame time instead of rendering, upload a ready-made PNG of the export's size
per frame, store the real manifests and send the real events; see that module. The job is a
720p60 mp4 export without audio of a long synthetic song (examples/demo.json stretched), sized
to keep every worker busy: ``workers x chunks-per-worker x chunk-frames`` frames, submitted
through ``Orchestrator.submit`` with its export validated by ``validate_export``. The clock
stops when the job reaches the stitching phase (every chunk committed, every segment encoded):
the join is not simulated, its StitchVideo stays in the queue and goes with the vhost.

Two modes. ``frames``: the workers as described. ``control``: the same workers, events, manifests
and segments, but the frames are not uploaded (the manifests list them all the same): the
control plane (RabbitMQ, the orchestrator, the manifests and status saves) at the event rates of
GPU workers, which one S3 server sharing two cores with everything else cannot take the frames of.

Threads in a few processes, not N processes. A simulated worker spends its time asleep (the
modelled GPU) or waiting on sockets (S3 PUTs, AMQP), which Python threads do without holding the
GIL, so threads are a fair stand-in for its I/O; 100 interpreters (about 80 MiB each, a second or
two of imports each) on this 2-core machine would spend the cores on themselves and the
scheduler, not on the traffic being measured. Each simulated worker still has its own dramatiq
thread, S3 client, upload threads and AMQP publishing connection, so RabbitMQ and S3 see the
connections and requests of N workers; the difference is that each host process has one render
queue consumer with prefetch = its workers (as ``Farm.start_worker`` sets it), where N real
workers would have N consumers with prefetch 1: the same number of chunks in flight. The
orchestrator gets a process of its own, as the coordinator does in production.

What is measured, per worker count (times are ``time.monotonic``, one clock for all processes
of a machine, noted on the side and never put in the messages):

- wall time from submit to the stitching phase, frames/s, and the efficiency against linear
  scaling: frames/s / (workers x 1000 / frame-ms);
- events the orchestrator handled (and per second), its time in ``handle`` per event kind and
  the share of the wall time its one event thread spent handling (busy);
- queue wait (a RenderChunk enqueued -> a worker starting it, waiting for a free worker
  included) and dispatch latency (the later of enqueued and the worker becoming free -> start);
- event latency (a worker sending an event -> the orchestrator starting to handle it);
- overhead per chunk (the chunk's wall time in its worker minus its modelled frame time);
- CPU: the machine's busy share (/proc/stat) and the cores used by the simulated workers, the S3
  server, RabbitMQ (shared with whatever else uses the broker), the coordinator process and its
  event thread.

Prints Markdown tables; writes JSON to ``bench/results/scale.json`` by default.
"""

from __future__ import annotations

import argparse
import multiprocessing.process
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import run_benchmark
from bench.simworker import (
    UPLOAD_THREADS,
    HostPlan,
    event_key,
    host,
    quiet_pika,
    synthetic_png,
)
from common.config import Limits, ServiceSettings
from common.format.validation import Export, read_json_file, validate_export
from common.jobs.chunks import segment_frames_for
from common.jobs.messages import Event, Message, RenderChunk
from common.jobs.state import JobState, Phase
from coordinator.events import EventPump
from coordinator.orchestrator import Orchestrator
from framefarm.farm import Farm
from sandbox.processes import FarmConfig, isolated_farm, wait_for_consumers
from sandbox.services import RabbitVhost, SeaweedS3

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.json"
DEFAULT_JSON = ROOT / "bench" / "results" / "scale.json"
DEFAULT_WORKERS = (10, 50, 100)
MODES = {"frames": True, "control": False}
"""Mode -> whether the simulated workers upload their frames."""
READY_TIMEOUT_S = 120.0
RESULTS_TIMEOUT_S = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

Record = dict[str, Any]


# --- the coordinator's side: timing what the orchestrator does ---------------------------------


@dataclass
class Probe:
    """Wraps the orchestrator's send and the pump's handler: when each RenderChunk was enqueued,
    when each event was handled and for how long, and when the job reached stitching."""

    orchestrator: Orchestrator
    enqueued: dict[tuple[str, int], float] = field(default_factory=dict)
    handled: list[tuple[str, str, int, int, float, float]] = field(default_factory=list)
    event_thread: int | None = None
    stitching_at: float | None = None
    failed: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def wrap_send(self, send: Callable[[Message], None]) -> Callable[[Message], None]:
        def timed(message: Message) -> None:
            send(message)
            if isinstance(message, RenderChunk):
                self.enqueued[(message.job_id, message.chunk_index)] = time.monotonic()

        return timed

    def handle(self, event: Event) -> JobState | None:
        self.event_thread = threading.get_native_id()
        started = time.monotonic()
        state = self.orchestrator.handle(event)
        self.handled.append((*event_key(event), started, time.monotonic()))
        return state

    def on_state(self, state: JobState) -> None:
        if state.phase is Phase.STITCHING and self.stitching_at is None:
            self.stitching_at = time.monotonic()
            self.done.set()
        elif state.phase.terminal and not self.done.is_set():
            self.failed = f"the job ended {state.phase.value}: {state.error}"
            self.done.set()


# --- CPU accounting from /proc ----------------------------------------------------------------


def proc_cpu_s(path: str) -> float:
    """User + system CPU seconds of a process or thread from its ``stat`` file (0 if gone)."""
    try:
        text = Path(path).read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def pids_named(name: str, parent: int | None = None) -> list[int]:
    """Processes whose command is ``name`` (children of ``parent`` only, if given)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        if command == name and (parent is None or ppid == parent):
            found.append(int(entry.name))
    return found


@dataclass
class CpuMeter:
    """CPU seconds of the run's parts between ``start`` and ``stop``, as cores used."""

    groups: dict[str, list[int]]
    before: dict[int, float] = field(default_factory=dict)
    machine_before: tuple[float, float] = (0.0, 0.0)
    started: float = 0.0

    def _read(self) -> dict[int, float]:
        return {
            pid: cpu
            for pids in self.groups.values()
            for pid in pids
            if (cpu := proc_cpu_s(f"/proc/{pid}/stat")) > 0
        }

    def start(self) -> None:
        self.before, self.machine_before, self.started = self._read(), machine_cpu(), time.time()

    def stop(self, event_thread: int | None) -> Record:
        wall = time.time() - self.started
        after = self._read()
        busy, total = machine_cpu()
        busy_before, total_before = self.machine_before
        cores = {  # a process that came or went meanwhile is left out
            name: sum(after[p] - self.before[p] for p in pids if p in after and p in self.before)
            / wall
            for name, pids in self.groups.items()
        }
        if event_thread is not None:  # its CPU since it started: it idled before the submit
            cpu = proc_cpu_s(f"/proc/{os.getpid()}/task/{event_thread}/stat")
            cores["orchestrator event thread"] = cpu / wall
        return {
            "machine_busy": (busy - busy_before) / max(total - total_before, 1),
            "cpus": os.cpu_count(),
            "cores": cores,
        }


# --- one worker count -------------------------------------------------------------------------


def long_export(frames: int, args: argparse.Namespace) -> Export:
    """The demo project stretched to exactly ``frames`` frames at the run's size and rate."""
    project = read_json_file(DEMO, "project")
    beats = Fraction(frames) * project["bpm"] / (60 * Fraction(args.fps))
    if beats.denominator != 1:
        raise ValueError(f"{frames} frames at {args.fps} fps are not a whole number of beats")
    project["durationBeats"] = int(beats)
    settings = {"width": args.width, "height": args.height, "fps": args.fps, "audio": False}
    export = validate_export(project, settings, Limits())
    if export.frame_count != frames:
        raise RuntimeError(f"the export has {export.frame_count} frames, not {frames}")
    return export


def split(workers: int, processes: int) -> list[int]:
    """``workers`` spread over at most ``processes`` host processes, as evenly as they go."""
    count = max(1, min(processes, workers))
    return [workers // count + (1 if i < workers % count else 0) for i in range(count)]


@contextmanager
def hosts(
    config: FarmConfig, args: argparse.Namespace, workers: int, mode: str
) -> Iterator[tuple[list[multiprocessing.process.BaseProcess], Callable[[], list[Record]]]]:
    """The host processes of the simulated workers, ready on the render queue; yields them and a
    function that stops them and returns their journals. Killed on the way out if still alive."""
    context = get_context("spawn")
    results = context.Queue()
    stop = context.Event()
    started: list[multiprocessing.process.BaseProcess] = []
    readies = []
    try:
        for index, count in enumerate(split(workers, args.processes)):
            plan = HostPlan(
                config.settings.model_dump(),
                f"p{index + 1}",
                count,
                args.frame_ms,
                args.timeout,
                upload_frames=MODES[mode],
            )
            ready = context.Event()
            process = context.Process(target=host, args=(plan, ready, stop, results), daemon=True)
            process.start()
            started.append(process)
            readies.append(ready)
        deadline = time.monotonic() + READY_TIMEOUT_S
        for waiting, ready in zip(started, readies, strict=True):
            while not ready.wait(0.2):
                if not waiting.is_alive() or time.monotonic() > deadline:
                    exit_code = waiting.exitcode
                    raise RuntimeError(f"host {waiting.name} did not start (exit {exit_code})")
        wait_for_consumers(config, "render", len(started), timeout=READY_TIMEOUT_S)

        def finish() -> list[Record]:
            stop.set()
            journals = [results.get(timeout=RESULTS_TIMEOUT_S) for _ in started]
            for done in started:
                done.join(RESULTS_TIMEOUT_S)
            return journals

        yield started, finish
    finally:
        stop.set()
        for leftover in started:
            leftover.join(5.0)
            if leftover.is_alive():
                leftover.kill()
                leftover.join(5.0)
        results.close()


def run_one(args: argparse.Namespace, config: FarmConfig, workers: int, mode: str) -> Record:
    frames = workers * args.chunks_per_worker * args.chunk_frames
    export = long_export(frames, args)
    print(f"{mode}, {workers} workers: {frames} frames ...", file=sys.stderr, flush=True)
    with ExitStack() as stack:
        farm = stack.enter_context(Farm.distributed(config.settings))
        orchestrator = farm.orchestrator(keep_intermediates=True)
        probe = Probe(orchestrator)
        orchestrator.send = probe.wrap_send(orchestrator.send)
        orchestrator.subscribe(probe.on_state)
        pump = EventPump(farm.broker, farm.queues, probe.handle)
        pump.start()
        farm.closers.append(pump.stop)
        processes, finish = stack.enter_context(hosts(config, args, workers, mode))
        wait_for_consumers(config, "events", 1)
        meter = CpuMeter(
            {
                "simulated workers": [p.pid for p in processes if p.pid is not None],
                "S3 server": pids_named("weed", parent=os.getpid()),
                "RabbitMQ": pids_named("beam.smp"),
                "coordinator process": [os.getpid()],
            }
        )
        load = os.getloadavg()[0]
        meter.start()
        started = time.monotonic()
        state = orchestrator.submit(
            export, chunk_frames=args.chunk_frames, workers=workers, name="scale"
        )
        submitted = time.monotonic()
        if not probe.done.wait(args.timeout):
            now = orchestrator.state(state.job_id)
            raise RuntimeError(
                f"{workers} workers: the job did not reach stitching within {args.timeout} s "
                f"({now.phase.value}, {len(now.committed)}/{now.chunk_count} chunks committed, "
                f"{len(now.encoded)}/{len(now.segment_frames)} segments encoded)"
            )
        if probe.failed is not None or probe.stitching_at is None:
            raise RuntimeError(f"{workers} workers: {probe.failed}")
        cpu = meter.stop(probe.event_thread)
        journals = finish()
    final = orchestrator.state(state.job_id)
    row = summarise(args, mode, workers, export, final, probe, journals, started, cpu)
    row["submit_s"] = submitted - started
    row["processes"] = len(processes)
    row["load_average_before"] = load
    return row


# --- numbers ----------------------------------------------------------------------------------


def spread(values: Iterable[float]) -> Record | None:
    """Median, p90, max and count of a sample (None when empty)."""
    data = sorted(values)
    if not data:
        return None
    p90 = data[min(len(data) - 1, round(0.9 * (len(data) - 1)))]
    return {"median": statistics.median(data), "p90": p90, "max": data[-1], "count": len(data)}


def summarise(
    args: argparse.Namespace,
    mode: str,
    workers: int,
    export: Export,
    final: JobState,
    probe: Probe,
    journals: list[Record],
    started: float,
    cpu: Record,
) -> Record:
    assert probe.stitching_at is not None
    end = probe.stitching_at
    wall = end - started
    frames = export.frame_count
    frame_s = args.frame_ms / 1000.0
    chunks = [row for journal in journals for row in journal["chunks"]]
    sent = {
        tuple(row[:4]): row[4] for journal in journals for row in reversed(journal["sent"])
    }  # reversed: the first send of a key wins
    handled = [h for h in probe.handled if h[4] <= end]
    kinds = sorted({h[0] for h in handled})
    handle_ms = {
        kind: spread((h[5] - h[4]) * 1000 for h in handled if h[0] == kind) for kind in kinds
    }
    busy_s = sum(h[5] - h[4] for h in handled)
    latency = [(h[0], h[4] - sent[h[:4]]) for h in handled if h[:4] in sent]
    commits_sent = [t for key, t in sent.items() if key[0] == "chunk_committed"]
    waits, dispatch, overhead = [], [], []
    for job, chunk, _, began, free_since, ended, count, _ in chunks:
        enqueued = probe.enqueued[(job, chunk)]
        waits.append(began - enqueued)
        dispatch.append(began - max(enqueued, free_since))
        overhead.append(ended - began - count * frame_s)
    linear = workers * 1000.0 / args.frame_ms
    fps = frames / wall
    counts = {kind: sum(1 for h in handled if h[0] == kind) for kind in kinds}
    segments = len(final.segment_frames)
    uploads = 1 if MODES[mode] else 0
    row: Record = {
        "mode": mode,
        "workers": workers,
        "simulated_workers_used": sum(j["workers"] for j in journals),
        "chunks": final.chunk_count,
        "segments": segments,
        "frames": frames,
        "wall_s": wall,
        "fps": fps,
        "linear_fps": linear,
        "efficiency": fps / linear,
        "ideal_wall_s": args.chunks_per_worker * args.chunk_frames * frame_s,
        "events_handled": len(handled),
        "events_by_kind": counts,
        "events_per_s": len(handled) / wall,
        "chunks_committed": len(final.committed),
        "segments_encoded": len(final.encoded),
        "s3_puts_per_s": (frames * uploads + final.chunk_count + 2 * segments) / wall,
        "orchestrator": {
            "busy": busy_s / wall,
            "handle_ms": handle_ms,
            "handle_ms_all": spread((h[5] - h[4]) * 1000 for h in handled),
        },
        "queue_wait_s": spread(waits),
        "dispatch_ms": spread(d * 1000 for d in dispatch),
        "event_latency_ms": spread(x * 1000 for _, x in latency),
        "event_latency_ms_by_kind": {
            kind: spread(x * 1000 for k, x in latency if k == kind) for kind in kinds
        },
        "tail_s": end - max(commits_sent) if commits_sent else None,
        "chunk_overhead_s": spread(overhead),
        "cpu": cpu,
        "late_events": len(probe.handled) - len(handled),
    }
    row["limit"] = limit(row)
    return row


BUSY = 0.7
"""A resource is called saturated from this share of its capacity on."""


def limit(row: Record) -> str:
    """What held this run back, from the measurements (the docs explain the rule)."""
    if row["efficiency"] >= 0.8:
        return "none (>= 80% of linear)"
    found = []
    busy = row["orchestrator"]["busy"]
    latency = row["event_latency_ms"]
    if busy >= BUSY or (latency is not None and latency["p90"] > 1000):
        found.append(f"orchestrator event thread (busy {busy:.0%})")
    machine = row["cpu"]["machine_busy"]
    if machine >= 0.85:
        top = max(row["cpu"]["cores"].items(), key=lambda kv: kv[1])
        found.append(f"CPU ({machine:.0%} of {row['cpu']['cpus']}; most: {top[0]})")
    return "; ".join(found) or "not identified"


# --- output -----------------------------------------------------------------------------------


def cell(values: Record | None, scale: float = 1.0, digits: int = 0) -> str:
    if values is None:
        return "–"
    return (
        f"{values['median'] * scale:.{digits}f} / {values['p90'] * scale:.{digits}f} "
        f"({values['max'] * scale:.{digits}f})"
    )


def markdown(result: Record) -> str:
    rows = result["runs"]
    lines = [
        "| mode | workers | chunks | frames | wall s | tail s | frames/s | linear frames/s "
        "| efficiency | events | events/s | S3 PUT/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        tail = "–" if r["tail_s"] is None else f"{r['tail_s']:.2f}"
        lines.append(
            f"| {r['mode']} | {r['workers']} | {r['chunks']} | {r['frames']} | {r['wall_s']:.2f} "
            f"| {tail} | {r['fps']:.0f} | {r['linear_fps']:.0f} | {r['efficiency']:.0%} "
            f"| {r['events_handled']} | {r['events_per_s']:.0f} | {r['s3_puts_per_s']:.0f} |"
        )
    lines += [
        "",
        "Median / p90 (max):",
        "",
        "| mode | workers | queue wait s | dispatch ms | event latency ms | commit latency ms "
        "| overhead s/chunk |",
        "| --- | ---: | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        commits = r["event_latency_ms_by_kind"].get("chunk_committed")
        lines.append(
            f"| {r['mode']} | {r['workers']} | {cell(r['queue_wait_s'], digits=2)} "
            f"| {cell(r['dispatch_ms'])} | {cell(r['event_latency_ms'])} | {cell(commits)} "
            f"| {cell(r['chunk_overhead_s'], digits=2)} |"
        )
    lines += [
        "",
        "| mode | workers | orchestrator busy | handle ms: progress | commit | segment "
        "| event thread cores | machine CPU busy | cores: workers / S3 / RabbitMQ / coordinator "
        "| limit |",
        "| --- | ---: | ---: | --- | --- | --- | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        handle = r["orchestrator"]["handle_ms"]
        cores = r["cpu"]["cores"]
        parts = " / ".join(
            f"{cores.get(name, 0.0):.2f}"
            for name in ("simulated workers", "S3 server", "RabbitMQ", "coordinator process")
        )
        lines.append(
            f"| {r['mode']} | {r['workers']} | {r['orchestrator']['busy']:.0%} "
            f"| {cell(handle.get('chunk_progress'), digits=1)} "
            f"| {cell(handle.get('chunk_committed'), digits=1)} "
            f"| {cell(handle.get('segment_encoded'), digits=1)} "
            f"| {cores.get('orchestrator event thread', 0.0):.2f} "
            f"| {r['cpu']['machine_busy']:.0%} | {parts} | {r['limit']} |"
        )
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--workers", help="comma-separated worker counts (10,50,100; 10 with --quick)"
    )
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="comma-separated, of: frames (workers upload PNGs), control (they do not); both",
    )
    parser.add_argument("--frame-ms", type=float, help="modelled frame time of a worker (5)")
    parser.add_argument(
        "--chunk-frames", type=int, help="frames a chunk, a multiple of the segment (120; 60)"
    )
    parser.add_argument("--chunks-per-worker", type=int, help="the job's size (2; 1 quick)")
    parser.add_argument("--processes", type=int, help="host processes of the workers (4; 2)")
    parser.add_argument("--width", type=int, help="frame width (1280; 320 with --quick)")
    parser.add_argument("--height", type=int, help="frame height (720; 180 with --quick)")
    parser.add_argument("--fps", type=int, help="frame rate (60; 30 with --quick)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds a job may take")
    parser.add_argument("--quick", action="store_true", help="a tiny run, for a smoke test")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    args = parser.parse_args(argv)
    quick = args.quick
    workers = args.workers or ("10" if quick else ",".join(map(str, DEFAULT_WORKERS)))
    try:
        args.workers = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError:
        parser.error(f"--workers: expected comma-separated numbers, got {workers!r}")
    args.frame_ms = args.frame_ms or 5.0
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.modes or set(args.modes) - set(MODES):
        parser.error(f"--modes: expected some of {', '.join(MODES)}, got {args.modes}")
    args.chunk_frames = args.chunk_frames or (60 if quick else 120)
    args.chunks_per_worker = args.chunks_per_worker or (1 if quick else 2)
    args.processes = args.processes or (2 if quick else 4)
    args.width = args.width or (320 if quick else 1280)
    args.height = args.height or (180 if quick else 720)
    args.fps = args.fps or (30 if quick else 60)
    if not args.workers or min(args.workers) < 1 or args.processes < 1:
        parser.error("--workers and --processes must be at least 1")
    if args.frame_ms <= 0 or args.chunks_per_worker < 1 or args.timeout <= 0:
        parser.error("--frame-ms, --chunks-per-worker and --timeout must be positive")
    segment = segment_frames_for(Fraction(args.fps), ServiceSettings().segment_seconds)
    if args.chunk_frames < 1 or args.chunk_frames % segment:
        parser.error(
            f"--chunk-frames must be a multiple of the segment grid ({segment} frames at "
            f"{args.fps} fps), so that every segment is encoded inside its chunk"
        )
    return args


def run(args: argparse.Namespace) -> Record:
    runs = []
    token = uuid.uuid4().hex[:6]
    with SeaweedS3() as server, RabbitVhost("framefarm-scale") as url:
        for mode in args.modes:
            for workers in args.workers:
                with isolated_farm(server, url, f"scale-{token}-{mode}-{workers}") as config:
                    runs.append(run_one(args, config, workers, mode))
    png, _ = synthetic_png(args.width, args.height)
    return {
        "benchmark": "scale-simulation",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {
            "width": args.width,
            "height": args.height,
            "fps": args.fps,
            "format": "mp4",
            "audio": False,
            "modes": args.modes,
            "frame_ms": args.frame_ms,
            "chunk_frames": args.chunk_frames,
            "chunks_per_worker": args.chunks_per_worker,
            "processes": args.processes,
            "png_bytes": len(png),
            "upload_threads_per_worker": UPLOAD_THREADS,
        },
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> None:
    quiet_pika()
    run_benchmark(parse_args, run, markdown, argv)


if __name__ == "__main__":
    main()
