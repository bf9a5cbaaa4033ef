"""An embedded coordinator restarted with exports under way: its in-memory queue died with it, so
the work not yet stored is sent again at start and the exports finish (none stays "rendering"
forever)."""

from __future__ import annotations

from pathlib import Path

from common.config import CoordinatorSettings, Limits
from coordinator.app import create_app
from tests.coordinator.api_client import TINY, TINY_FRAMES, demo
from tests.coordinator.test_api import LiveServer, embedded_farm


def _coordinator(root: Path, *, workers: bool) -> LiveServer:
    app = create_app(
        embedded_farm(root, workers=workers),
        limits=Limits(),
        settings=CoordinatorSettings(api_token=None),
    )
    return LiveServer(app)


def test_exports_queued_before_a_restart_finish_after_it(tmp_path: Path) -> None:
    with _coordinator(tmp_path, workers=False) as before:  # nothing renders: all is queued
        first = before.api.submit_ok(demo(), TINY)["job_id"]
        second = before.api.submit_ok(demo(), {**TINY, "format": "webm"})["job_id"]
        assert before.api.status(first)["phase"] == "queued"
    with _coordinator(tmp_path, workers=True) as after:
        for job_id in (first, second):
            status = after.api.wait_for_phase(job_id, ("complete", "failed", "cancelled"))
            assert status["phase"] == "complete", status
            assert status["frames_done"] == TINY_FRAMES
            assert after.api.get(f"/api/exports/{job_id}/download").status == 200
