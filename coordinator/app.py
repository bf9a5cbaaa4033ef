"""The coordinator's HTTP and WebSocket API (Starlette): plan, submit, follow, cancel and
download exports. Resources are opened in the lifespan; blocking calls (store, broker) and
validation run in threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from common.adapters.storage import ObjectNotFound, ObjectStore
from common.config import UNLIMITED, CoordinatorSettings, Limits
from common.errors import DecodeError, InvalidInput, Issue, LimitExceeded
from common.format import jsonread
from common.format.validation import Export, bounded, parse_settings, validate_export
from common.jobs import records
from common.jobs.keys import JOB_ID_PATTERN, JobKeys, check_job_id
from common.jobs.manifest import ChunkManifest
from common.jobs.spec import file_stem
from common.jobs.state import JobState, Phase
from coordinator.auth import (
    OPEN,
    LinkSigner,
    Principal,
    TicketBook,
    TokenTable,
    query_of,
    redact_query,
)
from coordinator.cache_sweeper import CachePolicy, CacheSweeper
from coordinator.estimates import estimate_document, farm_estimate, submit_facts
from coordinator.feed import JobFeed
from coordinator.housekeeping import Housekeeper
from coordinator.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from coordinator.metrics import FarmMetrics
from coordinator.openapi import openapi_document
from coordinator.orchestrator import NotStarted, Orchestrator, UnknownJob
from coordinator.preview import PREVIEW_QUEUE, preview_moment, small_png
from coordinator.ranges import with_range
from coordinator.views import FeedMessages, export_plan, links, status_document
from farm_worker.preview import PreviewRenderer

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 5.0  # per check of /healthz


class FarmRuntime(Protocol):
    """What the app needs of the farm it runs on (``framefarm.farm.Farm`` is one): the store,
    an orchestrator with its event pump, a broker to ping, and a way to close it all."""

    @property
    def store(self) -> ObjectStore: ...

    def orchestrator(self) -> Orchestrator: ...

    def pump(self, orchestrator: Orchestrator) -> object: ...

    def ping_broker(self) -> None: ...

    def waiting_work(self) -> int | None: ...

    def close(self) -> None: ...


FarmFactory = Callable[[], FarmRuntime]


@dataclass
class Services:
    farm: FarmRuntime
    orchestrator: Orchestrator
    feed: JobFeed
    limits: Limits
    settings: CoordinatorSettings
    signer: LinkSigner
    tickets: TicketBook
    previews: PreviewRenderer
    previews_waiting: int = 0


def create_app(
    farm_factory: FarmFactory,
    *,
    limits: Limits,
    settings: CoordinatorSettings,
    static_dir: Path | None = None,
    examples_dir: Path | None = None,
    metrics: FarmMetrics | None = None,
    cache: CachePolicy | None = None,
) -> Starlette:
    """The coordinator app. ``farm_factory`` opens the broker/store (and, embedded, workers);
    ``limits`` and ``settings`` come from the process's one reading of its environment."""
    table = TokenTable(settings.tokens, settings.admins)
    key = settings.link_secret.encode() if settings.link_secret else secrets.token_bytes(32)
    signer = LinkSigner(key, settings.download_expires_seconds)
    tickets = TicketBook()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        farm = await run_in_threadpool(farm_factory)
        orchestrator = farm.orchestrator()
        orchestrator.cached_jobs = settings.cached_jobs
        lost = bool(getattr(farm, "queue_is_in_memory", False))
        await run_in_threadpool(lambda: orchestrator.recover(queue_was_lost=lost))
        farm.pump(orchestrator)
        # metrics first: a state is counted before a WebSocket can report it
        detach = metrics.attach(orchestrator) if metrics is not None else None
        housekeeper = Housekeeper(orchestrator, settings, waiting_work=farm.waiting_work)
        housekeeper.start()
        sweeper = CacheSweeper(farm.store, orchestrator, cache) if cache is not None else None
        if sweeper is not None:
            sweeper.start()
        feed = JobFeed(orchestrator, asyncio.get_running_loop())
        previews = PreviewRenderer()
        app.state.services = Services(
            farm, orchestrator, feed, limits, settings, signer, tickets, previews
        )
        redact_access_log()
        try:
            yield
        finally:
            if detach is not None:
                detach()
            feed.close()
            housekeeper.stop()
            if sweeper is not None:
                await run_in_threadpool(sweeper.stop)
            await run_in_threadpool(previews.close)
            await run_in_threadpool(farm.close)

    routes = [
        Route(
            "/api/exports", by_method(GET=list_exports, POST=submit_export), methods=["GET", "POST"]
        ),
        Route("/api/exports/plan", plan_export, methods=["POST"]),
        Route("/api/preview", preview_frame, methods=["POST"]),
        Route("/api/exports/estimate", estimate_export, methods=["POST"]),
        Route(
            "/api/exports/{job_id:job_id}",
            by_method(GET=get_export, DELETE=cancel_export),
            methods=["GET", "DELETE"],
        ),
        Route("/api/exports/{job_id:job_id}/download", download_export, methods=["GET"]),
        Route("/api/exports/{job_id:job_id}/ticket", ticket_export, methods=["POST"]),
        Route("/api/exports/{job_id:job_id}/thumbnail", export_thumbnail, methods=["GET"]),
        Route("/api/exports/{job_id:job_id}/retry", retry_export, methods=["POST"]),
        Route("/api/exports/{job_id:job_id}/poster", export_poster, methods=["GET"]),
        WebSocketRoute("/ws/exports/{job_id}", export_feed),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics_page(metrics), methods=["GET"]))
    if static_dir is not None:
        routes.append(Route("/", index_page(static_dir), methods=["GET"]))
        routes.append(Mount("/static", StaticFiles(directory=static_dir), name="static"))
    if examples_dir is not None:
        routes.append(Mount("/examples", StaticFiles(directory=examples_dir), name="examples"))
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_problem}
    )
    app.add_middleware(Authenticate, table=table, signer=signer, tickets=tickets)
    return app


class JobIdConvertor(Convertor[str]):
    """A path segment that can be a job id: others (``plan``) match no job route, so a wrong
    method on them is a 405 naming the allowed ones, not a 404."""

    regex = JOB_ID_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("job_id", JobIdConvertor())

Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(**endpoints: Endpoint) -> Endpoint:
    """One route per path serving several methods, so that a 405's ``Allow`` names them all."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return endpoint


async def http_problem(request: Request, error: Exception) -> Response:
    """Routing errors (404, 405 with its ``Allow``) as problem documents, like every other."""
    if not isinstance(error, HTTPException):  # pragma: no cover - registered for it only
        raise error
    message = error.detail
    parts = request.url.path.split("/")
    if error.status_code == 404 and parts[1:3] == ["api", "exports"] and len(parts) > 3:
        message = f"no export {parts[3]}"  # an id that cannot be one
    return JSONResponse({"error": message}, status_code=error.status_code, headers=error.headers)


def services(request: Request | WebSocket) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def problem(status: int, message: str, issues: list[Issue] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if issues is not None:
        body["issues"] = [issue.to_json() for issue in issues]
    return JSONResponse(body, status_code=status)


# --- routes -----------------------------------------------------------------------------------


async def submit_export(request: Request) -> Response:
    export = await _read_export(request)
    if isinstance(export, Response):
        return export
    return await _submit(request, export, file_stem(export.project.name))


async def _submit(request: Request, export: Export, name: str) -> Response:
    """Start ``export`` for the caller (with the farm's estimate of its time, in chunks for the
    render workers live now): 202 with the job's URLs, or 503 when the broker or the store
    cannot take it."""
    svc = services(request)
    expected, workers = await run_in_threadpool(submit_facts, svc.orchestrator, svc.farm, export)
    try:
        state = await run_in_threadpool(
            svc.orchestrator.submit,
            export,
            workers=max(workers or 1, 1),
            name=name,
            owner=principal_of(request).name,
            estimated_seconds=expected,
        )
    except NotStarted as error:
        response = problem(503, str(error))
        response.headers["Retry-After"] = "10"
        return response
    document = {
        "job_id": state.job_id,
        "phase": state.phase.value,
        "frames_total": state.frame_count,
        "chunks_total": state.chunk_count,
        **links(state.job_id),
    }
    return JSONResponse(
        document, status_code=202, headers={"Location": links(state.job_id)["status_url"]}
    )


async def retry_export(request: Request) -> Response:
    """The same export again as a new job of the caller's: the project and settings stored
    with the job (whoever started it, page or API), validated again under today's limits. A
    job still running is not started twice (409)."""
    found = await _owned_job(request)
    if isinstance(found, Response):
        return found
    state, _ = found
    if not state.phase.terminal:
        return problem(409, f"export {state.job_id} is {state.phase.value}: cancel it first")
    svc = services(request)
    stored = await run_in_threadpool(_stored_export, svc.orchestrator, state.job_id, svc.limits)
    if isinstance(stored, Response):
        return stored
    export, name = stored
    return await _submit(request, export, name)


async def export_poster(request: Request) -> Response:
    """A poster for the export (any phase): the brightest moment of its range, from the
    project and settings stored with the job, as a small PNG drawn by the export's renderer."""
    found = await _owned_job(request)
    if isinstance(found, Response):
        return found
    svc = services(request)
    stored = await run_in_threadpool(_stored_export, svc.orchestrator, found[0].job_id, UNLIMITED)
    if isinstance(stored, Response):
        return stored
    export, _ = stored
    moment = await run_in_threadpool(preview_moment, export, {})
    assert not isinstance(moment, Issue)  # no beat or seconds asked: never an issue
    return await _preview_png(svc, export, moment, cache="private, max-age=3600")


def _stored_export(
    orchestrator: Orchestrator, job_id: str, limits: Limits
) -> tuple[Export, str] | Response:
    """The job's stored project and settings as an export, and its file name; the problem if
    they are gone (409) or no longer validate (422, every issue)."""
    try:
        spec = orchestrator.spec(job_id)
        return validate_export(spec.project, spec.settings, limits), spec.name
    except (UnknownJob, DecodeError):
        return problem(409, f"export {job_id} has no readable spec stored (any more)")
    except LimitExceeded as error:
        return problem(422, "export beyond the service limits", list(error.issues))
    except InvalidInput as error:
        return problem(422, "invalid export", list(error.issues))


async def plan_export(request: Request) -> Response:
    """What ``submit_export`` would make of the same body (frames, seconds, the project's
    summary), validated the same way; nothing is stored or queued."""
    export = await _read_export(request)
    if isinstance(export, Response):
        return export
    return JSONResponse(await run_in_threadpool(export_plan, export))


async def estimate_export(request: Request) -> Response:
    """How long the export would take: its frames at the worker-seconds per frame the farm
    measured on its recent jobs (this size, else the nearest by pixels) shared by the render
    workers live now, plus the tail after rendering (the join)."""
    export = await _read_export(request)
    if isinstance(export, Response):
        return export
    svc = services(request)
    found, workers = await run_in_threadpool(farm_estimate, svc.orchestrator, svc.farm, export)
    return JSONResponse(estimate_document(export, found, workers))


async def preview_frame(request: Request) -> Response:
    """One frame of the export as a small PNG (``preview_size``), at ``beat`` or ``seconds``, or
    at the brightest moment of its range when neither is given (a poster frame)."""
    read = await _read_export_and(request, ("beat", "seconds"))
    if isinstance(read, Response):
        return read
    export, where = read
    moment = await run_in_threadpool(preview_moment, export, where)
    if isinstance(moment, Issue):
        return problem(422, "invalid preview", [moment])
    return await _preview_png(services(request), export, moment, cache="no-store")


async def _preview_png(svc: Services, export: Export, moment: Fraction, cache: str) -> Response:
    """The frame at ``moment`` as a small PNG from the one preview thread (429 when too many
    wait, 503 when this machine cannot render it); the moment in the X-Preview-* headers."""
    if svc.previews_waiting >= PREVIEW_QUEUE:
        return problem(429, f"{PREVIEW_QUEUE} previews are already waiting; try again")
    svc.previews_waiting += 1
    try:
        png = await asyncio.wrap_future(svc.previews.submit(export, moment))
    except Exception as error:  # no GL here, or the size is beyond it: say so, stay up
        log.warning("preview failed: %s", error)
        return problem(503, f"cannot render a preview here: {error}")
    finally:
        svc.previews_waiting -= 1
    tempo = export.project.tempo_map
    headers = {
        "X-Preview-Seconds": f"{float(moment):.6f}",
        "X-Preview-Beat": f"{float(tempo.time_to_beat(moment)):.6f}",
        "Cache-Control": cache,
    }
    return Response(png, media_type="image/png", headers=headers)


async def list_exports(request: Request) -> Response:
    """The caller's newest jobs (an admin's: everyone's)."""
    svc = services(request)
    caller = principal_of(request)
    limit = _positive_integer(request.query_params.get("limit"), svc.settings.recent_jobs)
    if limit is None:
        return problem(400, "limit: expected an integer >= 1", [Issue("limit", "expected >= 1")])
    limit = min(limit, svc.settings.recent_jobs)

    def recent() -> list[dict[str, Any]]:
        now = time.time()
        out: list[dict[str, Any]] = []
        for job_id in svc.orchestrator.job_ids():
            if len(out) >= limit:
                break
            owner, facts = _spec_facts(svc.orchestrator, job_id)
            if not caller.owns(owner):
                continue
            try:
                state = svc.orchestrator.state(job_id)
            except UnknownJob:  # removed since the listing
                continue
            out.append({**_status(svc, state, caller, now), **facts})
        return out

    return JSONResponse({"exports": await run_in_threadpool(recent)})


async def get_export(request: Request) -> Response:
    found = await _owned_job(request)
    if isinstance(found, Response):
        return found
    state, facts = found
    svc = services(request)
    return JSONResponse({**_status(svc, state, principal_of(request), time.time()), **facts})


async def cancel_export(request: Request) -> Response:
    found = await _owned_job(request)
    if isinstance(found, Response):
        return found
    job_id = found[0].job_id
    try:
        state = await run_in_threadpool(services(request).orchestrator.cancel, job_id)
    except UnknownJob:
        return problem(404, f"no export {job_id}")
    return JSONResponse(status_document(state, time.time()))


async def ticket_export(request: Request) -> Response:
    """A single-use ticket for the job's WebSocket (``?ticket=``), for clients that cannot set
    an Authorization header on a WebSocket (browsers); it expires in seconds."""
    found = await _owned_job(request)
    if isinstance(found, Response):
        return found
    job_id = found[0].job_id
    svc = services(request)
    ticket = svc.tickets.issue(job_id, principal_of(request))
    return JSONResponse(
        {
            "ticket": ticket,
            "expires_in": svc.tickets.lifetime_s,
            "events_url": f"{links(job_id)['events_url']}?ticket={ticket}",
        },
        headers={"Cache-Control": "no-store"},
    )


async def download_export(request: Request) -> Response:
    """The video: the file itself (local store), a redirect to a link presigned for the public
    S3 endpoint, or (no public endpoint) streamed through the coordinator."""
    svc = services(request)
    found = await _owned_job(request)
    if isinstance(found, Response):
        return found
    state, facts = found
    if state.phase is not Phase.COMPLETE or state.output_key is None:
        return problem(409, f"export {state.job_id} is {state.phase.value}, not complete")
    extension = state.output_key.rsplit(".", 1)[-1]
    filename = f"{facts.get('name', 'video')}.{extension}"
    store = svc.farm.store
    path = await run_in_threadpool(store.local_file, state.output_key)
    if path is not None:  # a store on this machine: serve the file itself
        return FileResponse(path, filename=filename)
    expires = timedelta(seconds=svc.settings.download_expires_seconds)
    url = await run_in_threadpool(store.presigned_url, state.output_key, expires, filename)
    if url is not None:
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    size = await run_in_threadpool(store.size, state.output_key)
    return StreamingResponse(
        _chunks(store, state.output_key),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
        },
    )


async def _chunks(store: ObjectStore, key: str) -> AsyncIterator[bytes]:
    """The object in blocks, each read on a thread (the loop never waits on the store)."""
    iterator = await run_in_threadpool(lambda: iter(store.stream(key)))
    sentinel = object()
    while True:
        block = await run_in_threadpool(next, iterator, sentinel)
        if block is sentinel:
            return
        assert isinstance(block, bytes)
        yield block


async def export_thumbnail(request: Request) -> Response:
    """A committed frame of a running export, at most THUMBNAIL_SIDE pixels on its longest
    side: the live preview the feed's ``thumbnailUrl`` points at. Once the export has ended the
    live preview is over: 204, no content, whether or not its frames (intermediates) are still
    stored, as a page may still ask for the frame of the last progress message it got. A frame
    of a running export that is not committed is 404."""
    found = await _owned_job(request)
    if isinstance(found, Response):
        return found
    state, _ = found
    text = request.query_params.get("frame", "")
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) < state.frame_count:
        return problem(
            422, "invalid thumbnail", [Issue("frame", f"expected 0..{state.frame_count - 1}", text)]
        )
    svc = services(request)
    if state.phase.terminal:
        return Response(status_code=204)
    try:
        data = await run_in_threadpool(_stored_frame, svc.orchestrator, state.job_id, int(text))
        png = await run_in_threadpool(small_png, data)
    except (ObjectNotFound, UnknownJob):
        if await run_in_threadpool(_has_ended, svc.orchestrator, state.job_id):
            return Response(status_code=204)  # it ended meanwhile, and its frames went
        return problem(404, f"frame {text} of {state.job_id} is not stored")
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


def _has_ended(orchestrator: Orchestrator, job_id: str) -> bool:
    try:
        return orchestrator.state(job_id).phase.terminal
    except UnknownJob:
        return False


def _stored_frame(orchestrator: Orchestrator, job_id: str, frame: int) -> bytes:
    """A committed frame's PNG wherever its chunk's manifest says it is: the job's own key, or
    the cache entry it reused or made (ObjectNotFound when its chunk is not committed)."""
    keys = JobKeys(job_id)
    spec = orchestrator.spec(job_id)
    chunk = next(c for c in spec.chunks if c.first_frame <= frame < c.first_frame + c.frame_count)
    manifest = records.load(ChunkManifest, orchestrator.store.get(keys.chunk_manifest(chunk.index)))
    record = next(r for r in manifest.frames if r.index == frame)
    return orchestrator.store.get(record.key)


async def export_feed(websocket: WebSocket) -> None:
    """Current state first, then every change until ``complete`` or ``error``; percent never
    goes backwards. Also awaits the client, so a closed tab ends the handler at once. Another
    principal's job is closed with 4404, as an unknown one is."""
    svc = services(websocket)
    caller = principal_of(websocket)
    job_id = websocket.path_params["job_id"]
    try:
        check_job_id(job_id)
        state = await run_in_threadpool(svc.orchestrator.state, job_id)
        if not caller.admin:
            owner, _ = await run_in_threadpool(_spec_facts, svc.orchestrator, job_id)
            if not caller.owns(owner):
                raise UnknownJob(job_id)
    except (InvalidInput, UnknownJob):
        # Accepted first: a close before the handshake is answered with HTTP 403 instead.
        await websocket.accept()
        await websocket.close(code=4404, reason="no such export")
        return
    await websocket.accept()
    watcher = svc.feed.watch(job_id)
    messages = FeedMessages()

    async def send(current: JobState) -> bool:
        download = svc.signer.sign(links(job_id)["download_url"], job_id, caller)
        message = messages.message(current, time.time(), download_url=download)
        await websocket.send_json(message)
        return bool(message["type"] != "progress")

    async def pump_states() -> None:
        current = svc.orchestrator.state(job_id)
        if await send(current):
            return
        while True:
            if await send(await watcher.next()):
                return

    async def until_client_leaves() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    sender = asyncio.create_task(pump_states())
    listener = asyncio.create_task(until_client_leaves())
    try:
        done, _ = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
        if sender in done:
            sender.result()
            await websocket.close()
    except WebSocketDisconnect:
        pass
    finally:
        watcher.close()
        for task in (sender, listener):
            task.cancel()
        del state


async def healthz(request: Request) -> Response:
    """Store and broker checked side by side, each within HEALTH_TIMEOUT_S: ok or unavailable."""
    farm = services(request).farm

    async def check(name: str, probe: Callable[[], None]) -> str:
        """ "ok" or "unavailable": the page is open to all, so the reason (hosts, ports, paths)
        goes to the log only."""
        try:
            await asyncio.wait_for(run_in_threadpool(probe), timeout=HEALTH_TIMEOUT_S)
        except TimeoutError:
            log.warning("healthz: the %s gave no answer within %g s", name, HEALTH_TIMEOUT_S)
            return "unavailable"
        except Exception as error:  # any failure is "unhealthy"
            log.warning("healthz: the %s is unavailable: %s: %s", name, type(error).__name__, error)
            return "unavailable"
        return "ok"

    store, broker = await asyncio.gather(
        check("store", farm.store.ping), check("broker", farm.ping_broker)
    )
    healthy = store == broker == "ok"
    body = {"status": "ok" if healthy else "unhealthy", "store": store, "broker": broker}
    return JSONResponse(body, status_code=200 if healthy else 503)


async def openapi(request: Request) -> Response:
    served = any(getattr(route, "path", None) == "/metrics" for route in request.app.routes)
    return JSONResponse(openapi_document(metrics=served))


def metrics_page(metrics: FarmMetrics) -> Callable[[Request], Awaitable[Response]]:
    """Prometheus's text format (queue depths are asked of the broker, in a thread)."""

    async def page(request: Request) -> Response:
        body = await run_in_threadpool(metrics.exposition)
        return Response(body, media_type=METRICS_CONTENT_TYPE)

    return page


def index_page(static_dir: Path) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        return FileResponse(static_dir / "index.html", media_type="text/html")

    return page


# --- helpers ----------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes | Response:
    """The body, or 413 as soon as it passes ``limit`` bytes (without reading the rest)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return problem(
            413, f"request body of {declared} bytes exceeds {limit} bytes (limit max_body_bytes)"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return problem(413, f"request body exceeds {limit} bytes (limit max_body_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_export(request: Request) -> Export | Response:
    """The body's project and settings (defaults when absent) as a validated export, or the
    problem: 413 too large, 422 every issue with its path (not JSON, too deep, wrong fields,
    beyond a limit). Parsing and validation run on a thread: a big bad body keeps the event
    loop free for every other request."""
    read = await _read_export_and(request, ())
    return read if isinstance(read, Response) else read[0]


async def _read_export_and(
    request: Request, extra: tuple[str, ...]
) -> tuple[Export, dict[str, Any]] | Response:
    """``_read_export`` for a body that may also carry the ``extra`` fields (returned as sent)."""
    limits = services(request).limits
    body = await _read_body(request, limits.max_body_bytes)
    if isinstance(body, Response):
        return body
    try:
        return await run_in_threadpool(export_and_extras, body, limits, extra)
    except jsonread.NotJson as error:
        message = error.issues[0].message
        if message.startswith("not JSON: "):
            message = f"malformed JSON: {message.removeprefix('not JSON: ')}"
        return problem(400, message)
    except LimitExceeded as error:
        return problem(422, "export beyond the service limits", list(error.issues))
    except InvalidInput as error:
        return problem(422, "invalid export", list(error.issues))


def export_from_body(body: bytes, limits: Limits) -> Export:
    """A request body (JSON ``{"project": ..., "settings": ...}``) as a validated export."""
    return export_and_extras(body, limits, ())[0]


def export_and_extras(
    body: bytes, limits: Limits, extras: tuple[str, ...]
) -> tuple[Export, dict[str, Any]]:
    """``export_from_body`` for a body that may also carry the ``extras`` fields (returned as
    sent, for the route to check: a preview's beat or seconds)."""
    data = jsonread.loads(body, limits, "request")
    if not isinstance(data, dict):
        message = 'expected a JSON object {"project": {...}, "settings": {...}}'
        raise jsonread.NotJson([Issue("", message)], "request")
    allowed = ("project", "settings", "range", *extras)
    unknown = sorted(set(data) - set(allowed))
    missing = [Issue("project", "a value is required")] if "project" not in data else []
    expected = ", ".join(allowed)
    extra = [Issue(key, f"unknown field (expected {expected})") for key in unknown]
    if missing or extra:
        raise InvalidInput(bounded(missing + extra, limits.max_issues), "export")
    settings = data.get("settings")
    export = validate_export(data["project"], {} if settings is None else settings, limits)
    if data.get("range") is not None:
        export = with_range(export, data["range"], limits)
    return export, {key: data[key] for key in extras if key in data}


def _positive_integer(text: str | None, default: int) -> int | None:
    """A query parameter as JSON Schema's integer (``3`` or ``3.0``) >= 1; None if it is not."""
    if text is None:
        return default
    try:
        return int(text) if int(text) >= 1 else None
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and number >= 1 else None


def _job_id(request: Request) -> str | Response:
    job_id = str(request.path_params["job_id"])
    try:
        return check_job_id(job_id)
    except InvalidInput:
        return problem(404, f"no export {job_id}")


def principal_of(connection: Request | WebSocket) -> Principal:
    """The caller, as ``Authenticate`` found it."""
    principal = connection.scope.get("state", {}).get("principal", OPEN)
    assert isinstance(principal, Principal)
    return principal


async def _owned_job(request: Request) -> tuple[JobState, dict[str, Any]] | Response:
    """The job's state and spec facts, or 404: for an unknown id and, alike, for a job of
    another principal (so that ids are not confirmed)."""
    job_id = _job_id(request)
    if isinstance(job_id, Response):
        return job_id
    orchestrator = services(request).orchestrator
    try:
        state = await run_in_threadpool(orchestrator.state, job_id)
    except UnknownJob:
        return problem(404, f"no export {job_id}")
    owner, facts = await run_in_threadpool(_spec_facts, orchestrator, job_id)
    if not principal_of(request).owns(owner):
        return problem(404, f"no export {job_id}")
    return state, facts


def _status(svc: Services, state: JobState, caller: Principal, now: float) -> dict[str, Any]:
    """The status document, its download link signed for ``caller`` (who has no header to send
    when the browser follows a link)."""
    link = svc.signer.sign(links(state.job_id)["download_url"], state.job_id, caller)
    return status_document(state, now, download_url=link)


def _spec_facts(orchestrator: Orchestrator, job_id: str) -> tuple[str | None, dict[str, Any]]:
    """Who submitted the job, and what was asked for: the name and the video's format, size
    and rate (from the spec). An unreadable spec has no owner (only admins see the job)."""
    try:
        spec = orchestrator.spec(job_id)
    except Exception:  # missing or unreadable: only these details are lost
        log.debug("job %s: its spec is unreadable", job_id, exc_info=True)
        return None, {"name": "video"}
    try:
        settings = parse_settings(spec.settings)
    except Exception:
        return spec.owner, {"name": spec.name}
    return spec.owner, {
        "name": spec.name,
        "format": settings.format,
        "width": settings.width,
        "height": settings.height,
        "fps": settings.fps,
    }


_DOWNLOAD = re.compile(r"^/api/exports/([^/]+)/download$")
_FEED = re.compile(r"^/ws/exports/([^/]+)$")


class Authenticate:
    """Who is calling, for every route but /healthz and the page: ``Authorization: Bearer
    <token>``; a signed link on a download; a ticket on a WebSocket. The principal found is put
    in the scope's state. No token configured: every caller is the open API's one user.
    A token in the query string is refused (it would be written to access logs)."""

    OPEN_PATHS = ("/healthz", "/", "/favicon.ico", "/metrics")
    OPEN_PREFIXES = ("/static/", "/examples/")

    def __init__(
        self, app: ASGIApp, table: TokenTable, signer: LinkSigner, tickets: TicketBook
    ) -> None:
        self.app = app
        self.table = table
        self.signer = signer
        self.tickets = tickets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._open(scope["path"]):
            await self.app(scope, receive, send)
            return
        query = query_of(scope.get("query_string", b""))
        if "token" in query:
            await self._refuse(
                scope,
                receive,
                send,
                400,
                "API tokens are not accepted in URLs: send "
                "Authorization: Bearer <token> (WebSockets: POST /api/exports/{id}/ticket)",
            )
            return
        principal = OPEN if self.table.open else self._principal(scope, query)
        if principal is None:
            await self._refuse(
                scope,
                receive,
                send,
                401,
                "missing or wrong API token (Authorization: Bearer <token>)",
            )
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _open(self, path: str) -> bool:
        return path in self.OPEN_PATHS or path.startswith(self.OPEN_PREFIXES)

    def _principal(self, scope: Scope, query: dict[str, list[str]]) -> Principal | None:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, offered = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not offered.strip():
                    return None
                return self.table.principal(offered.strip())
        path = scope["path"]
        download = _DOWNLOAD.match(path)
        if download and scope["type"] == "http" and "sig" in query:
            name = self.signer.verify(download.group(1), query)
            if name is None or name not in self.table.principals:  # a token since removed
                return None
            return self.table.named(name)
        feed = _FEED.match(path)
        if feed and scope["type"] == "websocket" and "ticket" in query:
            return self.tickets.redeem(query["ticket"][0], feed.group(1))
        return None

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, message: str
    ) -> None:
        if scope["type"] == "websocket":
            code = 4401 if status == 401 else 4400
            await send({"type": "websocket.close", "code": code, "reason": message[:120]})
            return
        await problem(status, message)(scope, receive, send)


class _RedactQuery(logging.Filter):
    """Credentials in request paths (``?ticket=``, ``?sig=``, a stray ``?token=``) are written
    to uvicorn's access log (HTTP) and its error log (WebSocket handshakes) as ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def redact_access_log() -> None:
    """Install the redaction on uvicorn's loggers (once each)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactQuery) for f in logger.filters):
            logger.addFilter(_RedactQuery())
