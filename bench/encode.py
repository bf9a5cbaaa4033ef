"""Segment encoders scale out: pre-rendered frames encoded by 1 and by 2 ``framefarm encoder``
processes, side by side in one run.

Run from the repository root::

    .venv/bin/python bench/encode.py [--width W] [--height H] [--frames N] [--repeat R]
        [--quick] [--json PATH]

The export's frames are rendered once and stored in a SeaweedFS S3 server of this run's own,
committed in chunks of 7 frames, so every segment (2 s of video) crosses a chunk boundary and
goes to the encode actor. For each encoder count, fresh ``framefarm encoder`` processes start on
a RabbitMQ vhost of this run's own; once they consume, every segment's EncodeSegment is sent at
once and the clock runs until every SegmentEncoded is back (read from the events queue here).
The segments are then removed, so every round encodes everything. Rounds alternate the encoder
counts. Prints a Markdown table; writes JSON to ``bench/results/encode.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import run_benchmark
from common.adapters.bus import Bus, Queues, declare, rabbitmq_broker
from common.adapters.storage import ObjectStore, make_store
from common.config import UNLIMITED
from common.format.validation import read_json_file, validate_export
from common.jobs import records
from common.jobs.chunks import plan_chunks, plan_segments, segment_frames_for
from common.jobs.keys import JobKeys, new_job_id
from common.jobs.manifest import ChunkManifest, FrameRecord
from common.jobs.messages import EncodeSegment, JobFailed, SegmentEncoded, from_wire
from common.jobs.spec import JobSpec
from sandbox.processes import FarmConfig, Service, wait_for_consumers
from sandbox.services import RabbitVhost, SeaweedS3

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.json"
DEFAULT_JSON = ROOT / "bench" / "results" / "encode.json"
ENCODER_COUNTS = (1, 2)
CHUNK_FRAMES = 7
TIMEOUT_S = 600.0
Record = dict[str, Any]


def store_frames(store: ObjectStore, settings: Record, frames: int) -> JobSpec:
    """Render the export's frames once and commit them as a worker would, in chunks of 7."""
    import hashlib

    from farm_worker.gl import create_context
    from farm_worker.png import encode_png
    from farm_worker.renderer import FrameRenderer, as_image

    project = read_json_file(DEMO, "project")
    whole = validate_export(project, settings, UNLIMITED)
    seconds = Fraction(frames) / whole.timeline.fps
    if seconds < whole.timeline.duration:  # a spec's frame count is its settings' frame count
        end = whole.project.tempo_map.time_to_beat(whole.timeline.start + seconds)
        settings = {**settings, "endBeat": float(end)}
    export = validate_export(project, settings, UNLIMITED)
    count = export.frame_count
    job_id = new_job_id()
    keys = JobKeys(job_id)
    grid = segment_frames_for(export.timeline.fps)
    chunks = tuple(plan_chunks(count, CHUNK_FRAMES))
    segments = tuple(plan_segments(count, grid))
    ctx = create_context()
    width, height = export.settings.width, export.settings.height
    try:
        with FrameRenderer(ctx, export.project, width, height) as renderer:
            for chunk in chunks:
                stored = []
                for index in chunk.frames:
                    rgb = renderer.render_at(export.timeline.time_of(index))
                    png = encode_png(as_image(rgb, width, height))
                    store.put(keys.frame(index), png, "image/png")
                    digest = hashlib.sha256(png).hexdigest()
                    stored.append(FrameRecord(index, keys.frame(index), digest, len(png)))
                manifest = ChunkManifest(
                    job_id, chunk.index, chunk.first_frame, tuple(stored), 0.0, "bench", "bench"
                )
                store.put(keys.chunk_manifest(chunk.index), records.dump(manifest))
    finally:
        ctx.release()
    spec = JobSpec(job_id, project, settings, count, chunks, time.time(), "bench", segments)
    spec.export()  # what every encoder will check: the spec's frame count is its settings'
    store.put(keys.spec, records.dump(spec), "application/json")
    return spec


def encode_round(config: FarmConfig, spec: JobSpec, encoders: int, scratch: Path) -> Record:
    """Fresh encoders; every segment sent at once; seconds until all are encoded."""
    store = make_store(config.settings)
    keys = JobKeys(spec.job_id)
    store.delete_prefix(keys.segments_prefix)
    broker = rabbitmq_broker(config.amqp_url)
    queues = Queues(config.queue_prefix)
    declare(broker, queues)
    try:
        with ExitStack() as stack:
            for index in range(encoders):
                name = f"encoder{encoders}-{index}-{uuid.uuid4().hex[:6]}"
                stack.enter_context(Service("encoder", config, scratch, name))
            wait_for_consumers(config, "encode", encoders)
            bus = Bus(broker, queues)
            started = time.perf_counter()
            for segment in spec.segments:
                bus.send(
                    EncodeSegment(
                        spec.job_id, segment.index, segment.first_frame, segment.frame_count
                    )
                )
            done = wait_for_segments(broker, queues, len(spec.segments))
            wall = time.perf_counter() - started
    finally:
        broker.close()
    return {"encoders": encoders, "wall_s": wall, "encode_s": done}


def wait_for_segments(broker: Any, queues: Queues, count: int) -> list[float]:
    """Consume the events queue until ``count`` SegmentEncoded arrived; their encode times."""
    seen: dict[int, float] = {}
    consumer = broker.consume(queues.events, prefetch=64, timeout=200)
    deadline = time.monotonic() + TIMEOUT_S
    try:
        for message in consumer:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(seen)} of {count} segments after {TIMEOUT_S} s")
            if message is None:
                continue
            event = from_wire(message.args[0])
            consumer.ack(message)
            if isinstance(event, JobFailed):
                raise RuntimeError(f"the encode failed: {event.error}")
            if isinstance(event, SegmentEncoded):
                seen[event.segment_index] = event.encode_seconds
                if len(seen) == count:
                    break
    finally:
        consumer.close()
    return [seen[i] for i in sorted(seen)]


def run(args: argparse.Namespace) -> Record:
    settings: Record = {"width": args.width, "height": args.height, "fps": 30, "audio": False}
    rounds: list[Record] = []
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-encode-")))
        server = stack.enter_context(SeaweedS3())
        url = stack.enter_context(RabbitVhost("framefarm-bench"))
        token = uuid.uuid4().hex[:8]
        config = FarmConfig(server, url, f"encode-{token}", f"encode-{token}")
        print("rendering the frames ...", file=sys.stderr, flush=True)
        spec = store_frames(make_store(config.settings), settings, args.frames)
        for round_ in range(args.repeat):
            for encoders in ENCODER_COUNTS:
                print(f"{encoders} encoder(s), round {round_ + 1} ...", file=sys.stderr)
                rounds.append(encode_round(config, spec, encoders, scratch))
    summary = {}
    for encoders in ENCODER_COUNTS:
        walls = [r["wall_s"] for r in rounds if r["encoders"] == encoders]
        summary[str(encoders)] = {
            "wall_s": statistics.median(walls),
            "wall_s_runs": walls,
            "fps": spec.frame_count / statistics.median(walls),
        }
    speedup = summary["1"]["wall_s"] / summary["2"]["wall_s"]
    return {
        "benchmark": "encode-scaling",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cpus": os.cpu_count(),
        "settings": {**settings, "frames": spec.frame_count, "segments": len(spec.segments)},
        "encoders": summary,
        "speedup_2_vs_1": speedup,
        "target_speedup": 1.7,
        "rounds": rounds,
    }


def markdown(result: Record) -> str:
    settings = result["settings"]
    lines = [
        f"Segment encodes of {settings['frames']} stored frames ({settings['width']}x"
        f"{settings['height']}, {settings['segments']} segments) on {result['cpus']} CPUs",
        "",
        "| encoders | wall (median) | frames/s | runs |",
        "|---|---|---|---|",
    ]
    for encoders, row in result["encoders"].items():
        runs = ", ".join(f"{w:.2f}" for w in row["wall_s_runs"])
        lines.append(f"| {encoders} | {row['wall_s']:.2f} s | {row['fps']:.1f} | {runs} |")
    lines += ["", f"2 encoders ÷ 1: {result['speedup_2_vs_1']:.2f}× (target ≥ 1.7×)"]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--width", type=int, help="frame width (640; 160 with --quick)")
    parser.add_argument("--height", type=int, help="frame height (360; 90 with --quick)")
    parser.add_argument("--frames", type=int, help="frames to encode (480; 120 with --quick)")
    parser.add_argument("--repeat", type=int, help="rounds of each encoder count (3; 1 quick)")
    parser.add_argument("--quick", action="store_true", help="a tiny run, for a smoke test")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    args = parser.parse_args(argv)
    args.width = args.width or (160 if args.quick else 640)
    args.height = args.height or (90 if args.quick else 360)
    args.frames = args.frames or (120 if args.quick else 480)
    args.repeat = args.repeat or (1 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> None:
    run_benchmark(parse_args, run, markdown, argv)


if __name__ == "__main__":
    main()
