"""Long-running farm processes (`framefarm worker`, `framefarm stitcher`): start, then stop
cleanly on SIGTERM/SIGINT, finishing or returning the message in hand."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from common.config import ServiceSettings
from framefarm.farm import Farm, worker_name

log = logging.getLogger(__name__)


def serve(role: str, threads: int) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = ServiceSettings()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with Farm.distributed(settings) as farm:
        queue = farm.register_renderer() if role == "worker" else farm.register_stitcher()
        farm.start_worker({queue}, threads)
        log.info("%s ready: %s", role, worker_name(role))
        stop.wait()
