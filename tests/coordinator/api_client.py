"""A real client of the coordinator's API for tests: HTTP over ``http.client`` (redirects are not
followed, so a 307 can be inspected), WebSockets with ``websockets``' sync client, and the checks
every progress feed must pass. Used by tests/coordinator/test_api.py (in-process server) and
tests/integration/test_coordinator.py (uvicorn subprocess)."""

from __future__ import annotations

import copy
import http.client
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]
DEMO: dict[str, Any] = json.loads((REPO / "examples" / "demo.json").read_text())
DEMO_FILE_NAME = "Neon-Drive"  # file_stem("Neon Drive"): the download's name

TINY: dict[str, Any] = {"width": 96, "height": 54, "fps": 10, "endBeat": 4}
TINY_FRAMES = 20  # 4 beats at 120 bpm = 2 s at 10 fps
LONGER: dict[str, Any] = {"width": 320, "height": 180, "fps": 24, "endBeat": 16}
LONGER_FRAMES = 192  # 8 s at 24 fps: 4 chunks of 48, a few seconds of rendering on a CPU

PHASE_ORDER = ("queued", "rendering", "stitching")
FEED_TIMEOUT_S = float(os.environ.get("FRAMEFARM_TEST_FEED_TIMEOUT", "90"))
"""How long a test waits on a job's feed: only a hang is caught. scripts/mutation shortens it,
since a mutant that breaks a job's flow leaves its tests waiting this long."""


def demo(**changes: Any) -> dict[str, Any]:
    """A copy of examples/demo.json with top-level keys replaced."""
    project = copy.deepcopy(DEMO)
    project.update(changes)
    return project


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> str:
        """The ``error`` of a problem document."""
        return str(self.json()["error"])

    def issue_paths(self) -> list[str]:
        return [str(issue["path"]) for issue in self.json().get("issues", [])]

    def issue(self, path: str, words: str = "") -> dict[str, Any]:
        """The issue at ``path`` whose message has ``words`` (AssertionError listing them all if
        there is none)."""
        issues: list[dict[str, Any]] = self.json().get("issues", [])
        for issue in issues:
            if issue["path"] == path and words in issue["message"]:
                return issue
        raise AssertionError(f"no issue at {path!r} saying {words!r} in {issues}")


_NO_BODY: Any = object()


@dataclass(frozen=True)
class Api:
    """The coordinator at ``base`` (``http://127.0.0.1:PORT``), with a token if it needs one."""

    base: str
    token: str | None = None
    timeout: float = 30.0

    @property
    def host(self) -> str:
        return urlsplit(self.base).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        port = urlsplit(self.base).port
        assert port is not None, self.base
        return port

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | Iterable[bytes] | None = None,
        json_body: Any = _NO_BODY,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Reply:
        """One request on a fresh connection; an Iterable body is sent chunked (no length)."""
        sent = dict(headers or {})
        if json_body is not _NO_BODY:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        if auth and self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            chunked = body is not None and not isinstance(body, bytes)
            connection.request(method, path, body=body, headers=sent, encode_chunked=chunked)
            response = connection.getresponse()
            data = response.read()
            names = {name.lower(): value for name, value in response.getheaders()}
            return Reply(response.status, names, data)
        finally:
            connection.close()

    def get(self, path: str, **options: Any) -> Reply:
        return self.request("GET", path, **options)

    def delete(self, path: str, **options: Any) -> Reply:
        return self.request("DELETE", path, **options)

    def submit(self, project: Any, settings: Any = None, **options: Any) -> Reply:
        return self._post_export("/api/exports", project, settings, **options)

    def plan(self, project: Any, settings: Any = None, **options: Any) -> Reply:
        """``POST /api/exports/plan``: the same body as a submission (settings left out when
        None)."""
        return self._post_export("/api/exports/plan", project, settings, **options)

    def _post_export(self, path: str, project: Any, settings: Any, **options: Any) -> Reply:
        document: dict[str, Any] = {"project": project}
        if settings is not None:
            document["settings"] = settings
        return self.request("POST", path, json_body=document, **options)

    def submit_ok(self, project: Any, settings: Any = None) -> dict[str, Any]:
        """Submit an export that must be accepted; its 202 document."""
        reply = self.submit(project, settings)
        assert reply.status == 202, (reply.status, reply.body)
        accepted: dict[str, Any] = reply.json()
        assert reply.headers["location"] == f"/api/exports/{accepted['job_id']}"
        return accepted

    def status(self, job_id: str) -> dict[str, Any]:
        reply = self.get(f"/api/exports/{job_id}")
        assert reply.status == 200, (reply.status, reply.body)
        document: dict[str, Any] = reply.json()
        return document

    def wait_for_phase(
        self, job_id: str, phases: tuple[str, ...], timeout: float = FEED_TIMEOUT_S
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            document = self.status(job_id)
            if document["phase"] in phases:
                return document
            if time.monotonic() > deadline:
                raise AssertionError(f"{job_id} still {document['phase']} after {timeout} s")
            time.sleep(0.1)

    def ws_url(self, job_id: str, *, ticket: str | None = None) -> str:
        url = f"ws://{self.host}:{self.port}/ws/exports/{job_id}"
        return f"{url}?{urlencode({'ticket': ticket})}" if ticket is not None else url

    def ticket(self, job_id: str) -> str:
        """A single-use WebSocket ticket for the job (``POST /api/exports/{id}/ticket``)."""
        reply = self.request("POST", f"/api/exports/{job_id}/ticket")
        assert reply.status == 200, (reply.status, reply.body)
        document: dict[str, Any] = reply.json()
        assert document["events_url"] == f"/ws/exports/{job_id}?ticket={document['ticket']}"
        return str(document["ticket"])

    def connect(
        self, job_id: str, *, token: str | None = None, ticket: str | None = None
    ) -> ClientConnection:
        """A WebSocket on the job's feed: with ``ticket`` (as a browser does), else with the
        token (``token``, or this client's) in the handshake's Authorization header."""
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token and ticket is None else None
        url = self.ws_url(job_id, ticket=ticket)
        return connect(url, open_timeout=10, close_timeout=5, additional_headers=headers)

    def follow(self, job_id: str, timeout: float = FEED_TIMEOUT_S) -> list[dict[str, Any]]:
        """Every message of the job's feed until the server closes it after the last one."""
        with self.connect(job_id) as socket:
            return read_feed(socket, timeout)


def receive(socket: ClientConnection, timeout: float = FEED_TIMEOUT_S) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=timeout))
    return message


def read_feed(socket: ClientConnection, timeout: float = FEED_TIMEOUT_S) -> list[dict[str, Any]]:
    """Messages until ``complete`` or ``error``; then the server must close the socket cleanly."""
    deadline = time.monotonic() + timeout
    messages: list[dict[str, Any]] = []
    while not messages or messages[-1]["type"] == "progress":
        messages.append(receive(socket, max(deadline - time.monotonic(), 0.1)))
    try:
        extra = socket.recv(timeout=10)
    except ConnectionClosedOK:
        return messages
    raise AssertionError(f"a message after {messages[-1]['type']}: {extra!r}")


def check_progress(messages: list[dict[str, Any]], frames_total: int) -> None:
    """Progress messages: every field, frames within the total, percent and phase never going
    backwards."""
    percent, phase = -1.0, 0
    for message in messages:
        assert message["type"] == "progress", message
        assert message["phase"] in PHASE_ORDER, message
        assert PHASE_ORDER.index(message["phase"]) >= phase, messages
        phase = PHASE_ORDER.index(message["phase"])
        assert message["framesTotal"] == frames_total, message
        assert 0 <= message["framesDone"] <= frames_total, message
        assert "etaSeconds" in message, message
        eta = message["etaSeconds"]
        assert eta is None or (isinstance(eta, int | float) and eta >= 0), message
        assert isinstance(message["message"], str) and message["message"], message
        assert 0.0 <= message["percent"] <= 100.0, message
        assert message["percent"] >= percent, messages
        percent = message["percent"]


def check_complete_feed(
    messages: list[dict[str, Any]], job_id: str, frames_total: int, *, signed: bool = False
) -> None:
    """Progress messages, then exactly one ``complete`` naming the download (a signed link when
    the API has tokens)."""
    *progress, last = messages
    check_progress(progress, frames_total)
    assert set(last) == {"type", "url", "percent"}, messages
    assert (last["type"], last["percent"]) == ("complete", 100.0), messages
    path, _, query = str(last["url"]).partition("?")
    assert path == f"/api/exports/{job_id}/download", messages
    assert ("sig=" in query) == signed, messages


def check_same_state(message: dict[str, Any], status: dict[str, Any]) -> None:
    """A progress message says what ``GET /api/exports/{job_id}`` said."""
    assert message["type"] == "progress", message
    seen = (message["phase"], message["framesDone"], message["framesTotal"], message["percent"])
    expected = (status["phase"], status["frames_done"], status["frames_total"], status["percent"])
    assert seen == expected, (message, status)


def check_not_behind(message: dict[str, Any], status: dict[str, Any]) -> None:
    """A progress message no older than an earlier ``GET`` (work may have moved on since)."""
    assert message["type"] == "progress", message
    assert message["phase"] == status["phase"], (message, status)
    assert message["framesTotal"] == status["frames_total"], (message, status)
    assert message["framesDone"] >= status["frames_done"], (message, status)
    assert message["percent"] >= status["percent"], (message, status)
