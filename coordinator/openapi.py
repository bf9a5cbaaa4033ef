"""The OpenAPI 3.1 description of the coordinator, with the project and settings JSON Schemas
generated from the same pydantic models that validate requests (so it cannot drift)."""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from pydantic.json_schema import models_json_schema

from common.format.export_settings import ExportSettings, VideoFormat
from common.format.project import Project

API_VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PROBLEM = _ref("Problem")
VIDEO = {
    "format": {"enum": list(get_args(VideoFormat))},
    "width": {"type": "integer"},
    "height": {"type": "integer"},
    "fps": {"type": ["integer", "string"], "description": "as given"},
}
"""What video an export makes, as the plan and the status documents say it."""
JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{7,63}$"},
}


@cache
def openapi_document(*, metrics: bool = False) -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(Project, "validation"), (ExportSettings, "validation")],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    schemas.update(
        {
            "ExportRequest": {
                "type": "object",
                "required": ["project"],
                "additionalProperties": False,
                "properties": {
                    "project": _ref("Project"),
                    "settings": _ref("ExportSettings"),
                    "range": {
                        "type": "object",
                        "description": "the export's start and end as a musician writes them, "
                        "read by the server into settings.startBeat and endBeat (give one or "
                        "the other): `bars` is bar:beat in the project's meter, counted from 1 "
                        "(`9:1`, `9:2.5`; the beat in the meter's unit), `time` is m:ss on the "
                        "song's clock through the tempo map (`1:30`, `0:12.5`); an end left out "
                        "is the song's own",
                        "additionalProperties": False,
                        "required": ["unit"],
                        "properties": {
                            "unit": {"enum": ["beats", "bars", "time"]},
                            "start": {"type": "string", "maxLength": 32},
                            "end": {"type": "string", "maxLength": 32},
                        },
                    },
                },
            },
            "Issue": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {
                    "path": {
                        "type": "string",
                        "examples": ["project.tracks[2].instrument.params.envelope.attack"],
                    },
                    "message": {"type": "string"},
                    "value": {"description": "the offending value, when there is one"},
                },
            },
            "Problem": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "issues": {"type": "array", "items": _ref("Issue")},
                },
            },
            "Accepted": {
                "type": "object",
                "properties": {
                    "job_id": {"type": "string"},
                    "phase": {"type": "string"},
                    "frames_total": {"type": "integer"},
                    "chunks_total": {"type": "integer"},
                    "status_url": {"type": "string"},
                    "events_url": {"type": "string"},
                    "download_url": {"type": "string"},
                },
            },
            "ExportPlan": {
                "description": "What POST /api/exports would make of the same body, from the "
                "server's exact frame timeline and tempo map; seconds are song time.",
                "type": "object",
                "properties": {
                    "frames": {"type": "integer", "description": "frames the video will have"},
                    **VIDEO,
                    "fpsValue": {"type": "number", "description": "the rate as a number"},
                    "startBeat": {"type": "number"},
                    "endBeat": {"type": "number"},
                    "startSeconds": {"type": "number"},
                    "endSeconds": {"type": "number"},
                    "startBar": {"type": "string", "description": "bar:beat, e.g. 8:3"},
                    "endBar": {"type": "string"},
                    "startTime": {"type": "string", "description": "m:ss.fff, e.g. 0:15"},
                    "endTime": {"type": "string"},
                    "durationSeconds": {
                        "type": "number",
                        "description": "the video's length: frames / fps",
                    },
                    "project": _ref("ProjectSummary"),
                },
            },
            "ProjectSummary": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "bpm": {"type": "number"},
                    "tempos": {
                        "type": "array",
                        "description": "tempo segments, the first at beat 0",
                        "items": {
                            "type": "object",
                            "properties": {
                                "beat": {"type": "number"},
                                "bpm": {"type": "number"},
                                "seconds": {"type": "number"},
                            },
                        },
                    },
                    "timeSignature": {"type": "array", "items": {"type": "integer"}},
                    "beatsPerBar": {"type": "number", "description": "a measure ('1m')"},
                    "durationBeats": {"type": "number"},
                    "seconds": {"type": "number", "description": "the song's length"},
                    "notes": {"type": "integer"},
                    "tracks": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "name": {"type": "string"},
                                "instrument": {"type": "string"},
                                "voice": {"type": ["string", "null"]},
                                "style": {"type": "string"},
                                "color": {"type": "string"},
                                "mute": {"type": "boolean"},
                                "notes": {"type": "integer"},
                                "roll": {
                                    "type": "array",
                                    "description": "[beat, beats, pitch, velocity] per note",
                                    "items": {"type": "array", "items": {"type": "number"}},
                                },
                            },
                        },
                    },
                },
            },
            "ExportStatus": {
                "type": "object",
                "properties": {
                    "job_id": {"type": "string"},
                    "phase": {
                        "enum": [
                            "queued",
                            "rendering",
                            "stitching",
                            "complete",
                            "failed",
                            "cancelled",
                        ]
                    },
                    "message": {"type": "string"},
                    "percent": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 100,
                        "description": "the whole job; never goes back",
                    },
                    "frames_done": {"type": "integer", "description": "frames rendered"},
                    "frames_encoded": {
                        "type": "integer",
                        "description": "frames in encoded segments (GIF: in its one pass)",
                    },
                    "frames_total": {"type": "integer"},
                    "chunks_done": {"type": "integer"},
                    "chunks_total": {"type": "integer"},
                    "segments_done": {"type": "integer"},
                    "segments_total": {
                        "type": "integer",
                        "description": "2-s segments of the video (0 for GIF: one pass)",
                    },
                    "render_fps": {"type": ["number", "null"]},
                    "eta_seconds": {
                        "type": ["number", "null"],
                        "description": "seconds left for the whole job (render, encode, join)",
                    },
                    "error": {
                        "type": ["string", "null"],
                        "description": "why the job failed, without internal hosts or paths",
                    },
                    "created_at": {"type": "number"},
                    "updated_at": {"type": "number"},
                    "duration_seconds": {"type": ["number", "null"]},
                    "size_bytes": {"type": ["integer", "null"]},
                    "estimated_seconds": {
                        "type": ["number", "null"],
                        "description": "what the farm estimated at submit (null: nothing "
                        "measured yet); compare with updated_at - created_at once complete",
                    },
                    "cache": {
                        "type": "object",
                        "description": "what the cache saved so far (settings.cache): frames "
                        "of committed chunks taken from it (hits) or rendered (misses), segments "
                        "reused or encoded, the soundtrack, and bytes",
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "frames_reused": {"type": "integer"},
                            "frames_rendered": {"type": "integer"},
                            "segments_reused": {"type": "integer"},
                            "segments_encoded": {"type": "integer"},
                            "audio_reused": {"type": "boolean"},
                            "bytes_reused": {"type": "integer"},
                            "bytes_written": {"type": "integer"},
                            "summary": {
                                "type": "string",
                                "description": "e.g. 'reused 1,620 of 1,800 frames, 40 of 45 "
                                "segments and the soundtrack (12.3 MB)', or 'cache off'",
                            },
                        },
                    },
                    "status_url": {"type": "string"},
                    "events_url": {"type": "string"},
                    "download_url": {
                        "type": ["string", "null"],
                        "description": "once complete: the download, as a link signed for the "
                        "caller that works without a header until it expires "
                        "(download_expires_seconds)",
                    },
                    "name": {"type": "string", "description": "file name stem, from the project"},
                    **VIDEO,
                },
            },
            "Ticket": {
                "type": "object",
                "required": ["ticket", "expires_in", "events_url"],
                "properties": {
                    "ticket": {"type": "string"},
                    "expires_in": {"type": "number", "description": "seconds"},
                    "events_url": {
                        "type": "string",
                        "description": "the job's WebSocket with the ticket (use it once)",
                    },
                },
            },
            "Health": {
                "type": "object",
                "properties": {
                    "status": {"enum": ["ok", "unhealthy"]},
                    "store": {"enum": ["ok", "unavailable"]},
                    "broker": {"enum": ["ok", "unavailable"]},
                },
            },
            "SocketMessage": {
                "description": "Sent over WS /ws/exports/{job_id}: the current state first, then "
                "progress until one complete or error message, after which the server closes.",
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": "progress"},
                            "percent": {"type": "number"},
                            "message": {"type": "string"},
                            "phase": {"type": "string"},
                            "framesDone": {"type": "integer"},
                            "framesEncoded": {"type": "integer"},
                            "framesTotal": {"type": "integer"},
                            "etaSeconds": {"type": ["number", "null"]},
                            "renderFps": {"type": ["number", "null"]},
                            "framesReused": {"type": "integer"},
                            "reuse": {
                                "type": ["string", "null"],
                                "description": "what the cache saved, in words ('reused 1,620 "
                                "of 1,800 frames, ...'); null when the job bypasses the cache",
                            },
                            "thumbnailUrl": {
                                "type": ["string", "null"],
                                "description": "while rendering: GET it for the newest "
                                "committed frame as a small PNG (the live preview)",
                            },
                        },
                    },
                    {
                        "type": "object",
                        "properties": {"type": {"const": "complete"}, "url": {"type": "string"}},
                    },
                    {
                        "type": "object",
                        "properties": {"type": {"const": "error"}, "message": {"type": "string"}},
                    },
                ],
            },
        }
    )
    unauthorised = _json(PROBLEM, "missing or wrong API token (when one is configured)")
    not_found = _json(PROBLEM, "no such export, or one of another principal (the same answer)")
    export_body = {"required": True, **_json(_ref("ExportRequest"), "project and settings")}
    refused = {
        "400": _json(PROBLEM, "malformed JSON, or not a JSON object"),
        "401": unauthorised,
        "413": _json(PROBLEM, "body over max_body_bytes"),
        "422": _json(
            PROBLEM,
            "invalid, or beyond a limit (nesting depth, integer digits, sizes, length): every "
            "issue with its path, at most max_issues of them",
        ),
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "framefarm coordinator",
            "version": API_VERSION,
            "description": "Export a music project's visualization to video. When the service has "
            "API tokens, send yours as `Authorization: Bearer <token>` on every route but "
            "/healthz; a token in a URL (`?token=`) is refused with 400. Each token stands for a "
            "principal, who sees, follows, downloads and cancels only its own exports (an admin "
            "principal: every one); another principal's export answers 404, as an unknown one "
            "does. A browser, which cannot set a header on a WebSocket, asks for a single-use "
            "ticket (POST /api/exports/{job_id}/ticket) and opens the socket with `?ticket=`. "
            "Download links in status documents and `complete` messages are signed for the "
            "caller and expire. With no token configured the API is open to one user.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "ticket": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "ticket",
                    "description": "single-use, seconds-long WebSocket ticket from "
                    "POST /api/exports/{job_id}/ticket",
                },
                "signedLink": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "sig",
                    "description": "download link signed for a principal (with p and exp), as "
                    "given in download_url",
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/exports": {
                "post": {
                    "summary": "Submit an export: validated fully before anything is queued",
                    "requestBody": export_body,
                    "responses": {
                        "202": _json(_ref("Accepted"), "queued"),
                        **refused,
                        "503": _json(
                            PROBLEM,
                            "the broker or the store is unavailable: nothing was stored or "
                            "queued, submit again later (Retry-After)",
                        ),
                    },
                },
                "get": {
                    "summary": "Recent exports, newest first",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                            "description": "at most this many (and at most the service's "
                            "recent_jobs); 3.0 counts as 3",
                        }
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "exports": {"type": "array", "items": _ref("ExportStatus")}
                                },
                            },
                            "exports",
                        ),
                        "400": _json(PROBLEM, "limit is not an integer >= 1"),
                        "401": unauthorised,
                    },
                },
            },
            "/api/exports/plan": {
                "post": {
                    "summary": "Plan an export: validated as a submission, nothing stored or "
                    "queued; settings may be left out (defaults)",
                    "requestBody": export_body,
                    "responses": {"200": _json(_ref("ExportPlan"), "the plan"), **refused},
                },
            },
            "/api/exports/estimate": {
                "post": {
                    "summary": "How long the export would take: its frames times the "
                    "worker-seconds per frame its chunks took to render on the farm's recent "
                    "completed jobs, divided by the render workers live now (RabbitMQ's "
                    "consumers, or the embedded threads), plus the tail after rendering (the "
                    "join) per frame; medians of the jobs of this size, else of the nearest "
                    "size scaled by pixels; null before any job rendered frames",
                    "requestBody": export_body,
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "frames": {"type": "integer"},
                                    "seconds": {"type": ["number", "null"]},
                                    "secondsPerFrame": {
                                        "type": ["number", "null"],
                                        "description": "worker-seconds of rendering per frame",
                                    },
                                    "tailSeconds": {
                                        "type": ["number", "null"],
                                        "description": "the part after rendering (the join)",
                                    },
                                    "basedOnJobs": {"type": "integer"},
                                    "sameSize": {"type": "boolean"},
                                    "workers": {"type": ["integer", "null"]},
                                },
                            },
                            "the estimate",
                        ),
                        **refused,
                    },
                },
            },
            "/api/preview": {
                "post": {
                    "summary": "One frame of the export as a small PNG (longest side at most "
                    "480 px, the export's aspect), drawn by the export's own renderer: at `beat` "
                    "or `seconds`, or at the brightest moment of the range when neither is given "
                    "(a poster frame). Rendered one at a time; the moment shown is in the "
                    "X-Preview-Beat and X-Preview-Seconds headers",
                    "requestBody": {
                        "required": True,
                        **_json(
                            {
                                "allOf": [
                                    _ref("ExportRequest"),
                                    {
                                        "type": "object",
                                        "properties": {
                                            "beat": {"type": "number"},
                                            "seconds": {"type": "number"},
                                        },
                                    },
                                ]
                            },
                            "project, settings, and one of beat or seconds (or neither)",
                        ),
                    },
                    "responses": {
                        "200": {
                            "description": "the frame",
                            "headers": {
                                "X-Preview-Beat": {"schema": {"type": "number"}},
                                "X-Preview-Seconds": {"schema": {"type": "number"}},
                            },
                            "content": {"image/png": {}},
                        },
                        **refused,
                        "429": _json(PROBLEM, "too many previews waiting"),
                        "503": _json(PROBLEM, "no renderer (GL) on this server"),
                    },
                },
            },
            "/api/exports/{job_id}": {
                "parameters": [JOB_ID],
                "get": {
                    "summary": "State of an export",
                    "responses": {
                        "200": _json(_ref("ExportStatus"), "state"),
                        "401": unauthorised,
                        "404": not_found,
                    },
                },
                "delete": {
                    "summary": "Cancel an export: queued chunks skipped, intermediates removed",
                    "responses": {
                        "200": _json(_ref("ExportStatus"), "state after cancelling"),
                        "401": unauthorised,
                        "404": not_found,
                    },
                },
            },
            "/api/exports/{job_id}/thumbnail": {
                "parameters": [JOB_ID],
                "get": {
                    "summary": "A committed frame of a running export (query `frame`), at most "
                    "320 px on its longest side: what the feed's thumbnailUrl points at",
                    "responses": {
                        "200": {"description": "the frame", "content": {"image/png": {}}},
                        "204": {"description": "the export has ended: its live preview is over"},
                        "401": unauthorised,
                        "404": _json(PROBLEM, "no such export, or the frame is not stored"),
                        "422": _json(PROBLEM, "frame outside the export"),
                    },
                },
            },
            "/api/exports/{job_id}/retry": {
                "parameters": [JOB_ID],
                "post": {
                    "summary": "The same export again, as a new job of the caller's: the project "
                    "and settings stored with the job (started from the page or the API), "
                    "validated again under today's limits; answered as POST /api/exports is",
                    "responses": {
                        "202": _json(_ref("Accepted"), "the new export was accepted"),
                        "401": unauthorised,
                        "404": _json(PROBLEM, "no such export"),
                        "409": _json(PROBLEM, "the export is still running, or its spec is gone"),
                        "422": _json(PROBLEM, "its project or settings no longer validate"),
                        "503": _json(PROBLEM, "the broker or the store is unavailable"),
                    },
                },
            },
            "/api/exports/{job_id}/poster": {
                "parameters": [JOB_ID],
                "get": {
                    "summary": "A poster for the export: the brightest moment of its range as a "
                    "PNG of at most 480 px, drawn from the project and settings stored with the "
                    "job (the moment in X-Preview-Beat and X-Preview-Seconds)",
                    "responses": {
                        "200": {"description": "the poster", "content": {"image/png": {}}},
                        "401": unauthorised,
                        "404": _json(PROBLEM, "no such export"),
                        "409": _json(PROBLEM, "the export's spec is gone"),
                        "429": _json(PROBLEM, "too many previews are waiting"),
                        "503": _json(PROBLEM, "no renderer here"),
                    },
                },
            },
            "/api/exports/{job_id}/download": {
                "parameters": [JOB_ID],
                "get": {
                    "summary": "The video: a redirect to a link presigned for the public S3 "
                    "endpoint, or the file itself (local store, or streamed when S3 has no "
                    "public endpoint)",
                    "security": [{"bearer": []}, {"signedLink": []}],
                    "parameters": [
                        {"name": name, "in": "query", "schema": {"type": "string"}}
                        for name in ("p", "exp", "sig")
                    ],
                    "responses": {
                        "200": {
                            "description": "the video",
                            "content": {"video/*": {}, "image/gif": {}},
                        },
                        "307": {"description": "redirect to a presigned, expiring URL"},
                        "401": unauthorised,
                        "404": not_found,
                        "409": _json(PROBLEM, "the export is not complete"),
                    },
                },
            },
            "/api/exports/{job_id}/ticket": {
                "parameters": [JOB_ID],
                "post": {
                    "summary": "A single-use ticket for the export's WebSocket, for clients "
                    "that cannot send a header there (browsers); it expires in seconds",
                    "responses": {
                        "200": _json(_ref("Ticket"), "the ticket"),
                        "401": unauthorised,
                        "404": not_found,
                    },
                },
            },
            "/ws/exports/{job_id}": {
                "parameters": [JOB_ID],
                "get": {
                    "summary": "WebSocket progress feed (upgrade); messages are SocketMessage. "
                    "Refused (closed 4401) without a token or ticket; an unknown export or "
                    "another principal's is accepted, then closed with code 4404",
                    "security": [{"bearer": []}, {"ticket": []}],
                    "parameters": [{"name": "ticket", "in": "query", "schema": {"type": "string"}}],
                    "responses": {
                        "101": {
                            "description": "switching protocols",
                            **_json(_ref("SocketMessage"), ""),
                        }
                    },
                },
            },
            "/healthz": {
                "get": {
                    "summary": "Broker and store reachable (ok or unavailable each; the reason "
                    "goes to the coordinator's log, not to this open route)",
                    "security": [],
                    "responses": {
                        "200": _json(_ref("Health"), "healthy"),
                        "503": _json(_ref("Health"), "unhealthy: which check failed"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
        },
    }
    if metrics:  # served by `framefarm coordinator` (an app built without metrics has no route)
        document["paths"]["/metrics"] = {
            "get": {
                "summary": "Prometheus metrics: jobs by phase, frames rendered and encoded, chunk "
                "and segment durations, queue depths, errors by stage, cache hits and misses",
                "security": [],
                "responses": {
                    "200": {
                        "description": "the text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        }
    return document
