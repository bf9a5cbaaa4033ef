"""The coordinator's HTTP and WebSocket API (Starlette): plan, submit, follow, cancel and
download exports. Resources are opened in the lifespan; blocking calls (store, broker) and
validation run in threads."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from common.adapters.storage import ObjectStore
from common.config import CoordinatorSettings, Limits
from common.errors import InvalidInput, Issue, LimitExceeded
from common.format.validation import Export, parse_settings, validate_export
from common.jobs.keys import check_job_id
from common.jobs.spec import file_stem
from common.jobs.state import JobState, Phase
from coordinator.feed import JobFeed
from coordinator.openapi import openapi_document
from coordinator.orchestrator import Orchestrator, UnknownJob
from coordinator.views import FeedMessages, export_plan, links, status_document

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

    def close(self) -> None: ...


FarmFactory = Callable[[], FarmRuntime]


@dataclass
class Services:
    farm: FarmRuntime
    orchestrator: Orchestrator
    feed: JobFeed
    limits: Limits
    settings: CoordinatorSettings


def create_app(
    farm_factory: FarmFactory,
    *,
    limits: Limits,
    settings: CoordinatorSettings,
    static_dir: Path | None = None,
    examples_dir: Path | None = None,
) -> Starlette:
    """The coordinator app. ``farm_factory`` opens the broker/store (and, embedded, workers);
    ``limits`` and ``settings`` come from the process's one reading of its environment."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        farm = await run_in_threadpool(farm_factory)
        orchestrator = farm.orchestrator()
        await run_in_threadpool(orchestrator.recover)
        farm.pump(orchestrator)
        feed = JobFeed(orchestrator, asyncio.get_running_loop())
        app.state.services = Services(farm, orchestrator, feed, limits, settings)
        try:
            yield
        finally:
            feed.close()
            await run_in_threadpool(farm.close)

    routes = [
        Route("/api/exports", submit_export, methods=["POST"]),
        Route("/api/exports", list_exports, methods=["GET"]),
        Route("/api/exports/plan", plan_export, methods=["POST"]),
        Route("/api/exports/{job_id}", get_export, methods=["GET"]),
        Route("/api/exports/{job_id}", cancel_export, methods=["DELETE"]),
        Route("/api/exports/{job_id}/download", download_export, methods=["GET"]),
        WebSocketRoute("/ws/exports/{job_id}", export_feed),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    if static_dir is not None:
        routes.append(Route("/", index_page(static_dir), methods=["GET"]))
        routes.append(Mount("/static", StaticFiles(directory=static_dir), name="static"))
    if examples_dir is not None:
        routes.append(Mount("/examples", StaticFiles(directory=examples_dir), name="examples"))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(TokenAuth, token=settings.api_token)
    return app


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
    svc = services(request)
    state = await run_in_threadpool(
        svc.orchestrator.submit, export, name=file_stem(export.project.name)
    )
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


async def plan_export(request: Request) -> Response:
    """What ``submit_export`` would make of the same body (frames, seconds, the project's
    summary), validated the same way; nothing is stored or queued."""
    export = await _read_export(request)
    if isinstance(export, Response):
        return export
    return JSONResponse(await run_in_threadpool(export_plan, export))


async def list_exports(request: Request) -> Response:
    svc = services(request)
    try:
        limit = int(request.query_params.get("limit", svc.settings.recent_jobs))
    except ValueError:
        return problem(400, "limit: expected an integer")
    limit = max(1, min(limit, svc.settings.recent_jobs))

    def recent() -> list[dict[str, Any]]:
        now = time.time()
        ids = svc.orchestrator.job_ids()[:limit]
        out = []
        for job_id in ids:
            state = svc.orchestrator.state(job_id)
            out.append({**status_document(state, now), **_spec_facts(svc.orchestrator, job_id)})
        return out

    return JSONResponse({"exports": await run_in_threadpool(recent)})


async def get_export(request: Request) -> Response:
    state = await _job_state(request)
    if isinstance(state, Response):
        return state
    facts = await run_in_threadpool(_spec_facts, services(request).orchestrator, state.job_id)
    return JSONResponse({**status_document(state, time.time()), **facts})


async def cancel_export(request: Request) -> Response:
    job_id = _job_id(request)
    if isinstance(job_id, Response):
        return job_id
    try:
        state = await run_in_threadpool(services(request).orchestrator.cancel, job_id)
    except UnknownJob:
        return problem(404, f"no export {job_id}")
    return JSONResponse(status_document(state, time.time()))


async def download_export(request: Request) -> Response:
    svc = services(request)
    state = await _job_state(request)
    if isinstance(state, Response):
        return state
    if state.phase is not Phase.COMPLETE or state.output_key is None:
        return problem(409, f"export {state.job_id} is {state.phase.value}, not complete")
    extension = state.output_key.rsplit(".", 1)[-1]
    filename = f"{_job_name(svc.orchestrator, state.job_id)}.{extension}"
    store = svc.farm.store
    path = await run_in_threadpool(store.local_file, state.output_key)
    if path is not None:  # a store on this machine: serve the file itself
        return FileResponse(path, filename=filename)
    expires = timedelta(seconds=svc.settings.download_expires_seconds)
    url = await run_in_threadpool(store.presigned_url, state.output_key, expires, filename)
    if url is None:  # a store that cannot presign: stream through us
        data = await run_in_threadpool(store.get, state.output_key)
        disposition = f'attachment; filename="{filename}"'
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": disposition},
        )
    return RedirectResponse(url, status_code=307)


async def export_feed(websocket: WebSocket) -> None:
    """Current state first, then every change until ``complete`` or ``error``; percent never
    goes backwards. Also awaits the client, so a closed tab ends the handler at once."""
    svc = services(websocket)
    job_id = websocket.path_params["job_id"]
    try:
        check_job_id(job_id)
        state = await run_in_threadpool(svc.orchestrator.state, job_id)
    except (InvalidInput, UnknownJob):
        await websocket.close(code=4404, reason="no such export")
        return
    await websocket.accept()
    watcher = svc.feed.watch(job_id)
    messages = FeedMessages()

    async def send(current: JobState) -> bool:
        message = messages.message(current, time.time())
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
    """Store and broker checked side by side, each within HEALTH_TIMEOUT_S."""
    farm = services(request).farm

    async def check(probe: Callable[[], None]) -> str:
        try:
            await asyncio.wait_for(run_in_threadpool(probe), timeout=HEALTH_TIMEOUT_S)
        except TimeoutError:  # its str() is empty: say what happened
            return f"error: no answer within {HEALTH_TIMEOUT_S:g} s"
        except Exception as error:  # any failure is "unhealthy", with its reason
            return f"error: {type(error).__name__}: {error}"
        return "ok"

    store, broker = await asyncio.gather(check(farm.store.ping), check(farm.ping_broker))
    healthy = store == broker == "ok"
    body = {"status": "ok" if healthy else "unhealthy", "store": store, "broker": broker}
    return JSONResponse(body, status_code=200 if healthy else 503)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


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
    problem: 400 not a JSON object, 413 too large, 422 every issue with its path."""
    limits = services(request).limits
    body = await _read_body(request, limits.max_body_bytes)
    if isinstance(body, Response):
        return body
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return problem(400, f"malformed JSON: {error}")
    if not isinstance(data, dict):
        return problem(400, 'expected a JSON object {"project": {...}, "settings": {...}}')
    unknown = sorted(set(data) - {"project", "settings"})
    missing = [Issue("project", "a value is required")] if "project" not in data else []
    extra = [Issue(key, "unknown field (expected project and settings)") for key in unknown]
    if missing or extra:
        return problem(422, "invalid export", missing + extra)
    project, settings = data["project"], data.get("settings") or {}
    try:
        return await run_in_threadpool(validate_export, project, settings, limits)
    except LimitExceeded as error:
        return problem(422, "export beyond the service limits", list(error.issues))
    except InvalidInput as error:
        return problem(422, "invalid export", list(error.issues))


def _job_id(request: Request) -> str | Response:
    job_id = str(request.path_params["job_id"])
    try:
        return check_job_id(job_id)
    except InvalidInput:
        return problem(404, f"no export {job_id}")


async def _job_state(request: Request) -> JobState | Response:
    job_id = _job_id(request)
    if isinstance(job_id, Response):
        return job_id
    try:
        return await run_in_threadpool(services(request).orchestrator.state, job_id)
    except UnknownJob:
        return problem(404, f"no export {job_id}")


def _spec_facts(orchestrator: Orchestrator, job_id: str) -> dict[str, Any]:
    """What was asked for: the name and the video's format, size and rate (from the spec)."""
    try:
        spec = orchestrator.spec(job_id)
        settings = parse_settings(spec.settings)
    except Exception:  # an unreadable spec only costs these details
        return {"name": "video"}
    return {
        "name": spec.name,
        "format": settings.format,
        "width": settings.width,
        "height": settings.height,
        "fps": settings.fps,
    }


def _job_name(orchestrator: Orchestrator, job_id: str) -> str:
    try:
        return orchestrator.spec(job_id).name
    except Exception:  # a missing or unreadable spec only costs the nice file name
        return "video"


class TokenAuth:
    """Require ``Authorization: Bearer <token>`` (or ``?token=``, for WebSockets and links) on
    every route except /healthz and the page itself, when a token is configured."""

    OPEN_PATHS = ("/healthz", "/", "/favicon.ico")
    OPEN_PREFIXES = ("/static/", "/examples/")

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.token is None
            or scope["type"] not in ("http", "websocket")
            or self._open(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        if self._authorised(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send(
                {"type": "websocket.close", "code": 4401, "reason": "missing or wrong token"}
            )
            return
        response = problem(401, "missing or wrong API token (Authorization: Bearer <token>)")
        await response(scope, receive, send)

    def _open(self, path: str) -> bool:
        return path in self.OPEN_PATHS or path.startswith(self.OPEN_PREFIXES)

    def _authorised(self, scope: Scope) -> bool:
        assert self.token is not None
        offered = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                text = value.decode("latin-1")
                if text.lower().startswith("bearer "):
                    offered = text[7:].strip()
        if not offered:
            from urllib.parse import parse_qs

            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            offered = (query.get("token") or [""])[0]
        return hmac.compare_digest(offered.encode(), self.token.encode())
