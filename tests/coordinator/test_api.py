"""The coordinator's HTTP and WebSocket API (coordinator/app.py) in this process: the app served
by uvicorn on a thread, over an embedded farm (in-process broker, local store, render and stitch
threads), called by a real HTTP and a real WebSocket client (tests/coordinator/api_client.py).

The same API against RabbitMQ, S3 and farm processes: tests/integration/test_coordinator.py.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from common.adapters.bus import Queues, rabbitmq_broker
from common.adapters.storage import LocalStore
from common.config import CoordinatorSettings, Limits, ServiceSettings
from common.format.validation import validate_export
from common.jobs.keys import JobKeys
from coordinator.app import FarmRuntime, Services, create_app
from coordinator.page import STATIC_DIR
from coordinator.views import export_plan
from framefarm.farm import Farm
from framefarm.service import coordinator_farm
from sandbox.processes import wait_for
from tests.coordinator.api_client import (
    DEMO_FILE_NAME,
    LONGER,
    LONGER_FRAMES,
    TINY,
    TINY_FRAMES,
    Api,
    check_complete_feed,
    check_progress,
    demo,
    read_feed,
    receive,
)
from tests.factories import note, project_data, track
from tests.integration.helpers import ffprobe

UNKNOWN_JOB = "0123456789abcdef"  # a well-formed id that no job has
TOKEN = "s3cret-token"


class LiveServer:
    """``app`` served by uvicorn on a thread of this process, on a free port of 127.0.0.1; the
    lifespan runs as in production (the farm opens on start and closes on exit)."""

    def __init__(self, app: Starlette, token: str | None = None) -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        port = int(self._socket.getsockname()[1])
        self.api = Api(f"http://127.0.0.1:{port}", token)
        config = uvicorn.Config(
            app, lifespan="on", log_level="warning", timeout_graceful_shutdown=10
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("the coordinator did not start (see the captured log)")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(20)
        self._socket.close()
        assert not self._thread.is_alive(), "the server did not stop within 20 s"


def embedded_farm(root: Path, *, workers: bool = True) -> Callable[[], Farm]:
    """A farm factory: in-process broker, a local store under ``root``, one render and one
    stitch thread (started later by ``start_workers`` when ``workers`` is False)."""

    def factory() -> Farm:
        farm = Farm.embedded(LocalStore(root / "store"))
        (root / "work").mkdir(parents=True, exist_ok=True)
        farm.register_renderer("embedded")
        farm.register_stitcher(root / "work")
        if workers:
            start_workers(farm)
        return farm

    return factory


def start_workers(runtime: FarmRuntime) -> None:
    assert isinstance(runtime, Farm)
    farm = runtime
    queues = {farm.queues.render, farm.queues.stitch, farm.queues.audio, farm.queues.encode}
    farm.start_worker(queues, threads=2)


Serve = Callable[..., LiveServer]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start coordinators for this test: ``serve(factory=..., limits=..., settings=...)``; the
    default farm has running workers. All are stopped when the test ends."""
    started: list[LiveServer] = []

    def start(
        factory: Callable[[], Farm] | None = None,
        *,
        limits: Limits | None = None,
        settings: CoordinatorSettings | None = None,
        static_dir: Path | None = None,
    ) -> LiveServer:
        root = tmp_path / f"farm{len(started)}"
        settings = settings or CoordinatorSettings(api_token=None)  # whatever the shell says
        app = create_app(
            factory or embedded_farm(root),
            limits=limits or Limits(),
            settings=settings,
            static_dir=static_dir,
        )
        server = LiveServer(app, settings.api_token).__enter__()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.__exit__()


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One coordinator without workers, for requests that never need a job to run."""
    root = tmp_path_factory.mktemp("idle")
    app = create_app(
        embedded_farm(root, workers=False),
        limits=Limits(),
        settings=CoordinatorSettings(api_token=None),
    )
    with LiveServer(app) as server:
        yield server


# --- an export end to end --------------------------------------------------------------------


def test_an_export_is_followed_over_the_websocket_and_downloaded(
    serve: Serve, tmp_path: Path
) -> None:
    server = serve(embedded_farm(tmp_path / "farm", workers=False))
    api = server.api
    accepted = api.submit_ok(demo(), TINY)
    job_id = accepted["job_id"]
    assert accepted == {
        "job_id": job_id,
        "phase": "queued",
        "frames_total": TINY_FRAMES,
        "chunks_total": 1,
        "status_url": f"/api/exports/{job_id}",
        "events_url": f"/ws/exports/{job_id}",
        "download_url": f"/api/exports/{job_id}/download",
    }
    with api.connect(job_id) as feed:
        first = receive(feed)  # no worker yet: the job is queued, and the feed says so first
        assert first == {
            "type": "progress",
            "percent": 0.0,
            "message": "Waiting for a render worker",
            "phase": "queued",
            "framesDone": 0,
            "framesEncoded": 0,
            "framesTotal": TINY_FRAMES,
            "etaSeconds": None,
            "renderFps": None,
            "framesReused": 0,
            "reuse": "reused 0 of 0 frames, 0 of 0 segments (0.0 MB)",
            "thumbnailUrl": None,
        }
        start_workers(server.services.farm)
        messages = [first, *read_feed(feed)]
    check_complete_feed(messages, job_id, TINY_FRAMES)

    status = api.status(job_id)
    assert status["phase"] == "complete"
    assert (status["percent"], status["frames_done"], status["eta_seconds"]) == (100.0, 20, 0.0)
    assert status["download_url"] == f"/api/exports/{job_id}/download"
    download = api.get(f"/api/exports/{job_id}/download")
    assert download.status == 200
    assert download.headers["content-type"] == "video/mp4"
    assert download.headers["content-disposition"] == (
        f'attachment; filename="{DEMO_FILE_NAME}.mp4"'
    )
    assert len(download.body) == status["size_bytes"]
    video = tmp_path / "download.mp4"
    video.write_bytes(download.body)
    probe = ffprobe(video)
    assert (probe.frame_count, probe.width, probe.height, probe.fps) == (
        TINY_FRAMES,
        96,
        54,
        Fraction(10),
    )
    assert probe.codec == "h264"


def test_the_production_wiring_runs_an_export(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``framefarm coordinator --embedded``'s farm (framefarm.service.coordinator_farm)."""
    monkeypatch.setenv("FRAMEFARM_LOCAL_STORE", str(tmp_path / "store"))
    settings = ServiceSettings()  # read after the environment above is set
    api = serve(lambda: coordinator_farm(settings, embedded=True, workers=1)).api
    job_id = api.submit_ok(demo(), {**TINY, "format": "webm"})["job_id"]
    check_complete_feed(api.follow(job_id), job_id, TINY_FRAMES)
    download = api.get(f"/api/exports/{job_id}/download")
    assert download.status == 200
    assert download.headers["content-disposition"].endswith(f'filename="{DEMO_FILE_NAME}.webm"')
    assert list((tmp_path / "store").rglob("*.webm"))  # the configured directory was used


# --- bad input -------------------------------------------------------------------------------


def bad_pitch() -> dict[str, Any]:
    return project_data(track("lead", notes=[note(0, pitch=300)]))


@pytest.mark.parametrize(
    ("body", "status", "path", "words"),
    [
        pytest.param(b'{"project": ', 400, None, "malformed JSON", id="malformed-json"),
        pytest.param(b"\xff\xfe{}", 400, None, "malformed JSON", id="not-utf8"),
        pytest.param(b"[1, 2]", 400, None, "expected a JSON object", id="not-an-object"),
        pytest.param(
            {"project": bad_pitch(), "settings": TINY},
            422,
            "project.tracks[0].notes[0].pitch",
            "<= 127",
            id="pitch-300",
        ),
        pytest.param(
            {"project": demo(), "settings": {**TINY, "width": 99999}},
            422,
            "settings.width",
            "max_width",
            id="width-beyond-max_width",
        ),
        pytest.param(
            {"project": demo(), "settings": {**TINY, "fps": 1000}},
            422,
            "settings.fps",
            "max_fps",
            id="fps-beyond-max_fps",
        ),
        pytest.param(
            {"project": demo(), "settings": {**TINY, "width": 97}},
            422,
            "settings.width",
            "even",
            id="odd-width-for-mp4",
        ),
        pytest.param(
            {"project": demo(), "settings": TINY, "priority": 1},
            422,
            "priority",
            "unknown field",
            id="unknown-top-level-key",
        ),
        pytest.param({"settings": TINY}, 422, "project", "required", id="missing-project"),
        pytest.param(
            {"project": demo(), "settings": {**TINY, "frameRate": 30}},
            422,
            "settings.frameRate",
            "unknown field",
            id="unknown-setting",
        ),
        pytest.param(
            {"project": demo(), "settings": {**TINY, "end_beat": 4}},
            422,
            "settings.end_beat",
            "unknown field",
            id="snake-case-setting",
        ),
        pytest.param(
            {"project": demo(durationBeats=-1), "settings": TINY},
            422,
            "project.durationBeats",
            "> 0",
            id="negative-duration",
        ),
        pytest.param(
            {"project": demo(), "settings": {**TINY, "endBeat": 400}},
            422,
            "settings.endBeat",
            "durationBeats",
            id="end-beat-past-the-project",
        ),
        pytest.param({"project": "song"}, 422, "project", "object", id="project-not-an-object"),
    ],
)
@pytest.mark.parametrize("route", ["/api/exports", "/api/exports/plan"], ids=["submit", "plan"])
def test_bad_input_is_refused_naming_the_field(
    idle: LiveServer,
    route: str,
    body: bytes | dict[str, Any],
    status: int,
    path: str | None,
    words: str,
) -> None:
    """A submission and a plan read and validate the body alike."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    queued = len(idle.api.get("/api/exports").json()["exports"])
    reply = idle.api.request("POST", route, body=data, headers={"Content-Type": "application/json"})
    assert reply.status == status, reply.body
    if path is None:
        assert words in reply.error, reply.error
        assert "issues" not in reply.json()
    else:
        reply.issue(path, words)
    assert len(idle.api.get("/api/exports").json()["exports"]) == queued  # nothing was queued


@pytest.mark.parametrize("route", ["/api/exports", "/api/exports/plan"], ids=["submit", "plan"])
def test_every_problem_is_listed_at_once(idle: LiveServer, route: str) -> None:
    """One pass: project fields, the project's cross-field rules, settings fields, settings
    against the format and the project, and the service limits, in one answer."""
    project = project_data(
        track("lead", notes=[note(0, pitch=300)]),
        {**track("bass"), "instrument": {"type": "Theremin"}},
        track("lead"),
        tempoChanges=[{"beat": 8, "bpm": 100}, {"beat": 4, "bpm": 90}],
    )
    project["bpm"] = 0
    settings = {**TINY, "fps": "0/1", "width": 99999, "height": 55, "crf": "high", "endBeat": 99}
    reply = idle.api.request("POST", route, json_body={"project": project, "settings": settings})
    assert reply.status == 422
    assert sorted(reply.issue_paths()) == [
        "project.bpm",
        "project.tempoChanges[1].beat",
        "project.tracks[0].notes[0].pitch",
        "project.tracks[1].instrument",
        "project.tracks[2].id",
        "settings.crf",
        "settings.endBeat",  # past the project's durationBeats
        "settings.fps",
        "settings.height",  # odd, for mp4
        "settings.width",  # over max_width
        "settings.width",  # over max_pixels
    ]
    assert reply.issue("project.tracks[0].notes[0].pitch")["value"] == 300
    reply.issue("settings.width", "limit max_width")
    reply.issue("settings.height", "even")


def test_a_body_over_max_body_bytes_is_refused_with_413(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAMEFARM_MAX_BODY_BYTES", "2048")
    api = serve().api  # the limit read from the environment, as in production
    big = {"project": demo(), "settings": TINY}
    assert len(json.dumps(big)) > 2048
    declared = api.submit(demo(), TINY)
    assert declared.status == 413
    assert "max_body_bytes" in declared.error and "2048" in declared.error, declared.error
    assert api.plan(demo(), TINY).status == 413

    text = json.dumps(big).encode()
    pieces = [text[i : i + 512] for i in range(0, len(text), 512)]
    chunked = api.request("POST", "/api/exports", body=iter(pieces))  # no Content-Length
    assert chunked.status == 413
    assert "max_body_bytes" in chunked.error, chunked.error

    small = project_data(track("lead", notes=[note(0)]))
    assert api.submit(small, TINY).status == 202  # under the limit is fine
    assert len(api.get("/api/exports").json()["exports"]) == 1


# --- planning an export ---------------------------------------------------------------------


def test_a_plan_gives_the_server_s_frames_and_seconds_and_starts_nothing(
    serve: Serve, tmp_path: Path
) -> None:
    """Beats 2-14 of the demo with tempo changes at 6 (90 bpm) and 12 (150 bpm): 2 beats at
    120 and 6 at 90 put beat 2 at 1 s and beat 12 at 7 s, two at 150 put beat 14 at 7.8 s."""
    server = serve(embedded_farm(tmp_path / "farm", workers=False))
    api = server.api
    project = demo(tempoChanges=[{"beat": 6, "bpm": 90}, {"beat": 12, "bpm": 150}])
    settings = {**TINY, "fps": "30000/1001", "startBeat": 2, "endBeat": 14}
    reply = api.plan(project, settings)
    assert reply.status == 200, reply.body
    facts = reply.json()
    export = validate_export(project, settings, Limits())
    assert facts == export_plan(export)
    assert facts["frames"] == export.frame_count == 204  # ceil(6.8 s * 29.97)
    assert (facts["startSeconds"], facts["endSeconds"]) == (1.0, 7.8)
    assert facts["durationSeconds"] == float(export.timeline.duration) == 204 * 1001 / 30000
    assert (facts["fps"], facts["startBeat"], facts["endBeat"]) == ("30000/1001", 2.0, 14.0)
    assert (facts["width"], facts["height"], facts["format"]) == (96, 54, "mp4")
    summary = facts["project"]
    assert [tempo["bpm"] for tempo in summary["tempos"]] == [120.0, 90.0, 150.0]
    assert (summary["name"], summary["durationBeats"], summary["seconds"]) == (
        "Neon Drive",
        16.0,
        8.6,
    )
    assert len(summary["tracks"]) == 4
    assert summary["notes"] == sum(track["notes"] for track in summary["tracks"]) > 0

    whole = api.plan(project)  # no settings yet: the defaults, as a submission would take them
    assert whole.status == 200, whole.body
    assert whole.json() == export_plan(validate_export(project, None, Limits()))
    assert (whole.json()["endSeconds"], whole.json()["frames"]) == (8.6, 516)  # at 60 fps

    refused = api.plan(project, {**settings, "endBeat": 17})
    assert refused.status == 422
    refused.issue("settings.endBeat", "durationBeats")

    assert api.get("/api/exports").json() == {"exports": []}
    farm = server.services.farm
    assert isinstance(farm, Farm)
    assert farm.store.list("") == []  # nothing stored...
    queues = (farm.queues.render, farm.queues.stitch, farm.queues.audio)
    assert [farm.broker.queues[name].qsize() for name in queues] == [0, 0, 0]  # ...nor sent


# --- unknown jobs, unfinished jobs, listing --------------------------------------------------


@pytest.mark.parametrize("job_id", [UNKNOWN_JOB, "NOT-A-JOB", "x"])
def test_an_unknown_job_is_404_everywhere(idle: LiveServer, job_id: str) -> None:
    api = idle.api
    for method, path in (
        ("GET", f"/api/exports/{job_id}"),
        ("DELETE", f"/api/exports/{job_id}"),
        ("GET", f"/api/exports/{job_id}/download"),
    ):
        reply = api.request(method, path)
        assert reply.status == 404, (method, path, reply.body)
        assert reply.error == f"no export {job_id}"
    with api.connect(job_id) as socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=10)  # accepted, then closed with 4404 (not an HTTP 403)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4404, "no such export")


def test_an_unfinished_job_cannot_be_downloaded_and_cancelling_it_ends_its_feed(
    idle: LiveServer,
) -> None:
    api = idle.api
    job_id = api.submit_ok(demo(), TINY)["job_id"]
    early = api.get(f"/api/exports/{job_id}/download")
    assert early.status == 409
    assert early.error == f"export {job_id} is queued, not complete"
    assert api.status(job_id)["download_url"] is None
    unrendered = api.get(f"/api/exports/{job_id}/thumbnail?frame=0")
    assert unrendered.status == 404
    assert unrendered.error == f"frame 0 of {job_id} is not stored"

    with api.connect(job_id) as feed:
        assert receive(feed)["phase"] == "queued"
        cancelled = api.delete(f"/api/exports/{job_id}")
        assert cancelled.status == 200
        assert cancelled.json()["phase"] == "cancelled"
        assert read_feed(feed) == [
            {"type": "error", "message": "the export was cancelled", "phase": "cancelled"}
        ]
    assert api.delete(f"/api/exports/{job_id}").json()["phase"] == "cancelled"  # idempotent
    late = api.get(f"/api/exports/{job_id}/download")
    assert late.status == 409
    assert late.error == f"export {job_id} is cancelled, not complete"
    over = api.get(f"/api/exports/{job_id}/thumbnail?frame=0")  # the live preview has ended
    assert (over.status, over.body) == (204, b"")
    assert api.follow(job_id) == [  # a feed opened afterwards ends at once
        {"type": "error", "message": "the export was cancelled", "phase": "cancelled"}
    ]


def test_a_coordinator_starts_beside_a_corrupt_record_and_fails_only_that_job(
    serve: Serve, tmp_path: Path
) -> None:
    """A status.json nobody can read (a half-written disk, another version's record) costs its
    own job, never the service: start, list, follow and export as usual."""
    store = LocalStore(tmp_path / "farm" / "store")
    corrupt = "c0ffee" * 5
    store.put(JobKeys(corrupt).status, b'{"type": "job_state", "version": 2, "phase": "odd"}')
    api = serve(embedded_farm(tmp_path / "farm")).api  # its lifespan recovers every job

    listed = {e["job_id"]: e for e in api.get("/api/exports").json()["exports"]}
    assert listed[corrupt]["phase"] == "failed"
    assert "stored state is unreadable" in listed[corrupt]["error"]
    assert api.status(corrupt)["phase"] == "failed"
    [message] = api.follow(corrupt)
    assert message["type"] == "error" and "unreadable" in message["message"]

    job_id = api.submit_ok(demo(), TINY)["job_id"]
    check_complete_feed(api.follow(job_id), job_id, TINY_FRAMES)
    assert api.get("/healthz").status == 200


def test_recent_exports_are_listed_newest_first(serve: Serve, tmp_path: Path) -> None:
    api = serve(embedded_farm(tmp_path / "farm", workers=False)).api
    assert api.get("/api/exports").json() == {"exports": []}
    ids = []
    for name in ("first", "second", "third"):
        ids.append(api.submit_ok(demo(name=f"Song {name}"), TINY)["job_id"])
        time.sleep(0.01)
    exports = api.get("/api/exports").json()["exports"]
    assert [e["job_id"] for e in exports] == ids[::-1]
    assert [e["name"] for e in exports] == ["Song-third", "Song-second", "Song-first"]
    assert {e["phase"] for e in exports} == {"queued"}
    assert exports[0] == {**api.status(ids[2]), "name": "Song-third"}
    two = api.get("/api/exports?limit=2").json()["exports"]
    assert [e["job_id"] for e in two] == ids[:0:-1]
    assert [e["job_id"] for e in api.get("/api/exports?limit=2.0").json()["exports"]] == [
        e["job_id"] for e in two
    ]  # JSON Schema's integer: 2.0 is 2
    assert [e["job_id"] for e in api.get("/api/exports?limit=1").json()["exports"]] == ids[2:]
    for wrong in ("many", "0", "-1", "1.5", "nan", "inf", "9" * 5000):
        bad = api.get(f"/api/exports?limit={wrong}")
        assert bad.status == 400, wrong
        assert "limit: expected an integer >= 1" in bad.error


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/exports", "GET, HEAD, POST"),
        ("GET", "/api/exports/plan", "POST"),
        ("POST", f"/api/exports/{UNKNOWN_JOB}", "GET, HEAD, DELETE"),
        ("PATCH", f"/api/exports/{UNKNOWN_JOB}/download", "GET, HEAD"),
    ],
)
def test_a_wrong_method_is_a_405_json_answer_allowing_every_method_of_the_path(
    idle: LiveServer, method: str, path: str, allowed: str
) -> None:
    reply = idle.api.request(method, path)
    assert reply.status == 405
    assert reply.headers["content-type"] == "application/json"
    assert reply.error == "Method Not Allowed"
    assert sorted(reply.headers["allow"].split(", ")) == sorted(allowed.split(", "))


def test_an_unknown_path_is_a_404_json_answer(idle: LiveServer) -> None:
    reply = idle.api.get("/api/nothing")
    assert reply.status == 404
    assert reply.json() == {"error": "Not Found"}


# --- the API token ---------------------------------------------------------------------------


def test_with_a_token_every_route_but_health_and_the_page_needs_it(serve: Serve) -> None:
    server = serve(settings=CoordinatorSettings(api_token=TOKEN), static_dir=STATIC_DIR)
    api = server.api
    job_id = api.submit_ok(demo(), TINY)["job_id"]  # Authorization: Bearer
    routes = [
        ("POST", "/api/exports"),
        ("POST", "/api/exports/plan"),
        ("GET", "/api/exports"),
        ("GET", f"/api/exports/{job_id}"),
        ("DELETE", f"/api/exports/{job_id}"),
        ("GET", f"/api/exports/{job_id}/download"),
        ("POST", f"/api/exports/{job_id}/ticket"),
        ("GET", f"/api/exports/{UNKNOWN_JOB}"),
        ("GET", "/openapi.json"),
    ]
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            reply = api.request(method, path, headers=headers, auth=False)
            assert reply.status == 401, (method, path, headers, reply.body)
            assert "token" in reply.error
        for token in ("wrong", TOKEN):  # never in a URL, even the right one
            in_url = api.request(method, f"{path}?token={token}", auth=False)
            assert in_url.status == 400, (method, path)
            assert "not accepted in URLs" in in_url.error
            assert token not in in_url.body.decode()

    assert api.get("/healthz", auth=False).status == 200
    page = api.get("/", auth=False)
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert api.get("/static/index.html", auth=False).status == 200

    assert api.get(f"/api/exports/{job_id}").status == 200  # Bearer
    assert api.get("/api/exports").json()["exports"][0]["job_id"] == job_id
    assert api.get("/openapi.json").status == 200
    assert api.plan(demo(), TINY).json()["frames"] == TINY_FRAMES  # Bearer

    for token in ("", "wrong"):
        with pytest.raises(InvalidStatus) as refused:
            api.connect(job_id, token=token)  # closed with 4401 before the handshake completes
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):  # nor on a WebSocket
        connect(f"{api.ws_url(job_id)}?token={TOKEN}", open_timeout=10).close()
    messages = api.follow(job_id)  # the token in the handshake's Authorization header
    check_complete_feed(messages, job_id, TINY_FRAMES, signed=True)
    with api.connect(job_id, ticket=api.ticket(job_id)) as socket:  # as a browser does
        again = read_feed(socket)
    assert again[-1]["type"] == "complete"
    link = again[-1]["url"]
    assert TOKEN not in link
    download = api.get(link, auth=False)  # a plain link: signed, short-lived, no token
    assert download.status == 200 and len(download.body) == api.status(job_id)["size_bytes"]
    assert api.get(f"/api/exports/{job_id}/download", auth=False).status == 401  # unsigned


# --- health ----------------------------------------------------------------------------------


def test_health_is_ok_with_store_and_broker_reachable(idle: LiveServer) -> None:
    reply = idle.api.get("/healthz")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "store": "ok", "broker": "ok"}


def unhealthy_says_only_which(reply: Any, failing: str, hidden: list[str]) -> None:
    """503 with ``failing`` "unavailable" and the other "ok"; no host, port or path shown."""
    assert reply.status == 503
    other = {"store": "broker", "broker": "store"}[failing]
    assert reply.json() == {"status": "unhealthy", failing: "unavailable", other: "ok"}
    for secret in hidden:
        assert secret not in reply.body.decode(), reply.body


def test_health_is_503_naming_an_unreachable_broker(serve: Serve, tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    port = closed.getsockname()[1]
    try:

        def factory() -> Farm:
            broker = rabbitmq_broker(f"amqp://guest:guest@127.0.0.1:{port}/%2F")
            store = LocalStore(tmp_path / "store")
            return Farm._assemble(broker, Queues("health"), store, segment_seconds=2.0)

        reply = serve(factory).api.get("/healthz")  # answers although the broker is away
    finally:
        closed.close()
    unhealthy_says_only_which(reply, "broker", [str(port), "127.0.0.1", "AMQP"])


def test_health_is_503_naming_a_missing_store(serve: Serve, tmp_path: Path) -> None:
    server = serve(embedded_farm(tmp_path / "farm"))
    assert server.api.get("/healthz").status == 200
    shutil.rmtree(tmp_path / "farm" / "store")
    reply = server.api.get("/healthz")
    unhealthy_says_only_which(reply, "store", [str(tmp_path), "writable", "Error"])


# --- OpenAPI ---------------------------------------------------------------------------------


def resolve(document: dict[str, Any], node: Any, seen: set[str]) -> None:
    """Every ``$ref`` under ``node`` points at a component that exists."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/components/schemas/"), ref
            name = ref.rsplit("/", 1)[1]
            assert name in document["components"]["schemas"], ref
            seen.add(name)
        for value in node.values():
            resolve(document, value, seen)
    elif isinstance(node, list):
        for value in node:
            resolve(document, value, seen)


def properties(schema: dict[str, Any]) -> set[str]:
    return set(schema.get("properties", {}))


def test_the_openapi_document_describes_every_route_and_the_formats(idle: LiveServer) -> None:
    reply = idle.api.get("/openapi.json")
    assert reply.status == 200
    document = reply.json()
    assert document["openapi"] == "3.1.0"
    assert {"title", "version"} <= set(document["info"])
    paths = document["paths"]
    expected = {
        "/api/exports": {"get", "post"},
        "/api/exports/plan": {"post"},
        "/api/preview": {"post"},
        "/api/exports/estimate": {"post"},
        "/api/exports/{job_id}": {"get", "delete"},
        "/api/exports/{job_id}/download": {"get"},
        "/api/exports/{job_id}/ticket": {"post"},
        "/api/exports/{job_id}/thumbnail": {"get"},
        "/api/exports/{job_id}/retry": {"post"},
        "/api/exports/{job_id}/poster": {"get"},
        "/ws/exports/{job_id}": {"get"},
        "/healthz": {"get"},
        "/openapi.json": {"get"},
    }
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    assert {path: set(item) & methods for path, item in paths.items()} == expected
    served: dict[str, set[str]] = {}
    for route in idle.app.routes:  # what the app serves, as the document must say
        if isinstance(route, Route):
            path = route.path.replace(":job_id}", "}")  # its convertor: the schema's pattern
            served.setdefault(path, set()).update(m.lower() for m in route.methods or ())
        elif isinstance(route, WebSocketRoute):
            served.setdefault(route.path, set()).add("get")
    assert {path: verbs - {"head"} for path, verbs in served.items()} == expected
    for path, item in paths.items():
        parameters = [p["name"] for p in item.get("parameters", []) if p["in"] == "path"]
        assert parameters == (["job_id"] if "{job_id}" in path else []), path
        for method in set(item) & methods:
            operation = item[method]
            assert operation["responses"], (path, method)
            for code, response in operation["responses"].items():
                assert code.isdigit() and "description" in response, (path, method, code)
    post = paths["/api/exports"]["post"]
    assert {"202", "400", "401", "413", "422"} <= set(post["responses"])
    plan = paths["/api/exports/plan"]["post"]
    assert {"200", "400", "401", "413", "422"} <= set(plan["responses"])
    assert plan["requestBody"] == post["requestBody"]
    assert {"307", "404", "409"} <= set(paths["/api/exports/{job_id}/download"]["get"]["responses"])
    assert paths["/healthz"]["get"]["security"] == []
    assert set(document["components"]["securitySchemes"]) == {"bearer", "ticket", "signedLink"}
    for path, item in paths.items():  # another principal's job is as unknown as a missing one
        if "{job_id}" in path and not path.startswith("/ws/"):
            for method in set(item) & methods:
                assert "404" in item[method]["responses"], (path, method)

    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    resolve(document, document, seen)
    assert {"ExportRequest", "Project", "ExportSettings", "Problem", "ExportStatus"} <= seen
    assert {"ExportPlan", "ProjectSummary"} <= seen
    example = export_plan(validate_export(demo(), None, Limits()))  # every field is described
    assert properties(schemas["ExportPlan"]) == set(example)
    assert properties(schemas["ProjectSummary"]) == set(example["project"])
    assert {"project", "settings", "range"} == properties(schemas["ExportRequest"])
    project = properties(schemas["Project"])
    assert {"format", "name", "bpm", "durationBeats", "tracks", "tempoChanges"} <= project
    settings = properties(schemas["ExportSettings"])
    assert {"width", "height", "fps", "format", "startBeat", "endBeat"} <= settings
    every_property = {p for schema in schemas.values() for p in properties(schema)}
    assert "luminanceThreshold" in every_property
    snake = {p for schema in ("Project", "ExportSettings") for p in properties(schemas[schema])}
    assert not {p for p in snake if "_" in p}, snake  # the app's camelCase, as validated
    assert schemas["ExportSettings"].get("additionalProperties") is False
    json.dumps(document)  # plain JSON all the way down


# --- several jobs, cancelling, clients that come and go ---------------------------------------


def test_two_jobs_complete_and_cancelling_a_third_leaves_them_intact(
    serve: Serve, tmp_path: Path
) -> None:
    api = serve().api
    doomed = api.submit_ok(demo(), LONGER)["job_id"]
    first = api.submit_ok(demo(), TINY)["job_id"]
    second = api.submit_ok(demo(name="Other Song"), TINY)["job_id"]

    with api.connect(doomed) as feed:
        messages = [receive(feed)]
        while messages[-1]["type"] == "progress" and messages[-1]["framesDone"] == 0:
            messages.append(receive(feed))
        assert messages[-1]["type"] == "progress", messages  # it is rendering: cancel it
        assert api.delete(f"/api/exports/{doomed}").json()["phase"] == "cancelled"
        messages += read_feed(feed)
    *progress, last = messages
    check_progress(progress, LONGER_FRAMES)
    assert last == {"type": "error", "message": "the export was cancelled", "phase": "cancelled"}

    for job_id, name in ((first, DEMO_FILE_NAME), (second, "Other-Song")):
        check_complete_feed(api.follow(job_id), job_id, TINY_FRAMES)
        download = api.get(f"/api/exports/{job_id}/download")
        assert download.status == 200
        assert download.headers["content-disposition"].endswith(f'filename="{name}.mp4"')
        video = tmp_path / f"{job_id}.mp4"
        video.write_bytes(download.body)
        assert ffprobe(video).frame_count == TINY_FRAMES
    assert api.status(doomed)["phase"] == "cancelled"
    assert api.get(f"/api/exports/{doomed}/download").status == 409
    phases = {e["job_id"]: e["phase"] for e in api.get("/api/exports").json()["exports"]}
    assert phases == {doomed: "cancelled", first: "complete", second: "complete"}


def test_clients_that_leave_mid_job_or_come_after_it_are_served(
    serve: Serve, tmp_path: Path
) -> None:
    server = serve(embedded_farm(tmp_path / "farm", workers=False))
    api = server.api
    job_id = api.submit_ok(demo(), TINY)["job_id"]

    def watchers() -> int:
        return len(server.services.feed._watchers.get(job_id, ()))

    with api.connect(job_id) as staying:
        assert receive(staying)["phase"] == "queued"
        with api.connect(job_id) as polite:
            assert receive(polite)["phase"] == "queued"
        # closed with a close frame
        with api.connect(job_id) as rude:
            assert receive(rude)["phase"] == "queued"
            rude.socket.shutdown(socket.SHUT_RDWR)  # the network goes: no close frame
        wait_for(lambda: watchers() == 1, 5, "the departed clients' watchers to go")
        assert api.get("/healthz").status == 200  # the server carries on
        start_workers(server.services.farm)
        check_complete_feed(read_feed(staying), job_id, TINY_FRAMES)
    wait_for(lambda: watchers() == 0, 5, "the last watcher to go")

    assert api.follow(job_id) == [  # after completion: complete at once, then closed
        {"type": "complete", "url": f"/api/exports/{job_id}/download", "percent": 100.0}
    ]
    assert api.get(f"/api/exports/{job_id}/download").status == 200
