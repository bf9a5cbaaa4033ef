"""The coordinator's Prometheus metrics (GET /metrics): jobs by phase, frames rendered and
encoded, chunk and segment durations, queue depths, errors by stage, and the cache's hits, misses
and bytes (frames and segments reused or made).

Every replica reports the jobs it knows (the same numbers on each: dashboards take the max);
the counters and histograms come from the orchestrating replica alone (the one that handles
events), so summing over replicas counts each frame once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common.jobs.messages import AudioReady, ChunkCommitted, Event, JobFailed, SegmentEncoded
from common.jobs.state import JobState, Phase
from coordinator.orchestrator import Orchestrator
from coordinator.replica import ReplicaOrchestrator

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CHUNK_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)
SEGMENT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)


class FarmMetrics:
    """One registry per coordinator process, fed by the orchestrator's states and events."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.frames_rendered = Counter(
            "framefarm_frames_rendered",
            "Frames rendered (committed chunks)",
            registry=self.registry,
        )
        self.frames_encoded = Counter(
            "framefarm_frames_encoded", "Frames encoded into the video", registry=self.registry
        )
        self.chunk_seconds = Histogram(
            "framefarm_chunk_seconds",
            "Time a worker took to render a chunk",
            buckets=CHUNK_BUCKETS,
            registry=self.registry,
        )
        self.segment_seconds = Histogram(
            "framefarm_segment_seconds",
            "Time an encoder took to encode a segment",
            buckets=SEGMENT_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "framefarm_job_errors",
            "Jobs failed, by the stage that failed them",
            ["stage"],
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "framefarm_cache_lookups",
            "Frames, segments and soundtracks looked up in the cache, by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.cache_bytes = Counter(
            "framefarm_cache_bytes",
            "Bytes of frames taken from the cache (reused) or rendered and stored (made)",
            ["outcome"],
            registry=self.registry,
        )
        self.orchestrating: Callable[[], bool] = lambda: True
        self.queue_depths: Callable[[], dict[str, int]] = dict
        self._phases: dict[str, Phase] = {}
        self._rendered: dict[str, int] = {}
        self._encoded: dict[str, int] = {}
        self._lock = threading.Lock()
        self.registry.register(_StateCollector(self))

    def on_state(self, state: JobState) -> None:
        """An orchestrator listener: phases on every replica; frames rendered and encoded are
        counted where it orchestrates (a follower only keeps up with the counts, so that a
        replica that takes over counts from there)."""
        rendered = sum(state.chunk_frames[i] for i in state.committed)
        encoded = state.frames_encoded
        with self._lock:
            self._phases[state.job_id] = state.phase
            grown_rendered = rendered - self._rendered.get(state.job_id, 0)
            grown_encoded = encoded - self._encoded.get(state.job_id, 0)
            self._rendered[state.job_id] = max(rendered, self._rendered.get(state.job_id, 0))
            self._encoded[state.job_id] = max(encoded, self._encoded.get(state.job_id, 0))
        if not self.orchestrating():
            return
        if grown_rendered > 0:
            self.frames_rendered.inc(grown_rendered)
        if grown_encoded > 0:
            self.frames_encoded.inc(grown_encoded)

    def attach(self, orchestrator: Orchestrator) -> Callable[[], None]:
        """Follow ``orchestrator``'s states; returns a function that stops following."""
        if isinstance(orchestrator, ReplicaOrchestrator):
            self.orchestrating = orchestrator.leading.is_set
        return orchestrator.subscribe(self.on_state)

    def on_event(self, event: Event) -> None:
        """Called by the event pump for each event it handles (the orchestrating replica)."""
        if isinstance(event, ChunkCommitted):
            self.chunk_seconds.observe(event.render_seconds)
            made = event.frame_count - event.frames_reused
            self.cache_lookups.labels("frame", "hit").inc(event.frames_reused)
            self.cache_lookups.labels("frame", "miss").inc(made)
            self.cache_bytes.labels("reused").inc(event.bytes_reused)
            self.cache_bytes.labels("made").inc(event.bytes_written)
        elif isinstance(event, SegmentEncoded):
            self.segment_seconds.observe(event.encode_seconds)
            self.cache_lookups.labels("segment", "hit" if event.reused else "miss").inc()
        elif isinstance(event, AudioReady):
            self.cache_lookups.labels("soundtrack", "hit" if event.reused else "miss").inc()
        elif isinstance(event, JobFailed):
            self.errors.labels(event.component).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Gauges computed at scrape time: jobs by phase, and the queues' depths."""

    def __init__(self, metrics: FarmMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "framefarm_jobs", "Jobs this coordinator knows, by phase", labels=["phase"]
        )
        with self.metrics._lock:
            phases = list(self.metrics._phases.values())
        for phase in Phase:
            jobs.add_metric([phase.value], sum(1 for p in phases if p is phase))
        yield jobs
        leader = GaugeMetricFamily(
            "framefarm_coordinator_orchestrating", "1 on the replica that orchestrates"
        )
        leader.add_metric([], 1.0 if self.metrics.orchestrating() else 0.0)
        yield leader
        depths = GaugeMetricFamily(
            "framefarm_queue_messages", "Messages waiting in each queue", labels=["queue"]
        )
        try:
            for queue, count in sorted(self.metrics.queue_depths().items()):
                depths.add_metric([queue], count)
        except Exception as error:  # a broker that is away costs this gauge, not the scrape
            log.warning("queue depths: %s: %s", type(error).__name__, error)
        yield depths
