"""bench/incremental.py --quick: every re-export timed against the full export and what was
reused reported; the unchanged re-export byte-identical to the full one. (That each edited
re-export equals a fresh export is tests/integration/test_incremental.py's to check: here it
would only repeat those renders, so ``--no-check``.)"""

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
        [sys.executable, "bench/incremental.py", "--quick", "--no-check", "--json", str(out)],
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
    assert rows["nothing"]["byte_identical"] is True
    assert [row["byte_identical"] for row in rows.values() if row["edit"] != "nothing"] == [
        None
    ] * 4
    nothing = rows["nothing"]
    assert nothing["frames_reused"] == nothing["frames"] and nothing["audio_reused"]
    assert nothing["segments_reused"] == nothing["segments"]
    assert not rows["audio-only"]["audio_reused"]
    assert rows["audio-only"]["frames_reused"] == rows["audio-only"]["frames"]
    assert result["full_s"] > 0 and result["lookup_ratio"] > 0
