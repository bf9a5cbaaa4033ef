"""bench/scale.py --quick: 10 simulated workers on a real RabbitMQ vhost and S3 server, in both
modes, run a tiny job to the stitching phase and write a row per mode with numbers that add up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_reports_a_row_per_mode_whose_counts_add_up(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    completed = subprocess.run(
        [sys.executable, "bench/scale.py", "--quick", "--workers", "10", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "| frames | 10 |" in completed.stdout
    result = json.loads(out.read_text(encoding="utf-8"))

    settings = result["settings"]
    assert settings["png_bytes"] > 0
    assert [(r["mode"], r["workers"]) for r in result["runs"]] == [("frames", 10), ("control", 10)]
    for run in result["runs"]:
        frames = run["frames"]
        assert frames == 10 * settings["chunks_per_worker"] * settings["chunk_frames"]
        assert run["chunks"] == frames // settings["chunk_frames"]
        assert run["chunks_committed"] == run["chunks"]
        assert run["segments_encoded"] == run["segments"] > 0
        kinds = run["events_by_kind"]
        assert kinds["chunk_committed"] == run["chunks"]  # each commit handled exactly once
        assert kinds["segment_encoded"] == run["segments"]
        assert run["events_handled"] == sum(kinds.values())
        assert run["simulated_workers_used"] <= 10
        assert run["wall_s"] > 0 and run["fps"] > 0
        assert 0 < run["efficiency"] <= 1.0 + 1e-9  # nothing beats the modelled frame time
        assert run["queue_wait_s"]["count"] == run["chunks"]
        assert run["chunk_overhead_s"]["median"] >= 0  # a chunk never beats its modelled frames
        assert run["event_latency_ms"]["count"] == run["events_handled"]
        assert run["dispatch_ms"]["median"] >= 0
        assert 0 < run["orchestrator"]["busy"] < 1
        assert 0 <= run["cpu"]["machine_busy"] <= 1
        assert run["limit"]
