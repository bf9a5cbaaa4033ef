"""The distributed farm's processes for tests and benchmarks: a corner of the shared services
(queue prefix and bucket) per run, ``framefarm worker``/``stitcher`` processes, and waiting until
their queues have consumers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self
from urllib.parse import unquote, urlsplit

from common.adapters.storage import S3Store
from common.config import ServiceSettings
from sandbox.services import RABBITMQCTL_TIMEOUT_S, SeaweedS3, tail

REPO = Path(__file__).resolve().parents[1]
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class FarmConfig:
    """One test's corner of the shared services: its own queue prefix and its own bucket."""

    server: SeaweedS3
    amqp_url: str
    queue_prefix: str
    bucket: str

    @property
    def settings(self) -> ServiceSettings:
        return ServiceSettings.model_validate(
            {
                **self.server.settings(self.bucket).model_dump(),
                "amqp_url": self.amqp_url,
                "queue_prefix": self.queue_prefix,
            }
        )

    @property
    def env(self) -> dict[str, str]:
        """The environment of a ``framefarm worker``/``stitcher`` process of this farm."""
        return {
            **os.environ,
            **self.server.env(self.bucket),
            "FRAMEFARM_AMQP_URL": self.amqp_url,
            "FRAMEFARM_QUEUE_PREFIX": self.queue_prefix,
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def vhost(self) -> str:
        return unquote(urlsplit(self.amqp_url).path.lstrip("/"))

    def queue(self, kind: str) -> str:
        """``render``, ``stitch``, ``events`` or their ``.XQ``/``.DQ`` queues, with the prefix."""
        return f"{self.queue_prefix}.{kind}"


class FramefarmProcess:
    """``python -m framefarm COMMAND...`` with ``env``, its output in ``log`` (appended, so a
    restart keeps the earlier run's lines); ``stop`` sends SIGTERM, waits, then SIGKILLs."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._output: IO[bytes] | None = log.open("ab")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "framefarm", *command],
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            self._output.close()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL, as a machine dying would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        """SIGTERM: the process finishes or returns the message in hand, then exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        """SIGTERM, wait, then SIGKILL if it has not exited; the exit status."""
        self.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None
        return self.process.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Service(FramefarmProcess):
    """A ``framefarm worker``, ``stitcher`` or ``encoder`` process of a test's farm; stopped on
    leaving ``with``. Its output goes to a log file, shown when a test fails."""

    def __init__(
        self,
        role: str,
        config: FarmConfig,
        log_dir: Path,
        name: str = "",
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.role = role
        environment = {**config.env, **(env or {})}
        super().__init__([role, *args], environment, log_dir / f"{name or role}.log")

    def text(self) -> str:
        """Everything it has logged so far."""
        return self.log.read_text(errors="replace")

    def output(self, lines: int = 40) -> str:
        """The end of its log, without pika's chatter."""
        text = tail(self.log, 100_000).splitlines()
        ours = [line for line in text if " pika." not in line][-lines:]
        return f"--- {self.log.name} (exit {self.process.poll()})\n" + "\n".join(ours)


class Processes:
    """The farm processes a test started; all stopped on leaving ``with``, newest first, and
    their logs printed (pytest shows them when the test failed)."""

    def __init__(
        self, config: FarmConfig, log_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.config = config
        self.log_dir = log_dir
        self.env = env or {}
        """Variables every process gets on top of the farm's (proxies, short retries)."""
        self.started: list[Service] = []

    def start(self, role: str, name: str, *args: str, env: dict[str, str] | None = None) -> Service:
        """``framefarm ROLE ARGS`` with this farm's environment, plus ``env``."""
        service = Service(role, self.config, self.log_dir, name, args, {**self.env, **(env or {})})
        self.started.append(service)
        return service

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for service in self.started:
            service.terminate()  # all at once: each takes a moment to shut down
        for service in reversed(self.started):
            service.stop()
        for service in self.started:
            print(service.output())


@contextlib.contextmanager
def isolated_farm(s3_server: SeaweedS3, rabbit_url: str, label: str) -> Iterator[FarmConfig]:
    """A queue prefix and a bucket of this test's own; the bucket goes (with its objects) after."""
    token = uuid.uuid4().hex[:12]
    config = FarmConfig(s3_server, rabbit_url, f"{label}-{token}", f"{label}-{token}")
    yield config
    store = S3Store(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        config.bucket,
        create_bucket=False,
    )
    if store.client.bucket_exists(config.bucket):
        store.client.remove_bucket(config.bucket)  # SeaweedFS removes non-empty buckets


@dataclass(frozen=True)
class QueueCounts:
    ready: int
    unacked: int
    consumers: int


def queue_counts(vhost: str) -> dict[str, QueueCounts]:
    """Every queue of ``vhost`` with its ready and unacknowledged messages and its consumers."""
    result = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "--no-table-headers",
            "list_queues",
            "-p",
            vhost,
            "name",
            "messages_ready",
            "messages_unacknowledged",
            "consumers",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=RABBITMQCTL_TIMEOUT_S,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    counts = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            name, ready, unacked, consumers = parts
            counts[name] = QueueCounts(int(ready), int(unacked), int(consumers))
    return counts


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_for_consumers(config: FarmConfig, kind: str, count: int, timeout: float = 30.0) -> None:
    """Until ``count`` processes consume the queue (the workers are ready)."""
    queue = config.queue(kind)

    def ready() -> bool:
        counts = queue_counts(config.vhost).get(queue)
        return counts is not None and counts.consumers >= count

    wait_for(ready, timeout, f"{count} consumer(s) on {queue}", interval=0.3)
