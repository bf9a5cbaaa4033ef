"""deploy/grafana-dashboard.json: valid JSON whose every panel query names metrics that the
coordinator and the workers really expose (their registries, asked here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from coordinator.metrics import FarmMetrics
from framefarm.metrics import ActorMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def exposed() -> set[str]:
    """Every sample name the coordinator's and a worker's registries can expose."""
    names: set[str] = set()
    worker = CollectorRegistry()
    ActorMetrics(worker)
    for registry in (FarmMetrics().registry, worker):
        for family in registry.collect():
            names.add(family.name)
            names.update(family.name + suffix for suffix in SUFFIXES)
    return names


def test_every_panel_query_names_metrics_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    names = exposed()
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(queries) >= 10
    for query in queries:
        metrics = set(re.findall(r"\bframefarm_\w+", query))
        assert metrics, query
        assert metrics <= names, f"{query}: {sorted(metrics - names)} are not exposed"
    titles = {p["title"] for p in dashboard["panels"]}
    assert len(titles) == len(dashboard["panels"])


def test_the_check_catches_a_misspelt_metric() -> None:
    assert "framefarm_frames_rendred_total" not in exposed()
    assert "framefarm_frames_rendered_total" in exposed()
    assert "framefarm_chunk_seconds_bucket" in exposed()
