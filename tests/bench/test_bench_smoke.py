"""bench/render.py --quick runs end to end and writes every stage at every resolution."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STAGES = {
    "scene_state",
    "scene_pass",
    "bloom",
    "output_pass",
    "readback",
    "png:fpng",
    "png:pillow-0",
    "png:pillow-1",
    "png:pillow-6",
}
RESOLUTIONS = {"640×360", "1280×720", "1920×1080"}


def _positive(summary: dict[str, Any]) -> bool:
    return all(summary[key] > 0 for key in ("median_ms", "p90_ms", "fps", "frames"))


def test_quick_run_reports_every_stage_at_every_resolution(tmp_path: Path) -> None:
    out = tmp_path / "render.json"
    completed = subprocess.run(
        [sys.executable, "bench/render.py", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "| scene pass" in completed.stdout
    result = json.loads(out.read_text(encoding="utf-8"))

    assert set(result["resolutions"]) == RESOLUTIONS
    for run in result["resolutions"].values():
        assert set(run["stages"]) >= STAGES
        assert all(_positive(summary) for summary in run["stages"].values())
        assert _positive(run["end_to_end"])
        assert {"fpng", "pillow-0", "pillow-1", "pillow-6"} <= set(run["png_bytes"])
        assert all(size > 0 for size in run["png_bytes"].values())
    assert _positive(result["scene_state_dense"])
    rss = result["rss"]
    assert rss["frames"] > 0
    assert rss["peak_rss_kib"] > 0
    assert rss["vm_rss_end_kib"] > 0
    assert result["machine"]["gl"]
