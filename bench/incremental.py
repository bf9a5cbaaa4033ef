"""Incremental re-export: four re-exports of song60 after an edit, each timed against a full
export, in one run (ratios: these machines are noisy).

Run from the repository root::

    .venv/bin/python bench/incremental.py [--width W] [--height H] [--fps F] [--workers N]
        [--quick] [--json PATH]

Embedded mode (the ``framefarm render`` path), the cache in a directory of this run's own. In
order: a full export with the cache off (the baseline); the same export with an empty cache (a
full miss: every lookup made, nothing found, everything stored); then, each from that cache,
re-exports after: notes in 4 bars of one track (the arp, particles: a note is seen while it
sounds), the same on a bars track (the bass: its piano roll shows every note 4 beats behind and
8 ahead, so 4 bars touch about 7), one track's colour, one synth parameter only (audio), and
nothing. With ``--check`` (the default with ``--quick``) every re-export's video is checked
byte-identical to a fresh export of the edited project with the cache off (not timed); the
unchanged one is always checked against the full export. The cache's own cost is also
timed apart: the frame keys (digests of scenes the renderer computes anyway) and the one listing
per chunk, for every frame of the export. Prints a Markdown table; writes JSON to
``bench/results/incremental.json``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import run_benchmark
from common.config import UNLIMITED
from common.format.validation import Export, read_json_file, validate_export
from common.jobs.state import JobState
from framefarm.render import render_video

ROOT = Path(__file__).resolve().parents[1]
SONG = ROOT / "examples" / "song60.json"
DEFAULT_JSON = ROOT / "bench" / "results" / "incremental.json"
TIMEOUT_S = 3600.0
Project = dict[str, Any]
TARGETS = {"notes-4-bars": 0.2, "nothing": 0.05, "audio-only": 0.1}
LOOKUP_TARGET = 0.03


def _track(project: Project, track_id: str) -> dict[str, Any]:
    return next(t for t in project["tracks"] if t["id"] == track_id)


def _notes(track_id: str, first_beat: float) -> Callable[[Project], None]:
    def edit(project: Project) -> None:
        for note in _track(project, track_id)["notes"]:
            if first_beat <= note["beat"] < first_beat + 16:
                note["velocity"] = round(note["velocity"] * 0.5, 3)
                note["pitch"] += 2

    return edit


def _colour(project: Project) -> None:
    _track(project, "lead")["visual"]["color"] = "#ff3d7a"


def _synth(project: Project) -> None:
    _track(project, "bass")["instrument"]["params"]["modulationIndex"] = 9


def _nothing(project: Project) -> None:
    return None


EDITS: dict[str, tuple[str, Callable[[Project], None]]] = {
    "notes-4-bars": ("notes in bars 13-16 of the arp (particles)", _notes("arp", 48)),
    "notes-4-bars-bars-track": ("notes in bars 13-16 of the bass (bars)", _notes("bass", 48)),
    "colour": ("the lead's colour", _colour),
    "audio-only": ("the bass synth's modulationIndex (audio only)", _synth),
    "nothing": ("nothing", _nothing),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1, help="embedded render threads")
    parser.add_argument(
        "--quick", action="store_true", help="64x36 at 8 fps, beats 40-48 (a smoke test)"
    )
    parser.add_argument(
        "--check",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also make a fresh export of each edited project (cache off, not timed) and check "
        "the re-export is byte-identical to it (default: with --quick only; the full size "
        "doubles the run, and tests/integration/test_incremental.py checks it)",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        return {"width": 64, "height": 36, "fps": 8, "startBeat": 40, "endBeat": 48}
    return {"width": args.width, "height": args.height, "fps": args.fps}


def _export(project: Project, settings: dict[str, Any], cache: bool) -> Export:
    return validate_export(project, {**settings, "cache": cache}, UNLIMITED)


def _timed(
    export: Export, output: Path, cache_dir: Path | None, workers: int
) -> tuple[float, JobState]:
    started = time.perf_counter()
    state = render_video(export, output, workers=workers, cache_dir=cache_dir, timeout=TIMEOUT_S)
    return time.perf_counter() - started, state


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lookup_cost(export: Export, cache_dir: Path) -> dict[str, float]:
    """The cache's own work for every frame, timed apart: each frame's key from its scene (the
    scene itself the renderer computes anyway, so it is timed separately) and one listing of
    the cache per chunk-sized span."""
    from common.adapters.storage import LocalStore
    from common.cache.store import cached_frames
    from common.jobs.cache_keys import frame_key
    from common.scene.visuals import SceneModel

    model = SceneModel.from_project(export.project)
    store = LocalStore(cache_dir)
    look = "0" * 64
    scene_s = digest_s = list_s = 0.0
    span = 150
    for first in range(0, export.frame_count, span):
        indices = range(first, min(first + span, export.frame_count))
        seconds = []
        for index in indices:
            t0 = time.perf_counter()
            scene = model.at(export.timeline.time_of(index))
            t1 = time.perf_counter()
            frame_key(look, scene.digest())
            digest_s += time.perf_counter() - t1
            scene_s += t1 - t0
            seconds.append(scene.seconds)
        t2 = time.perf_counter()
        cached_frames(store, look, seconds[0], seconds[-1])
        list_s += time.perf_counter() - t2
    return {"scene_s": scene_s, "keys_s": digest_s, "listing_s": list_s}


def run(args: argparse.Namespace) -> dict[str, Any]:
    project: Project = read_json_file(SONG, "project")
    settings = _settings(args)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as scratch:
        folder = Path(scratch)
        cache = folder / "cache"
        full_s, full = _timed(
            _export(project, settings, False), folder / "full.mp4", None, args.workers
        )
        print(f"full export (cache off): {full_s:.1f} s", file=sys.stderr, flush=True)
        miss_s, _ = _timed(
            _export(project, settings, True), folder / "miss.mp4", cache, args.workers
        )
        print(f"full miss (empty cache): {miss_s:.1f} s", file=sys.stderr, flush=True)
        if _digest(folder / "miss.mp4") != _digest(folder / "full.mp4"):
            raise SystemExit("the export with an empty cache differs from the one without")
        cost = lookup_cost(_export(project, settings, True), cache)
        for name, (what, edit) in EDITS.items():
            edited = copy.deepcopy(project)
            edit(edited)
            seconds, state = _timed(
                _export(edited, settings, True), folder / f"{name}.mp4", cache, args.workers
            )
            identical: bool | None = None
            if name == "nothing":
                identical = _digest(folder / f"{name}.mp4") == _digest(folder / "full.mp4")
            elif args.quick if args.check is None else args.check:
                fresh = folder / f"{name}-fresh.mp4"
                render_video(_export(edited, settings, False), fresh, timeout=TIMEOUT_S)
                identical = _digest(folder / f"{name}.mp4") == _digest(fresh)
            rows.append(
                {
                    "edit": name,
                    "what": what,
                    "seconds": round(seconds, 2),
                    "ratio": round(seconds / full_s, 3),
                    "target": TARGETS.get(name),
                    "frames_reused": state.frames_reused,
                    "frames": state.frame_count,
                    "segments_reused": len(state.segments_reused),
                    "segments": len(state.segment_frames),
                    "audio_reused": state.audio_reused,
                    "byte_identical": identical,
                }
            )
            print(f"{name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    return {
        "benchmark": "incremental",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average": os.getloadavg(),
        },
        "settings": {**settings, "frames": full.frame_count, "workers": args.workers},
        "full_s": round(full_s, 2),
        "miss_s": round(miss_s, 2),
        "miss_ratio": round(miss_s / full_s, 3),
        "lookup": {k: round(v, 3) for k, v in cost.items()},
        "lookup_ratio": round((cost["keys_s"] + cost["listing_s"]) / full_s, 4),
        "lookup_target": LOOKUP_TARGET,
        "reexports": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    lines = [
        f"song60 at {s['width']}x{s['height']}@{s['fps']} ({s['frames']} frames), embedded, "
        f"{s['workers']} render thread(s); full export {result['full_s']} s",
        "",
        "| re-export after | s | ÷ full | target | frames reused | segments reused | "
        "soundtrack | identical |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in result["reexports"]:
        target = "–" if row["target"] is None else f"≤ {row['target']}"
        lines.append(
            f"| {row['what']} | {row['seconds']} | {row['ratio']} | {target} | "
            f"{row['frames_reused']:,} of {row['frames']:,} | "
            f"{row['segments_reused']} of {row['segments']} | "
            f"{'reused' if row['audio_reused'] else 'made'} | "
            f"{'not checked' if row['byte_identical'] is None else row['byte_identical']} |"
        )
    lookup = result["lookup"]
    lines += [
        "",
        f"Full miss (empty cache): {result['miss_s']} s, {result['miss_ratio']} of the full "
        f"export. The cache's own work for every frame: keys {lookup['keys_s']} s, listings "
        f"{lookup['listing_s']} s = {result['lookup_ratio']:.2%} of the export (target ≤ "
        f"{result['lookup_target']:.0%}); the scenes the keys digest "
        f"({lookup['scene_s']} s) the renderer computes anyway.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    run_benchmark(parse_args, run, markdown, argv)


if __name__ == "__main__":
    main()
