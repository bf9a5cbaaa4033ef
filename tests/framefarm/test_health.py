"""`framefarm health` and the heartbeat it reads: fresh is healthy, stale or absent is not."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from framefarm.cli import main
from framefarm.health import Heartbeat, heartbeat_problem, url_problem


def test_a_live_process_writes_its_heartbeat_and_a_dead_one_stops(tmp_path: Path) -> None:
    path = tmp_path / "beat"
    threads_alive = True
    beat = Heartbeat(path, lambda: threads_alive, "worker", interval=3600)
    beat.start()
    assert heartbeat_problem(path, 30) is None
    assert main(["health", "--heartbeat-file", str(path)]) == 0
    os.utime(path, (time.time() - 100, time.time() - 100))  # as if the process hung
    threads_alive = False
    assert not beat.beat()  # dead threads: the file is not refreshed
    assert "100 s old" in str(heartbeat_problem(path, 30))
    assert main(["health", "--heartbeat-file", str(path), "--max-age", "30"]) == 1
    beat.stop()
    assert not path.exists()
    assert "no heartbeat file" in str(heartbeat_problem(path, 30))


def test_health_needs_a_heartbeat_file_or_a_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRAMEFARM_HEARTBEAT_FILE", raising=False)
    assert main(["health"]) == 2
    assert "--heartbeat-file" in capsys.readouterr().err


def test_an_unreachable_url_is_unhealthy() -> None:
    assert "did not answer" in str(url_problem("http://127.0.0.1:9/healthz", timeout=2))
