"""The OpenAPI document is the truth: schemathesis, with every check, against a live
``framefarm coordinator --embedded`` finds no server error, no answer the document does not
describe (status, content type, body, ``Allow``), no schema-invalid input accepted, and no route
open without the token.

Bounded: small example counts and a time budget for the two request bodies. The service's limits
are set tiny, so any export schemathesis manages to get accepted renders a few 64 px frames.
The accepted statuses of a schema-valid body are widened in ``schemathesis.toml`` (beside this
file) to 413 and 422: cross-field rules and configured limits are not JSON Schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.processes import FramefarmProcess
from sandbox.services import free_ports
from tests.coordinator.api_client import Api

HERE = Path(__file__).resolve().parent
TOKEN = "fuzz-token"
TINY_LIMITS = {
    "FRAMEFARM_MAX_WIDTH": "64",
    "FRAMEFARM_MAX_HEIGHT": "64",
    "FRAMEFARM_MAX_PIXELS": "4096",
    "FRAMEFARM_MAX_FRAMES": "8",
}
RUN_TIMEOUT_S = 240.0  # only catches a hang; the runs budget themselves


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """``framefarm coordinator --embedded`` on a free port, with a token and tiny limits."""
    root = tmp_path_factory.mktemp("fuzzed")
    (port,) = free_ports(1)
    env = {
        **os.environ,
        **TINY_LIMITS,
        "FRAMEFARM_API_TOKEN": TOKEN,
        "FRAMEFARM_LOCAL_STORE": str(root / "store"),
        "PYTHONUNBUFFERED": "1",
    }
    command = ["coordinator", "--embedded", "--workers", "1", "--port", str(port)]
    api = Api(f"http://127.0.0.1:{port}", TOKEN)
    with FramefarmProcess(command, env, root / "coordinator.log") as process:
        deadline = time.monotonic() + 60
        while not _serving(api):
            if process.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((root / "coordinator.log").read_text())
            time.sleep(0.1)
        yield api
        log = (root / "coordinator.log").read_text()
    assert "Traceback" not in log, log


def _serving(api: Api) -> bool:
    try:
        return api.get("/healthz", auth=False).status == 200
    except OSError:
        return False


def schemathesis(api: Api, cwd: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """A run from ``cwd`` (where schemathesis keeps its cache: a fresh one each time)."""
    config = ("--config-file", str(HERE / "schemathesis.toml"))
    command = [
        *(sys.executable, "-m", "schemathesis.cli", *config, "run", f"{api.base}/openapi.json"),
        *("--checks", "all", "--workers", "1", "--exclude-path-regex", "^/ws/"),
        *("--header", f"Authorization: Bearer {TOKEN}", "--seed", "14"),
        *options,
    ]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(("--exclude-method", "POST", "-n", "10"), id="queries-and-paths"),
        pytest.param(("--include-method", "POST", "-n", "10", "--max-time", "30"), id="bodies"),
    ],
)
def test_schemathesis_finds_nothing_against_the_openapi_document(
    coordinator: Api, options: tuple[str, ...], tmp_path: Path
) -> None:
    run = schemathesis(coordinator, tmp_path, *options)
    report = run.stdout + run.stderr
    assert "Configuration:" in report and "schemathesis.toml" in report, report
    assert " passed" in report and "generated" in report, report
    assert run.returncode == 0, report  # any failure of any check, server errors included
