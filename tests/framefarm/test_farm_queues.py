"""What the embedded farm tells the watchdog: the work waiting in its in-process queues."""

from __future__ import annotations

from pathlib import Path

from common.adapters.storage import LocalStore
from common.config import Limits
from common.format.validation import validate_export
from framefarm.farm import Farm
from tests.coordinator.test_orchestrator import PROJECT, SETTINGS


def test_the_embedded_farm_counts_the_commands_no_worker_took(tmp_path: Path) -> None:
    farm = Farm.embedded(LocalStore(tmp_path / "store"))
    try:
        assert farm.waiting_work() == 0
        export = validate_export(PROJECT, {**SETTINGS, "audio": True}, Limits())
        state = farm.orchestrator().submit(export, chunk_frames=10)
        assert farm.waiting_work() == state.chunk_count + 1  # the chunks and the soundtrack
    finally:
        farm.close()
