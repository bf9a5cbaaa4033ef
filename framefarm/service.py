"""Long-running farm processes (`framefarm worker`, `framefarm stitcher`): start, then stop
cleanly on SIGTERM/SIGINT, finishing or returning the message in hand."""

from __future__ import annotations

import logging
import shutil
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from common.adapters.ffmpeg import FFMPEG, FFPROBE
from common.config import Config, ServiceSettings
from common.errors import FramefarmError
from framefarm.farm import Farm, worker_name
from framefarm.health import Heartbeat
from framefarm.logs import MessageLogContext, configure_logging

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger(__name__)


def serve(role: str, threads: int, settings: ServiceSettings, *, encode: bool = True) -> None:
    """``role`` is ``worker`` (renders), ``encoder`` (encodes segments) or ``stitcher``
    (soundtracks, the join, and segment encodes unless ``encode`` is False).

    On SIGTERM a render worker returns the chunk in hand to the queue at its next frame (the
    other actors finish the message in hand), then the process exits. Every role runs ffmpeg (a
    worker encodes the segments inside its chunks): without it the process refuses to start
    (FramefarmError, one line) rather than take messages it cannot do."""
    configure_logging(settings.log_format)
    check_tools()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with Farm.distributed(settings, role) as farm:
        farm.broker.add_middleware(MessageLogContext())
        if settings.metrics_port is not None:
            from prometheus_client import CollectorRegistry

            from framefarm.metrics import ActorMetrics, serve_metrics

            registry = CollectorRegistry()
            farm.broker.add_middleware(ActorMetrics(registry))
            serve_metrics(registry, settings.metrics_port)
        if role == "worker":
            queues = {farm.register_renderer()}
        else:
            cpu = farm.register_stitcher()
            if role == "encoder":
                queues = {farm.queues.encode}
            else:
                queues = cpu if encode else cpu - {farm.queues.encode}
        farm.start_worker(queues, threads)
        heartbeat = None
        if settings.heartbeat_file:
            heartbeat = Heartbeat(Path(settings.heartbeat_file), farm.alive, role)
            heartbeat.start()
        log.info("%s ready: %s", role, worker_name(role))
        stop.wait()
        farm.draining.set()  # before the workers stop: a chunk under way goes back at once
        if heartbeat is not None:
            heartbeat.stop()


def check_tools() -> None:
    """FramefarmError naming what is missing unless ffmpeg and ffprobe are on PATH."""
    missing = [tool for tool in (FFMPEG, FFPROBE) if shutil.which(tool) is None]
    if missing:
        raise FramefarmError(
            f"{' and '.join(missing)} not found on PATH: install ffmpeg; not consuming messages"
        )


def coordinator_farm(settings: ServiceSettings, *, embedded: bool, workers: int) -> Farm:
    """The coordinator's farm: the configured distributed one, or render threads in-process."""
    from common.adapters.storage import make_store

    if not embedded:
        return Farm.distributed(settings, "coordinator", replicated=True)
    farm = Farm.embedded(make_store(settings), settings.queue_prefix, settings.segment_seconds)
    farm.start_embedded_workers(workers)
    return farm


def coordinator_app(config: Config, *, embedded: bool, workers: int) -> Starlette:
    """The coordinator's app as ``framefarm coordinator`` serves it: the farm, the page, the
    examples and the metrics (fed by the farm's events and the orchestrator's states)."""
    from coordinator.app import create_app
    from coordinator.cache_sweeper import CachePolicy
    from coordinator.metrics import FarmMetrics
    from coordinator.page import EXAMPLES_DIR, STATIC_DIR

    examples = EXAMPLES_DIR if EXAMPLES_DIR.is_dir() else None
    metrics = FarmMetrics()

    def farm_factory() -> Farm:
        farm = coordinator_farm(config.service, embedded=embedded, workers=workers)
        farm.event_observers.append(metrics.on_event)
        metrics.queue_depths = farm.queue_depths
        return farm

    return create_app(
        farm_factory,
        limits=config.limits,
        settings=config.coordinator,
        static_dir=STATIC_DIR,
        examples_dir=examples,
        metrics=metrics,
        cache=CachePolicy(
            config.service.cache_max_bytes,
            config.service.cache_sweep_seconds,
            config.service.cache_grace_seconds,
        ),
    )


def serve_coordinator(
    host: str, port: int, config: Config, *, embedded: bool, workers: int
) -> None:
    import uvicorn

    configure_logging(config.service.log_format)
    if not config.coordinator.tokens and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("no API token configured: anyone who reaches %s:%d may use the API", host, port)
    app = coordinator_app(config, embedded=embedded, workers=workers)
    # With JSON logs uvicorn configures no loggers of its own: its lines reach ours as JSON.
    json_logs = config.service.log_format == "json"
    options: dict[str, Any] = {"log_config": None} if json_logs else {}
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on", **options)
