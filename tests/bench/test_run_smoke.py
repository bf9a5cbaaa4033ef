"""bench/run.py --quick, direct and embedded modes only (no services): runs end to end and
writes every mode, every stage and the model's projections."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODES = {"direct", "embedded-1", "embedded-2"}
STAGES = {
    "scene_state",
    "scene_pass",
    "bloom",
    "output_pass",
    "readback",
    "sha256",
    "x264_raw",
    "x264_png",
    "png_decode",
    "concat_copy",
    "local_put",
    "local_get",
    "local_put_4",
    "local_get_8",
}


def test_quick_run_of_the_local_modes_reports_modes_stages_and_model(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    modes = ",".join(sorted(MODES))
    completed = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--modes", modes, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "| direct |" in completed.stdout
    result = json.loads(out.read_text(encoding="utf-8"))

    frames = result["settings"]["frames"]
    assert frames > 0
    assert set(result["modes"]) == MODES
    for name, mode in result["modes"].items():
        assert mode["frames"] == frames
        assert mode["wall_s"] > 0 and mode["fps"] > 0
        assert all(kib > 0 for kib in mode["peak_rss_kib"].values()), name
        assert mode["cpu_s"] > 0 and mode["cpu_ms_per_frame"] > 0, name
        if name != "direct":
            assert mode["chunk_count"] >= 1
            assert mode["stitch_tail_s"] > 0
            assert sum(c["frames"] for c in mode["runs"][0]["chunks"]) == frames
    stages = result["stages"]["stages"]
    assert set(stages) >= STAGES
    assert any(name.startswith("png:") for name in stages)
    assert all(stage["ms"] > 0 and stage["fps"] > 0 for stage in stages.values())

    model = result["model"]
    assert model["parameters"]["gpu_gl_ms_ASSUMED"] > 0
    workers = {row["workers"] for row in model["projections"]}
    assert workers == {1, 8, 32, 100}
    assert all(row["total_s"] > 0 for row in model["projections"])
    assert {row["export"] for row in model["projections"]} >= {"300 s at 1280x720@60"}
    assert {check["mode"] for check in model["check_on_cpu"]} == {"embedded-1", "embedded-2"}
