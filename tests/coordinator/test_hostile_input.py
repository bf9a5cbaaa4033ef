"""Hostile JSON over HTTP and in the CLI: each a 4xx JSON answer (one line and exit 2 in the CLI,
no traceback) naming the field or the limit, never a 500; and a big bad body is parsed and
validated off the event loop, so other requests are answered meanwhile."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import coordinator.app
from common.config import CoordinatorSettings, Limits
from coordinator.app import create_app
from framefarm.cli import main
from tests.coordinator.api_client import TINY, Api, Reply, demo
from tests.coordinator.test_api import LiveServer, embedded_farm
from tests.factories import note, project_data, track

ROUTES = ["/api/exports", "/api/exports/plan"]
WAIT_S = 60.0  # only catches a hang


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A coordinator without workers and with the default limits: nothing here may run."""
    root = tmp_path_factory.mktemp("hostile")
    app = create_app(
        embedded_farm(root, workers=False),
        limits=Limits.model_construct(),
        settings=CoordinatorSettings(api_token=None),
    )
    with LiveServer(app) as server:
        yield server


def body_text(project: str, settings: str = json.dumps(TINY)) -> bytes:
    return f'{{"project": {project}, "settings": {settings}}}'.encode()


DEMO = json.dumps(demo())


def demo_with(**fields: str) -> str:
    """demo.json with top-level fields replaced by raw JSON text (which json.dumps cannot make)."""
    text = DEMO
    for name, raw in fields.items():
        text = text.replace(f'"{name}": {json.dumps(demo()[name])}', f'"{name}": {raw}', 1)
        assert raw in text, name
    return text


def deep(depth: int, kind: str) -> str:
    return "[" * depth + "1" + "]" * depth if kind == "[" else '{"a":' * depth + "1" + "}" * depth


def wrong_type(path: tuple[Any, ...], value: Any) -> str:
    project = demo()
    node: Any = project
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return json.dumps(project)


# (body, status, issue path or None for the error itself, words)
HOSTILE: list[Any] = [
    pytest.param(
        body_text(deep(100_000, "[")), 422, "", "limit max_json_depth", id="100k-nested-arrays"
    ),
    pytest.param(
        body_text(DEMO, deep(100_000, "{")), 422, "", "limit max_json_depth", id="100k-objects"
    ),
    pytest.param(
        body_text(demo_with(bpm="1" * 5000)), 422, "", "limit max_int_digits", id="5000-digits"
    ),
    pytest.param(
        body_text(demo_with(bpm="1e-5", durationBeats="5.6e307")),
        422,
        "settings.endBeat",
        "limit max_duration_seconds",
        id="overflowing-length",
    ),
    pytest.param(body_text(demo_with(bpm="NaN")), 422, "project.bpm", "finite", id="nan"),
    pytest.param(
        body_text(demo_with(durationBeats="Infinity")),
        422,
        "project.durationBeats",
        "finite",
        id="infinity",
    ),
    pytest.param(
        body_text(demo_with(durationBeats="1e400")),
        422,
        "project.durationBeats",
        "finite",
        id="1e400",
    ),
    pytest.param(b"[]", 400, None, "expected a JSON object", id="body-an-array"),
    pytest.param(b'"song"', 400, None, "expected a JSON object", id="body-a-string"),
    pytest.param(b"null", 400, None, "expected a JSON object", id="body-null"),
    pytest.param(body_text("42"), 422, "project", "expected an object", id="project-a-number"),
    pytest.param(body_text(DEMO, "[]"), 422, "settings", "expected an object", id="settings-list"),
    pytest.param(
        body_text(wrong_type(("tracks",), {"a": 1})),
        422,
        "project.tracks",
        "expected an array",
        id="tracks-an-object",
    ),
    pytest.param(
        body_text(wrong_type(("tracks", 0), 7)),
        422,
        "project.tracks[0]",
        "expected an object",
        id="track-a-number",
    ),
    pytest.param(
        body_text(wrong_type(("tracks", 0, "notes", 0), "C4")),
        422,
        "project.tracks[0].notes[0]",
        "expected an object",
        id="note-a-string",
    ),
    pytest.param(
        body_text(wrong_type(("tracks", 0, "notes", 0, "pitch"), "60")),
        422,
        "project.tracks[0].notes[0].pitch",
        "expected an integer",
        id="pitch-a-string",
    ),
    pytest.param(
        body_text(wrong_type(("visualizer", "camera", "fov"), [50])),
        422,
        "project.visualizer.camera.fov",
        "expected a number",
        id="fov-a-list",
    ),
    pytest.param(
        body_text(DEMO, json.dumps({**TINY, "width": True})),
        422,
        "settings.width",
        "expected an integer",
        id="width-a-boolean",
    ),
    pytest.param(
        body_text(wrong_type(("name",), "n" * 5_000_000)),
        422,
        "project.name",
        "at most 200 characters",
        id="5-MB-name",
    ),
    pytest.param(
        body_text(DEMO, json.dumps({**TINY, "fps": "1/1000000000"})),
        422,
        "settings.fps",
        "at most 6 digits",
        id="fps-one-billionth",
    ),
]


@pytest.mark.parametrize("route", ROUTES, ids=["submit", "plan"])
@pytest.mark.parametrize(("body", "status", "path", "words"), HOSTILE)
def test_hostile_json_is_a_4xx_json_answer_naming_the_field_or_the_limit(
    idle: LiveServer, route: str, body: bytes, status: int, path: str | None, words: str
) -> None:
    reply = idle.api.request("POST", route, body=body, headers={"Content-Type": "application/json"})
    assert reply.status == status, reply.body[:500]
    assert reply.headers["content-type"] == "application/json"
    if path is None:
        assert words in reply.error, reply.error
    else:
        reply.issue(path, words)
        assert len(reply.body) < 10_000  # the issue does not echo the hostile value whole


CLI = [
    pytest.param(deep(100_000, "["), [], "limit max_json_depth", id="100k-nested-arrays"),
    pytest.param(deep(100_000, "{"), [], "limit max_json_depth", id="100k-nested-objects"),
    pytest.param(demo_with(bpm="1" * 5000), [], "limit max_int_digits", id="5000-digits"),
    pytest.param(demo_with(bpm="NaN"), [], "bpm: expected a finite number", id="nan"),
    pytest.param(demo_with(bpm="[[1]]"), [], "bpm: expected a number", id="bpm-a-list"),
    pytest.param(wrong_type(("name",), "n" * 5_000_000), [], "name: expected at most", id="5MB"),
    pytest.param(
        demo_with(bpm="1e-5", durationBeats="5.6e307"),
        ["--settings", "{}"],
        "settings.endBeat: the export lasts more than 10^15 s",
        id="overflowing-length",
    ),
    pytest.param(
        DEMO, ["--settings", '{"fps": "1/1000000000"}'], "at most 6 digits", id="fps-billionth"
    ),
    pytest.param(DEMO, ["--settings", '{"fps": 0}'], "fps must be > 0", id="fps-zero"),
    pytest.param(
        DEMO, ["--settings", '{"fps": ' + "9" * 5000 + "}"], "max_int_digits", id="fps-digits"
    ),
]


RENDER_WORDS = {
    "settings.endBeat: the export lasts more than 10^15 s": "--end-beat: the export lasts more",
    "max_int_digits": "--fps: fps must be a number or 'N/D' with at most 6 digits each",
}
"""What ``render`` says where ``validate`` names a settings path (a flag; --fps is text)."""


@pytest.mark.parametrize(("text", "flags", "words"), CLI)
@pytest.mark.parametrize("command", ["validate", "render"])
def test_hostile_json_in_the_cli_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    flags: list[str],
    words: str,
    command: str,
) -> None:
    """Each problem one line on stderr, exit 2, nothing rendered; an uncaught exception (a
    traceback) would fail the test. ``render`` takes the settings as flags."""
    file = tmp_path / "song.json"
    file.write_text(text)
    if command == "validate":
        argv = ["validate", str(file), *flags]
    else:
        fps = flags[1].partition('"fps": ')[2].strip('"}') if flags else ""
        argv = ["render", str(file), "-o", str(tmp_path / "x.mp4"), *(["--fps", fps] * bool(fps))]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines and all(line.startswith("framefarm: ") for line in lines), err
    assert len(err) < 2_000, err[:2_000]  # no hostile value echoed whole
    words = RENDER_WORDS.get(words, words) if command == "render" else words
    assert any(words in line for line in lines), err
    assert not (tmp_path / "x.mp4").exists()


BIG_NOTES = 30_000


def test_a_big_bad_body_is_validated_off_the_event_loop(
    idle: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a body of 30k invalid notes is parsed and validated (its thread held until then),
    another request is answered: the loop is free. On the loop, the cheap request would wait
    for the big one, whose thread waits for the cheap one: the big answer would come first."""
    real = coordinator.app.export_and_extras  # what every export route reads its body with
    started, cheap_answered = threading.Event(), threading.Event()

    def held(body: bytes, limits: Limits, extras: tuple[str, ...]) -> Any:
        started.set()
        cheap_answered.wait(WAIT_S)
        return real(body, limits, extras)

    monkeypatch.setattr(coordinator.app, "export_and_extras", held)
    notes = [note(i / 8, pitch=300) for i in range(BIG_NOTES)]
    project = project_data(track("lead", notes=notes), durationBeats=BIG_NOTES)
    order: list[str] = []
    replies: dict[str, Reply] = {}

    def submit() -> None:
        replies["big"] = Api(idle.api.base, timeout=300).submit(project, TINY)
        order.append("big")

    sender = threading.Thread(target=submit)
    sender.start()
    assert started.wait(WAIT_S)
    replies["cheap"] = idle.api.get("/api/exports?limit=1")
    order.append("cheap")
    cheap_answered.set()
    sender.join(300)
    assert order == ["cheap", "big"]
    assert replies["cheap"].status == 200
    big = replies["big"]
    assert big.status == 422
    issues = big.json()["issues"]
    assert len(issues) == 101  # max_issues, then how many more
    assert issues[0]["path"] == "project.tracks[0].notes[0].pitch"
    assert issues[-1]["message"] == f"and {BIG_NOTES - 100} more (limit max_issues 100)"


def test_a_plan_of_a_song_too_long_for_a_double_is_answered(idle: LiveServer) -> None:
    """Only the exported range is limited: a project of 5.6e307 beats at 1e-5 bpm may export
    its first microbeat; its length in seconds (~3e315) is the largest double, not a 500."""
    project = project_data(track("lead", notes=[note(0)]), bpm=1e-5, durationBeats=5.6e307)
    reply = idle.api.plan(project, {**TINY, "endBeat": 1e-6, "fps": 1})
    assert reply.status == 200, reply.body
    plan = reply.json()
    assert plan["frames"] == 6  # 1e-6 beats at 1e-5 bpm = 6 s, at 1 fps
    assert plan["project"]["seconds"] == sys.float_info.max


def test_a_body_of_exactly_max_body_bytes_is_read_and_one_byte_more_refused(
    tmp_path: Path,
) -> None:
    limits = Limits.model_construct(max_body_bytes=4096)
    app = create_app(
        embedded_farm(tmp_path, workers=False),
        limits=limits,
        settings=CoordinatorSettings(api_token=None),
    )
    text = json.dumps({"project": project_data(track("lead", notes=[note(0)])), "settings": TINY})
    exact = text.encode().ljust(4096)  # trailing spaces are JSON whitespace
    headers = {"Content-Type": "application/json"}
    with LiveServer(app) as server:
        plan = server.api.request("POST", "/api/exports/plan", body=exact, headers=headers)
        assert plan.status == 200, plan.body
        over = server.api.request("POST", "/api/exports/plan", body=exact + b" ", headers=headers)
        assert over.status == 413
        assert over.error == (
            "request body of 4097 bytes exceeds 4096 bytes (limit max_body_bytes)"
        )
        chunked = server.api.request(
            "POST", "/api/exports/plan", body=iter([exact, b" "]), headers=headers
        )
        assert chunked.status == 413
        assert chunked.error == "request body exceeds 4096 bytes (limit max_body_bytes)"
