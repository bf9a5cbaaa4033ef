"""Long-running farm processes (`framefarm worker`, `framefarm stitcher`): start, then stop
cleanly on SIGTERM/SIGINT, finishing or returning the message in hand."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from common.config import Config, ServiceSettings
from framefarm.farm import Farm, worker_name

log = logging.getLogger(__name__)


def serve(role: str, threads: int, settings: ServiceSettings, *, encode: bool = True) -> None:
    """``role`` is ``worker`` (renders), ``encoder`` (encodes segments) or ``stitcher``
    (soundtracks, the join, and segment encodes unless ``encode`` is False)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with Farm.distributed(settings) as farm:
        if role == "worker":
            queues = {farm.register_renderer()}
        else:
            cpu = farm.register_stitcher()
            if role == "encoder":
                queues = {farm.queues.encode}
            else:
                queues = cpu if encode else cpu - {farm.queues.encode}
        farm.start_worker(queues, threads)
        log.info("%s ready: %s", role, worker_name(role))
        stop.wait()


def coordinator_farm(settings: ServiceSettings, *, embedded: bool, workers: int) -> Farm:
    """The coordinator's farm: the configured distributed one, or render threads in-process."""
    from common.adapters.storage import make_store

    if not embedded:
        return Farm.distributed(settings)
    farm = Farm.embedded(make_store(settings), settings.queue_prefix, settings.segment_seconds)
    farm.start_embedded_workers(workers)
    return farm


def serve_coordinator(
    host: str, port: int, config: Config, *, embedded: bool, workers: int
) -> None:
    import uvicorn

    from coordinator.app import create_app
    from coordinator.housekeeping import CachePolicy
    from coordinator.page import EXAMPLES_DIR, STATIC_DIR

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not config.coordinator.tokens and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("no API token configured: anyone who reaches %s:%d may use the API", host, port)
    examples = EXAMPLES_DIR if EXAMPLES_DIR.is_dir() else None
    app = create_app(
        lambda: coordinator_farm(config.service, embedded=embedded, workers=workers),
        limits=config.limits,
        settings=config.coordinator,
        static_dir=STATIC_DIR,
        examples_dir=examples,
        cache=CachePolicy(
            config.service.cache_max_bytes,
            config.service.cache_sweep_seconds,
            config.service.cache_grace_seconds,
        ),
    )
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on")
