"""GET /metrics as ``framefarm coordinator --embedded`` serves it: after an export, the jobs by
phase, frames rendered and encoded and the chunk durations say what happened."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from common.config import Config
from framefarm.service import coordinator_app
from tests.coordinator.api_client import TINY, TINY_FRAMES, check_complete_feed, demo
from tests.coordinator.test_api import LiveServer


def value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert match, f"no {sample} in\n{text}"
    return float(match.group(1))


def test_metrics_follow_an_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMEFARM_LOCAL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("FRAMEFARM_API_TOKEN", "secret")
    app = coordinator_app(Config.from_environment(), embedded=True, workers=1)
    with LiveServer(app, "secret") as server:
        api = server.api
        documented = api.get("/openapi.json").json()["paths"]["/metrics"]["get"]
        assert documented["security"] == []
        before = api.get("/metrics", auth=False)  # open, as scrapers expect, unlike the API
        assert before.status == 200
        assert value(before.body.decode(), 'framefarm_jobs{phase="complete"}') == 0
        job_id = api.submit_ok(demo(), TINY)["job_id"]
        check_complete_feed(api.follow(job_id), job_id, TINY_FRAMES, signed=True)
        text = api.get("/metrics", auth=False).body.decode()
        again = api.submit_ok(demo(), TINY)["job_id"]  # the same export: all from the cache
        check_complete_feed(api.follow(again), again, TINY_FRAMES, signed=True)
        cached = api.get("/metrics", auth=False).body.decode()
    assert value(text, 'framefarm_jobs{phase="complete"}') == 1
    assert value(text, "framefarm_frames_rendered_total") == TINY_FRAMES
    assert value(text, "framefarm_frames_encoded_total") == TINY_FRAMES
    chunks = value(text, "framefarm_chunk_seconds_count")
    assert chunks >= 1
    assert value(text, "framefarm_chunk_seconds_sum") > 0
    assert value(text, "framefarm_coordinator_orchestrating") == 1
    # The first export made every frame; the second took every one from the cache.
    assert value(text, 'framefarm_cache_lookups_total{kind="frame",outcome="miss"}') == TINY_FRAMES
    assert value(text, 'framefarm_cache_lookups_total{kind="frame",outcome="hit"}') == 0
    assert value(text, 'framefarm_cache_bytes_total{outcome="made"}') > 0
    assert value(cached, 'framefarm_cache_lookups_total{kind="frame",outcome="hit"}') == TINY_FRAMES
    made = value(text, 'framefarm_cache_bytes_total{outcome="made"}')
    assert value(cached, 'framefarm_cache_bytes_total{outcome="reused"}') == made
    assert value(cached, 'framefarm_cache_bytes_total{outcome="made"}') == made
