"""Prometheus metrics of a worker, stitcher or encoder process: messages handled by actor and
outcome, their durations, and those in progress, served on ``FRAMEFARM_METRICS_PORT``.

dramatiq's own Prometheus middleware fits only its forking CLI (it starts its exposition server
in ``after_process_boot``, which a ``dramatiq.Worker`` started in-process never emits), so this
is the same idea on prometheus-client's own HTTP server, one registry per process.
"""

from __future__ import annotations

import time
from typing import Any

import dramatiq
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200)


class ActorMetrics(dramatiq.Middleware):
    """``framefarm_actor_messages_total{actor,outcome}``, ``framefarm_actor_seconds{actor}``
    and ``framefarm_actor_in_progress{actor}`` in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.messages = Counter(
            "framefarm_actor_messages",
            "Messages handled, by actor and outcome (ok, error, skipped)",
            ["actor", "outcome"],
            registry=registry,
        )
        self.seconds = Histogram(
            "framefarm_actor_seconds",
            "Time an actor spent on a message",
            ["actor"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge(
            "framefarm_actor_in_progress",
            "Messages being handled now",
            ["actor"],
            registry=registry,
        )
        self._started: dict[str, float] = {}

    def before_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.MessageProxy
    ) -> None:
        self._started[message.message_id] = time.perf_counter()
        self.in_progress.labels(message.actor_name).inc()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self._started.pop(message.message_id, None)
        actor = message.actor_name
        if started is not None:
            self.in_progress.labels(actor).dec()
            self.seconds.labels(actor).observe(time.perf_counter() - started)
        self.messages.labels(actor, "ok" if exception is None else "error").inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        if self._started.pop(message.message_id, None) is not None:
            self.in_progress.labels(message.actor_name).dec()
        self.messages.labels(message.actor_name, "skipped").inc()


def serve_metrics(registry: CollectorRegistry, port: int, host: str = "0.0.0.0") -> None:
    """prometheus-client's HTTP server on a daemon thread: GET /metrics on ``port``."""
    start_http_server(port, addr=host, registry=registry)
