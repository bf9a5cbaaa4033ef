"""bench/incremental.py --quick: every re-export timed against the full export, each video
byte-identical to a fresh export of its edited project, and what was reused reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_quick_incremental_reports_every_reexport(tmp_path: Path) -> None:
    out = tmp_path / "incremental.json"
    completed = subprocess.run(
        [sys.executable, "bench/incremental.py", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "| nothing |" in completed.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    rows = {row["edit"]: row for row in result["reexports"]}
    assert set(rows) == {
        "notes-4-bars",
        "notes-4-bars-bars-track",
        "colour",
        "audio-only",
        "nothing",
    }
    assert all(row["byte_identical"] for row in rows.values())
    nothing = rows["nothing"]
    assert nothing["frames_reused"] == nothing["frames"] and nothing["audio_reused"]
    assert nothing["segments_reused"] == nothing["segments"]
    assert not rows["audio-only"]["audio_reused"]
    assert rows["audio-only"]["frames_reused"] == rows["audio-only"]["frames"]
    assert result["full_s"] > 0 and result["lookup_ratio"] > 0
