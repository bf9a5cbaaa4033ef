"""Per-user isolation and the capabilities that keep tokens out of URLs, over real HTTP and
WebSockets against a coordinator served by uvicorn (in this process, on an embedded farm):
one principal cannot read, list, download, cancel or follow another's export (404, as for an
unknown id), an admin sees all; WebSocket tickets are single-use and bound to their job;
download links are signed, bound and expire; errors and /healthz show no hosts or paths."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from minio import Minio
from websockets.exceptions import ConnectionClosed, InvalidStatus

from common.adapters.storage import S3Store
from common.config import ApiToken, CoordinatorSettings, Limits
from common.jobs.messages import JobFailed
from common.jobs.state import Phase
from coordinator.app import create_app
from coordinator.auth import LinkSigner, Principal, TicketBook, TokenTable, redact_query
from framefarm.farm import Farm
from sandbox.services import SeaweedS3
from tests.coordinator.api_client import LONGER, TINY, TINY_FRAMES, Api, demo, read_feed, receive
from tests.coordinator.test_api import UNKNOWN_JOB, LiveServer, embedded_farm, start_workers

TOKENS = {"alice": "alice-token-1", "bob": "bob-token-2", "ops": "ops-token-3"}
SETTINGS = CoordinatorSettings(
    api_tokens=",".join(f"{name}:{token}" for name, token in TOKENS.items()),
    api_admins="ops",
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(
        factory: Callable[[], Farm] | None = None, settings: CoordinatorSettings = SETTINGS
    ) -> LiveServer:
        app = create_app(
            factory or embedded_farm(tmp_path / f"farm{len(started)}"),
            limits=Limits(),
            settings=settings,
        )
        server = LiveServer(app).__enter__()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.__exit__()


def as_(server: LiveServer, principal: str) -> Api:
    return Api(server.api.base, TOKENS[principal])


def refused_like_unknown(api: Api, job_id: str) -> None:
    """Every route on ``job_id`` answers exactly as for an id no job has (404, same words)."""
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/download"), ("POST", "/ticket")):
        reply = api.request(method, f"/api/exports/{job_id}{suffix}")
        unknown = api.request(method, f"/api/exports/{UNKNOWN_JOB}{suffix}")
        assert reply.status == unknown.status == 404, (method, suffix, reply.body)
        assert reply.error == f"no export {job_id}"
        assert unknown.error == f"no export {UNKNOWN_JOB}"
    for target in (job_id, UNKNOWN_JOB):  # closed alike, with 4404 (after the handshake)
        with api.connect(target) as feed, pytest.raises(ConnectionClosed) as closed:
            feed.recv(timeout=10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4404, "no such export")


def test_a_principal_sees_downloads_cancels_and_follows_only_its_own_exports(
    served: Callable[..., LiveServer],
) -> None:
    server = served()
    alice, bob, ops = (as_(server, name) for name in ("alice", "bob", "ops"))
    mine = alice.submit_ok(demo(name="Alice song"), TINY)["job_id"]
    theirs = bob.submit_ok(demo(name="Bob song"), TINY)["job_id"]

    assert [e["job_id"] for e in alice.get("/api/exports").json()["exports"]] == [mine]
    assert [e["job_id"] for e in bob.get("/api/exports").json()["exports"]] == [theirs]
    everyone = {e["job_id"] for e in ops.get("/api/exports").json()["exports"]}
    assert everyone == {mine, theirs}  # the admin sees all

    messages = alice.follow(mine)
    assert messages[-1]["type"] == "complete"
    bob.wait_for_phase(theirs, ("complete",))
    refused_like_unknown(bob, mine)
    refused_like_unknown(alice, theirs)
    assert alice.status(mine)["phase"] == "complete"  # bob's DELETE changed nothing

    # A ticket is the job's and its principal's: bob's ticket opens only bob's job, once.
    ticket = bob.ticket(theirs)
    with pytest.raises(InvalidStatus):
        bob.connect(mine, ticket=ticket)
    with pytest.raises(InvalidStatus):  # spent by that refusal: no second guess
        bob.connect(theirs, ticket=ticket)
    ticket = bob.ticket(theirs)
    with bob.connect(theirs, ticket=ticket) as feed:
        assert read_feed(feed)[-1]["type"] == "complete"
    with pytest.raises(InvalidStatus):  # single use
        bob.connect(theirs, ticket=ticket)

    # Download links are signed for their principal and job; tampering with them fails.
    link = alice.status(mine)["download_url"]
    assert TOKENS["alice"] not in link and "p=alice" in link and "sig=" in link
    plain = Api(server.api.base)  # no token at all: a browser following the link
    assert plain.get(link).status == 200
    other_job = link.replace(mine, theirs)
    as_bob = link.replace("p=alice", "p=bob")
    later = link.replace("exp=", "exp=9")
    for forged in (other_job, as_bob, later, link.split("&sig=")[0]):
        assert plain.get(forged).status == 401, forged

    # The admin downloads and cancels anyone's; the owner sees the result.
    assert ops.get(f"/api/exports/{theirs}/download").status == 200
    doomed = bob.submit_ok(demo(name="Doomed"), LONGER)["job_id"]
    assert ops.delete(f"/api/exports/{doomed}").status == 200
    assert bob.status(doomed)["phase"] == "cancelled"
    refused_like_unknown(alice, doomed)
    assert server.services.orchestrator.spec(doomed).owner == "bob"


def test_an_open_api_has_one_user_who_sees_everything(
    served: Callable[..., LiveServer],
) -> None:
    """No token configured (the embedded default): open, jobs without an owner, plain links."""
    server = served(settings=CoordinatorSettings())
    api = server.api
    job_id = api.submit_ok(demo(), TINY)["job_id"]
    assert api.follow(job_id)[-1] == {
        "type": "complete",
        "url": f"/api/exports/{job_id}/download",
        "percent": 100.0,
    }
    assert api.get(f"/api/exports/{job_id}/download").status == 200
    assert api.ticket(job_id)  # a browser's follower works the same way against either server
    assert server.services.orchestrator.spec(job_id).owner is None
    assert api.get(f"/api/exports?token={TOKENS['alice']}").status == 400  # never in URLs


def test_errors_shown_to_clients_carry_no_paths_or_hosts(
    served: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = served(embedded_farm(tmp_path / "idle", workers=False))
    alice = as_(server, "alice")
    job_id = alice.submit_ok(demo(), TINY)["job_id"]
    secret_path = "/srv/framefarm/scratch/7f3a/soundtrack.wav"
    raw = (
        f"stitch: S3 request failed: ReadTimeoutError: HTTPConnectionPool(host='10.20.30.40', "
        f"port=8333): Read timed out; writing {secret_path}: [Errno 28] No space left on device "
        f"(http://seaweed.internal:8333/framefarm/jobs/{job_id}/audio)"
    )
    with alice.connect(job_id) as feed:
        assert receive(feed)["type"] == "progress"  # queued: no worker takes it
        server.services.orchestrator.handle(JobFailed(job_id, raw, "stitch"))
        messages = read_feed(feed)
    status = alice.status(job_id)
    shown = [status["error"], messages[-1]["message"]]
    listed = alice.get("/api/exports").json()["exports"][0]["error"]
    for text in [*shown, listed]:
        assert "No space left on device" in text and "soundtrack.wav" in text, text
        for secret in ("10.20.30.40", "8333", "seaweed.internal", "/srv/", "scratch", "http"):
            assert secret not in text, text
    assert server.services.orchestrator.state(job_id).error == raw  # the detail is kept
    assert status["phase"] == Phase.FAILED.value


def test_health_shows_no_host_of_an_unreachable_s3(
    served: Callable[..., LiveServer], s3_server: SeaweedS3
) -> None:
    bucket = f"health-{int(time.time() * 1000)}"
    keys = (s3_server.access_key, s3_server.secret_key)
    server = served(lambda: Farm.embedded(S3Store(s3_server.endpoint, *keys, bucket)))
    assert server.api.get("/healthz").json()["store"] == "ok"
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    port = closed.getsockname()[1]
    try:  # the S3 server is now out of reach of the running coordinator
        store = server.services.farm.store
        assert isinstance(store, S3Store)
        store.client = Minio(f"127.0.0.1:{port}", *keys, secure=False)
        reply = server.api.get("/healthz")
    finally:
        closed.close()
    assert reply.status == 503
    assert reply.json() == {"status": "unhealthy", "store": "unavailable", "broker": "ok"}
    for secret in (str(port), "127.0.0.1", "S3", "Error", "refused"):
        assert secret not in reply.body.decode(), reply.body


def test_without_a_public_s3_endpoint_the_download_is_streamed(
    served: Callable[..., LiveServer], s3_server: SeaweedS3, tmp_path: Path
) -> None:
    """The internal S3 host is never handed to a browser: no public endpoint, no redirect."""
    bucket = f"stream-{int(time.time() * 1000)}"

    def factory() -> Farm:
        store = S3Store(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, bucket)
        farm = Farm.embedded(store)
        (tmp_path / "work").mkdir(exist_ok=True)
        farm.register_renderer("embedded")
        farm.register_stitcher(tmp_path / "work")
        start_workers(farm)
        return farm

    server = served(factory)
    alice = as_(server, "alice")
    job_id = alice.submit_ok(demo(), TINY)["job_id"]
    done = alice.wait_for_phase(job_id, ("complete", "failed"))
    assert done["phase"] == "complete", done
    reply = Api(server.api.base).get(done["download_url"])
    assert reply.status == 200, reply.status
    assert reply.headers["content-disposition"] == 'attachment; filename="Neon-Drive.mp4"'
    assert len(reply.body) == done["size_bytes"]
    key = server.services.orchestrator.state(job_id).output_key
    assert key is not None and reply.body == server.services.farm.store.get(key)
    assert done["frames_total"] == TINY_FRAMES


# --- the pieces, with a clock of their own -----------------------------------------------------


def test_links_expire_and_tickets_expire() -> None:
    now = [1000.0]
    signer = LinkSigner(b"k" * 32, 60, clock=lambda: now[0])
    alice = Principal("alice", admin=False)
    link = signer.sign("/api/exports/ab/download", "ab", alice)
    query = {k: [v] for k, v in (pair.split("=") for pair in link.split("?")[1].split("&"))}
    assert signer.verify("ab", query) == "alice"
    now[0] += 61
    assert signer.verify("ab", query) is None
    assert LinkSigner(b"x" * 32, 60, clock=lambda: 1000.0).verify("ab", query) is None  # key
    for exp in ("9" * 5000, "١٢٣", "-1", ""):  # hostile expiries are refused, not a 500
        assert signer.verify("ab", {**query, "exp": [exp]}) is None

    book = TicketBook(lifetime_s=30, clock=lambda: now[0])
    ticket = book.issue("ab", alice)
    now[0] += 31
    assert book.redeem(ticket, "ab") is None


def test_tokens_map_to_principals_and_admins() -> None:
    table = TokenTable([ApiToken("alice", "a-token"), ApiToken("ops", "o-token")], admins=["ops"])
    assert table.principal("a-token") == Principal("alice", admin=False)
    assert table.principal("o-token") == Principal("ops", admin=True)
    for wrong in ("", "a-toke", "a-token ", "A-TOKEN"):
        assert table.principal(wrong) is None
    assert Principal("alice", admin=False).owns("alice")
    assert not Principal("alice", admin=False).owns(None)
    assert not Principal("alice", admin=False).owns("bob")
    assert redact_query("/ws/exports/ab?ticket=xyz&x=1") == "/ws/exports/ab?ticket=[redacted]&x=1"
    assert redact_query("/a?p=alice&exp=1&sig=ff") == "/a?p=alice&exp=1&sig=[redacted]"
