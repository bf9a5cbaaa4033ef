"""bench/encode.py --quick against a real S3 server and RabbitMQ: stored frames encoded by 1 and 2
encoder processes, every segment back, the speed-up reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_quick_encode_scaling_reports_both_encoder_counts(tmp_path: Path) -> None:
    out = tmp_path / "encode.json"
    completed = subprocess.run(
        [sys.executable, "bench/encode.py", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "| 2 |" in completed.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["settings"]["segments"] == 2
    assert set(result["encoders"]) == {"1", "2"}
    for round_ in result["rounds"]:
        assert len(round_["encode_s"]) == 2  # every segment came back, once
        assert round_["wall_s"] > 0
    assert result["speedup_2_vs_1"] > 0
