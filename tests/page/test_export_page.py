"""The export page in a real headless Chromium (Debian's, driven by Playwright) against a real
``framefarm coordinator --embedded`` subprocess: load a project, see the server's plan of the
export (frames, length) as the settings change, export, follow the progress, download and probe
the video, see server errors next to their fields, cancel, list recent exports, survive a
dropped WebSocket, and ask for the API token when the server wants one.

In each state a test reaches axe-core (npm, injected) must find no WCAG A/AA violation, and a
screenshot goes to tests/page/artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    FilePayload,
    Page,
    Playwright,
    Request,
    Route,
    WebSocketRoute,
    expect,
    sync_playwright,
)

from common.config import Limits
from common.format.validation import validate_export
from sandbox.browser import CHROMIUM, HEADLESS_ARGS
from tests.page.axe import check_accessible

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CHROMIUM_ARGS = [*HEADLESS_ARGS, "--disable-gpu"]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
EXPORT_TIMEOUT_MS = 120_000
TOKEN = "s3cret-token"


# --- the coordinator and the browser ---------------------------------------------------------


@dataclass
class Coordinator:
    """A running ``framefarm coordinator --embedded`` and where to reach it."""

    url: str
    log: Path

    def get(self, path: str, token: str | None = None) -> Any:
        request = urllib.request.Request(self.url + path)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def submit(self, settings: dict[str, Any], example: str = "demo") -> str:
        """Start an export through the API, as another client would; its job id."""
        project = json.loads((EXAMPLES / f"{example}.json").read_text())
        body = json.dumps({"project": project, "settings": settings}).encode()
        request = urllib.request.Request(
            self.url + "/api/exports", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.load(response)["job_id"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_coordinator(directory: Path, **env: str) -> Iterator[Coordinator]:
    """Start the coordinator on a free port with its own local store; stop it afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEFARM_")}
    environment.update(FRAMEFARM_LOCAL_STORE=str(directory / "store"), **env)
    log = directory / "coordinator.log"
    command = [sys.executable, "-m", "framefarm", "coordinator", "--embedded", "--workers", "1"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=REPO,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    coordinator = Coordinator(f"http://127.0.0.1:{port}", log)
    try:
        _wait_healthy(coordinator, process)
        yield coordinator
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(coordinator: Coordinator, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the coordinator exited ({process.returncode}):\n{_tail(coordinator.log)}")
        try:
            if coordinator.get("/healthz")["status"] == "ok":
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the coordinator did not become healthy:\n{_tail(coordinator.log)}")


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coordinator]:
    # Limits raised so that an export can pass validation and still fail in the renderer.
    limits = {"FRAMEFARM_MAX_WIDTH": "1048576", "FRAMEFARM_MAX_PIXELS": "1073741824"}
    with running_coordinator(tmp_path_factory.mktemp("coordinator"), **limits) as running:
        yield running


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: scripts/bootstrap --browser installs Debian's chromium"
        )
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@dataclass
class Console:
    """Errors the page logged or threw; those a test expects can be allowed by their text."""

    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"page error: {error}")

    def unexpected(self, *allowed: str) -> list[str]:
        """The errors but those containing one of ``allowed`` (e.g. "status of 422 ")."""
        return [error for error in self.errors if not any(text in error for text in allowed)]


def is_submission(request: Request) -> bool:
    return request.method == "POST" and request.url.endswith("/api/exports")


def is_plan(request: Request) -> bool:
    return request.method == "POST" and request.url.endswith("/api/exports/plan")


@dataclass
class Session:
    page: Page
    console: Console
    coordinator: Coordinator
    posted: Any = None  # the body of the last POST /api/exports
    plans: list[Any] = field(default_factory=list)  # the bodies of POST /api/exports/plan

    def __post_init__(self) -> None:
        self.page.on("request", self._record_plan)

    def _record_plan(self, request: Request) -> None:
        if is_plan(request):
            self.plans.append(request.post_data_json)

    def open(self) -> None:
        self.page.goto(self.coordinator.url + "/")
        expect(self.page.get_by_role("heading", name="Export video")).to_be_visible()

    def load_example(self, name: str, title: str) -> None:
        self.page.locator(f'[data-example="{name}"]').click()
        expect(self.page.locator("#project-name")).to_have_text(title)

    def small_settings(self, *, width: str = "160", height: str = "90") -> None:
        """Custom size, 10 fps (a custom rate), and beats 0-4: a 2-second, 20-frame export."""
        page = self.page
        page.select_option("#resolution", "custom")
        page.fill("#width", width)
        page.fill("#height", height)
        page.select_option("#fps", "custom")
        page.fill("#fps-custom", "10")
        page.fill("#end-beat", "4")

    def start(self) -> str:
        """Press Export and return the id of the job the panel then follows."""
        previous = self.page.locator("#export-panel").get_attribute("data-job-id")
        with self.page.expect_request(is_submission) as submission:
            self.page.get_by_role("button", name="Export video").click()
        self.posted = submission.value.post_data_json
        self.page.wait_for_function(
            "previous => { const id = document.querySelector('#export-panel').dataset.jobId;"
            " return id && id !== previous; }",
            arg=previous,
        )
        job_id = self.page.locator("#export-panel").get_attribute("data-job-id")
        assert job_id is not None
        return job_id

    def settled_estimate(self) -> str:
        """The export summary once no plan is awaited (nor waiting for its debounce)."""
        summary = self.page.locator("#export-summary")
        expect(summary).to_have_attribute("aria-busy", "false")
        return summary.inner_text()

    def shown(self, function: str, value: Any) -> str:
        """``value`` as the page writes it: ``clock`` of format.js, or a number's locale text."""
        if function == "clock":
            script = "async s => (await import('/static/format.js')).clock(s)"
        else:
            script = "n => n.toLocaleString()"
        return str(self.page.evaluate(script, value))

    def reached(self, name: str) -> None:
        """A state the test reached: axe-core finds no violation in it; its screenshot kept."""
        check_accessible(self.page, name)


@pytest.fixture
def session(browser: Browser, coordinator: Coordinator) -> Iterator[Session]:
    with _session(browser, coordinator) as opened:
        yield opened


@contextlib.contextmanager
def _session(browser: Browser, coordinator: Coordinator) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    console = Console()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    try:
        yield Session(page, console, coordinator)
    finally:
        context.close()


RECORD_PROGRESS = """() => {
  window.progressLog = [];
  const bar = document.querySelector('#progress');
  const badge = document.querySelector('#job-phase');
  const record = () => window.progressLog.push(
    [Number(bar.getAttribute('aria-valuenow')), badge.textContent]);
  new MutationObserver(record)
    .observe(bar, {attributes: true, attributeFilter: ['aria-valuenow']});
  new MutationObserver(record)
    .observe(badge, {childList: true, characterData: true, subtree: true});
}"""


def json_file(name: str, content: bytes) -> FilePayload:
    return {"name": name, "mimeType": "application/json", "buffer": content}


def ffprobe(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [
            "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json",
            str(path),
        ],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    streams: list[dict[str, Any]] = json.loads(result.stdout)["streams"]
    assert len(streams) == 1, result.stdout
    return streams[0]


# --- the tests ---------------------------------------------------------------------------------


def test_the_page_loads_cleanly_and_summarises_the_example_projects(session: Session) -> None:
    page = session.page
    session.open()
    expect(page.locator("#start")).to_be_disabled()
    session.load_example("demo", "Neon Drive")

    expect(page.locator("#project-duration")).to_contain_text("0:08")
    expect(page.locator("#project-duration")).to_contain_text("16 beats")
    expect(page.locator("#project-track-count")).to_have_text("4")
    tracks = page.locator("#track-list > li")
    expect(tracks).to_have_count(4)
    expect(tracks.nth(0)).to_contain_text("Lead")
    expect(tracks.nth(0)).to_contain_text("Synth")
    expect(tracks.nth(0)).to_contain_text("bars")
    expect(tracks.nth(3)).to_contain_text("PolySynth · FMSynth")
    expect(tracks.nth(3)).to_contain_text("orbs")
    swatch = tracks.nth(0).locator(".swatch")
    assert swatch.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 47, 214)"
    expect(page.locator("#start")).to_be_enabled()
    expect(page.locator("#export-summary")).to_contain_text("480 frames")
    session.reached("loaded")

    # Tempo changes count: 40 beats at 120, 64 at 128, 16 at 96 make exactly one minute.
    session.load_example("song60", "Sixty Seconds")
    expect(page.locator("#project-duration")).to_contain_text("1:00")
    expect(page.locator("#project-duration")).to_contain_text("120 beats")
    expect(page.locator("#project-tempo")).to_contain_text("120 → 128 → 96")
    expect(page.locator("#track-list > li")).to_have_count(8)
    page.fill("#end-beat", "40")
    expect(page.locator("#range-hint")).to_contain_text("0:20")

    page.set_viewport_size({"width": 390, "height": 844})
    session.reached("loaded-narrow")
    assert session.console.unexpected() == []


def test_projects_load_from_the_file_picker_and_by_drag_and_drop(session: Session) -> None:
    page = session.page
    session.open()
    page.set_input_files("#project-file", str(EXAMPLES / "song60.json"))
    expect(page.locator("#project-name")).to_have_text("Sixty Seconds")
    expect(page.locator("#project-source")).to_have_text("song60.json")

    text = (EXAMPLES / "demo.json").read_text()
    transfer = page.evaluate_handle(
        """text => { const transfer = new DataTransfer();
        transfer.items.add(new File([text], 'dropped.json', {type: 'application/json'}));
        return transfer; }""",
        text,
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    expect(page.locator("#project-name")).to_have_text("Neon Drive")
    expect(page.locator("#project-source")).to_have_text("dropped.json")
    session.reached("dropped")

    page.set_input_files(
        "#project-file",
        files=[json_file("broken.json", b"{nope")],
    )
    alert = page.locator("#project-error")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("broken.json is not JSON")
    expect(page.locator("#project-name")).to_have_text("Neon Drive")  # the last good project stays
    session.reached("not-json")
    assert session.console.unexpected() == []


def test_every_input_has_a_label_and_the_form_works_from_the_keyboard(session: Session) -> None:
    page = session.page
    session.open()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden')
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby'))
        .map(e => e.id || e.name)"""
    )
    assert unlabelled == []

    # From a fresh page, Tab reaches the skip link, the file picker and the examples (Enter
    # loads one), then every setting and the Export button.
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return e.id || e.dataset.example || e.name || e.className; }"
            )
        )
        if reached[-1] == "demo":
            page.keyboard.press("Enter")
            expect(page.locator("#project-name")).to_have_text("Neon Drive")
        if reached[-1] == "start":
            break
    assert reached[0] == "skip-link", reached
    for expected in ("project-file", "demo", "song60", "resolution", "width", "format", "quality"):
        assert expected in reached, reached
    assert reached[-1] == "start", reached
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    session.reached("keyboard")

    # Enter on a field submits the form; arrow keys move between formats.
    page.locator('input[name="format"][value="mp4"]').focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator('input[name="format"][value="webm"]')).to_be_checked()
    expect(page.locator("#crf")).to_have_attribute("max", "63")
    assert session.console.unexpected() == []


def test_a_server_error_appears_next_to_the_field_it_names(session: Session) -> None:
    page = session.page
    session.open()
    session.load_example("demo", "Neon Drive")
    session.small_settings(width="161")
    error = page.locator("#width-error")  # the server's word, next to the width, while editing
    expect(error).to_be_visible()
    expect(error).to_contain_text("expected an even number for mp4")
    width = page.locator("#width")
    expect(width).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#end-beat")).to_be_focused()  # live issues leave the focus alone
    assert "No estimate" in session.settled_estimate()
    expect(page.get_by_role("button", name="Export video")).to_be_disabled()  # until fixed
    assert "width-error" in (width.get_attribute("aria-describedby") or "").split()
    expect(page.locator("#height-error")).to_be_hidden()
    expect(page.locator("#size-hint")).to_be_hidden()  # the server's word replaced the hint
    expect(page.locator("#export-idle")).to_be_visible()  # nothing started
    session.reached("error")

    page.fill("#width", "162")
    expect(error).to_be_hidden()
    expect(width).not_to_have_attribute("aria-invalid", "true")
    assert "162×90" in session.settled_estimate()

    # A problem in the project itself goes to the project's box, with its JSON path.
    project = json.loads((EXAMPLES / "demo.json").read_text())
    project["tracks"][1]["notes"][0]["pitch"] = 200
    page.set_input_files(
        "#project-file", files=[json_file("bad.json", json.dumps(project).encode())]
    )
    expect(page.locator("#project-source")).to_have_text("bad.json")
    box = page.locator("#project-error")
    expect(box).to_be_visible()  # the plan found it before any export was asked for
    expect(box).to_contain_text("project.tracks[1].notes[0].pitch")
    expect(box).to_contain_text("Kick · note 1's pitch: ")  # in the musician's words
    session.reached("project-problem")
    expect(page.get_by_role("button", name="Export video")).to_be_disabled()
    assert session.console.unexpected("status of 422 ") == []


def test_the_page_shows_the_server_s_frames_and_length_across_tempo_changes(
    session: Session,
) -> None:
    """song60 changes tempo at beats 40 (128 bpm) and 104 (96 bpm); beats 30-110 at 29.97 fps
    cross both. The page shows what validate_export makes of what it sent, not a reckoning of
    its own: a doctored answer from the server is shown as it comes."""
    page = session.page
    session.open()
    session.load_example("song60", "Sixty Seconds")
    page.select_option("#fps", "30000/1001")
    page.fill("#start-beat", "30")
    page.fill("#end-beat", "110")
    shown = session.settled_estimate()
    sent = session.plans[-1]
    assert sent["settings"] == {
        "width": 1280,
        "height": 720,
        "fps": "30000/1001",
        "format": "mp4",
        "audio": True,
        "crf": 18,
        "preset": "medium",
        "startBeat": 30,
        "endBeat": 110,
    }
    assert sent["project"] == json.loads((EXAMPLES / "song60.json").read_text())
    export = validate_export(sent["project"], sent["settings"], Limits())
    timeline = export.timeline
    frames = session.shown("number", export.frame_count)
    length = session.shown("clock", float(timeline.duration))
    assert f"{frames} frames · {length}" in shown, shown
    assert "1280×720 · 29.97 fps · MP4" in shown, shown
    song = session.shown("clock", float(export.project.tempo_map.beat_to_time(120)))
    start, end = (session.shown("clock", float(t)) for t in (timeline.start, timeline.end))
    expect(page.locator("#range-hint")).to_have_text(  # 4/4: beat 30 is bar 8's third beat
        f"Beats 30–110 (bar 8:3 to 28:3) · {start}–{end} · "
        f"{session.shown('clock', float(timeline.end - timeline.start))} of {song}"
    )
    expect(page.locator("#project-duration")).to_contain_text(song)
    expect(page.locator("#project-tempo")).to_contain_text("120 → 128 → 96 BPM · 2 changes")
    session.reached("tempo-changes")

    def doctored(route: Route) -> None:
        plan = route.fetch().json()
        route.fulfill(json={**plan, "frames": 12345, "durationSeconds": 600})

    page.route("**/api/exports/plan", doctored)
    page.fill("#end-beat", "100")
    shown = session.settled_estimate()
    assert "12,345 frames · 10:00" in shown, shown
    assert session.console.unexpected() == []


def test_the_estimate_waits_for_the_server_and_asks_once_typing_pauses(
    session: Session,
) -> None:
    page = session.page
    session.open()
    session.load_example("demo", "Neon Drive")
    assert "480 frames · 0:08" in session.settled_estimate()  # 16 beats at 120 bpm, 60 fps

    held: list[Route] = []

    def hold(route: Route) -> None:  # (Playwright cannot take the bound builtin held.append)
        held.append(route)

    page.route("**/api/exports/plan", hold)
    page.fill("#end-beat", "8")
    for _ in range(250):  # the plan leaves 250 ms after the edit
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "no plan was asked for within 5 s"
    summary = page.locator("#export-summary")
    expect(summary).to_have_attribute("aria-busy", "true")
    expect(summary).to_contain_text("480 frames · 0:08")  # the last plan, until the next comes
    session.reached("plan-pending")
    held.pop().continue_()
    assert "240 frames · 0:04" in session.settled_estimate()
    page.unroute("**/api/exports/plan")

    before = len(session.plans)
    page.fill("#end-beat", "")
    page.locator("#end-beat").press_sequentially("12", delay=30)  # three edits in ~60 ms
    assert "360 frames · 0:06" in session.settled_estimate()
    assert len(session.plans) - before < 3, session.plans[before:]  # not one per keystroke
    assert session.plans[-1]["settings"]["endBeat"] == 12
    assert session.console.unexpected() == []


def test_an_export_runs_to_a_preview_and_a_download(session: Session, tmp_path: Path) -> None:
    page = session.page
    session.open()
    session.load_example("demo", "Neon Drive")
    session.small_settings()
    expect(page.locator("#export-summary")).to_contain_text("20 frames")
    page.evaluate(RECORD_PROGRESS)
    job_id = session.start()
    assert session.posted["settings"] == {
        "width": 160,
        "height": 90,
        "fps": 10,
        "format": "mp4",
        "audio": True,
        "crf": 18,
        "preset": "medium",
        "endBeat": 4,
    }
    assert session.posted["project"]["name"] == "Neon Drive"

    download = page.get_by_role("link", name="Download MP4")
    expect(download).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    progress = page.get_by_role("progressbar")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#job-phase")).to_have_text("Complete")
    expect(page.locator("#stat-frames")).to_have_text("20 / 20")
    expect(page.locator("#stat-encoded")).to_have_text("20 / 20")  # rendered and encoded
    log: list[list[Any]] = page.evaluate("() => window.progressLog")
    values = [value for value, _ in log]
    assert values == sorted(values), log  # never backwards
    assert len({tuple(entry) for entry in log}) >= 2, log  # it moved
    assert log[-1] == [100, "Complete"], log

    video = page.locator("#preview video")
    expect(video).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('#preview video').readyState >= 1", timeout=20_000
    )
    size = video.evaluate("v => [v.videoWidth, v.videoHeight]")
    assert size == [160, 90]
    expect(page.locator("#result-info")).to_contain_text("KB")
    session.reached("complete")

    with page.expect_download() as downloading:
        download.click()
    saved = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(saved)
    assert saved.suffix == ".mp4"
    stream = ffprobe(saved)
    assert stream["codec_name"] == "h264"
    assert (stream["width"], stream["height"]) == (160, 90)
    assert int(stream["nb_read_frames"]) == 20

    row = page.locator(f'#recent-body tr[data-job="{job_id}"]')
    expect(row).to_contain_text("Complete")
    expect(row).to_contain_text("160×90 · 10 fps · MP4")
    expect(row.get_by_role("link", name="Download")).to_have_attribute(
        "href", f"/api/exports/{job_id}/download"
    )
    assert session.console.unexpected() == []


@pytest.mark.parametrize(
    ("video_format", "label", "codec"),
    [("webm", "WebM", "vp9"), ("gif", "GIF", "gif"), ("mov", "MOV", "prores")],
)
def test_each_format_previews_in_the_page_or_says_why_not(
    session: Session, tmp_path: Path, video_format: str, label: str, codec: str
) -> None:
    page = session.page
    session.open()
    session.load_example("demo", "Neon Drive")
    session.small_settings()
    page.locator(f'input[name="format"][value="{video_format}"]').check()
    if video_format in ("mov", "gif"):
        expect(page.locator("#crf")).to_be_disabled()  # ProRes and GIF have no crf
    session.start()
    sent = session.posted["settings"]
    assert sent["format"] == video_format
    assert ("crf" in sent, "preset" in sent) == ((video_format == "webm",) * 2)
    assert ("audio" in sent) == (video_format != "gif")  # GIF has no sound
    download = page.get_by_role("link", name=f"Download {label}")
    expect(download).to_be_visible(timeout=EXPORT_TIMEOUT_MS)

    preview = page.locator("#preview")
    if video_format == "gif":
        image = preview.get_by_role("img", name="Preview of the exported GIF")
        expect(image).to_be_visible()
        page.wait_for_function("() => document.querySelector('#preview img').naturalWidth > 0")
        assert image.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [160, 90]
    elif video_format == "webm":
        page.wait_for_function("() => document.querySelector('#preview video').readyState >= 1")
        assert preview.locator("video").evaluate("v => [v.videoWidth, v.videoHeight]") == [160, 90]
    else:  # no browser plays ProRes: the page says so instead of showing a broken player
        expect(preview).to_contain_text("Browsers cannot play ProRes")
    session.reached(f"complete-{video_format}")

    with page.expect_download() as downloading:
        download.click()
    saved = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(saved)
    assert saved.suffix == f".{video_format}"
    stream = ffprobe(saved)
    assert stream["codec_name"] == codec
    assert (stream["width"], stream["height"]) == (160, 90)
    assert session.console.unexpected() == []


def test_a_dropped_websocket_reconnects_and_the_export_still_completes(session: Session) -> None:
    page = session.page
    connections: list[str] = []

    def route(socket: WebSocketRoute) -> None:
        connections.append(socket.url)
        server = socket.connect_to_server()
        if len(connections) == 1:  # the first connection drops after its first message

            def forward_then_drop(message: str | bytes) -> None:
                socket.send(message)
                socket.close(code=4000, reason="network went away")
                server.close()

            server.on_message(forward_then_drop)

    page.route_web_socket("**/ws/exports/*", route)
    session.open()
    session.load_example("demo", "Neon Drive")
    session.small_settings()
    page.evaluate(
        """() => { window.sawReconnecting = false;
        const note = document.querySelector('#connection');
        new MutationObserver(() => { if (!note.hidden) window.sawReconnecting = true; })
          .observe(note, {attributes: true, childList: true}); }"""
    )
    session.start()
    expect(page.get_by_role("link", name="Download MP4")).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    assert len(connections) >= 2
    assert page.evaluate("() => window.sawReconnecting")
    expect(page.locator("#connection")).to_be_hidden()
    expect(page.locator("#export-error")).to_be_hidden()
    session.reached("reconnected")
    assert session.console.unexpected() == []


def test_a_longer_export_can_be_cancelled(session: Session) -> None:
    page = session.page
    session.open()
    session.load_example("demo", "Neon Drive")
    page.select_option("#resolution", "1280x720")
    page.select_option("#fps", "30000/1001")
    job_id = session.start()
    assert session.posted["settings"]["fps"] == "30000/1001"  # exact, as a rational string

    page.wait_for_function(
        "() => Number(document.querySelector('#progress').getAttribute('aria-valuenow')) >= 3",
        timeout=EXPORT_TIMEOUT_MS,
    )
    expect(page.locator("#job-phase")).to_have_text("Rendering")
    expect(page.locator("#stat-frames")).to_contain_text("/ 240")  # 8 s at 29.97 fps
    session.reached("running")

    page.get_by_role("button", name="Cancel export").click()
    expect(page.locator("#job-phase")).to_have_text("Cancelled")
    expect(page.locator("#export-notice")).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Cancel export")).to_be_hidden()
    expect(page.locator(f'#recent-body tr[data-job="{job_id}"]')).to_contain_text("Cancelled")
    assert session.coordinator.get(f"/api/exports/{job_id}")["phase"] == "cancelled"
    session.reached("cancelled")
    assert session.console.unexpected() == []


def is_retry(request: Request) -> bool:
    return request.method == "POST" and request.url.endswith("/retry")


def test_a_failed_export_shows_its_message_as_an_alert(session: Session) -> None:
    """Within this service's (raised) limits but wider than any GL render target: it fails."""
    page = session.page
    session.open()
    session.load_example("demo", "Neon Drive")
    session.small_settings(width="100000", height="16")
    job_id = session.start()
    alert = page.locator("#export-error")
    expect(alert).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("The export failed")
    expect(alert).to_contain_text("largest render target")  # the server's words, in Details
    expect(alert.locator(".plain")).to_contain_text("could not draw frames this large")
    expect(alert.locator("details .message")).to_be_hidden()  # until Details is opened
    expect(page.locator("#job-phase")).to_have_text("Failed")
    expect(page.get_by_role("button", name="Cancel export")).to_be_hidden()
    expect(page.locator(f'#recent-body tr[data-job="{job_id}"]')).to_contain_text("Failed")
    session.reached("failed")
    retried = try_again(session, job_id)
    assert session.coordinator.get(f"/api/exports/{retried}")["width"] == 100000  # the same
    assert session.console.unexpected() == []


def test_an_export_started_through_the_api_can_be_tried_again_from_the_page(
    session: Session,
) -> None:
    """The page has nothing of this export but its id: the retry is the server's, from the
    project and settings stored with the job."""
    page = session.page
    job_id = session.coordinator.submit(
        {"width": 100000, "height": 16, "fps": 10, "endBeat": 4, "format": "webm"}
    )
    page.goto(f"{session.coordinator.url}/#job={job_id}")
    expect(page.locator("#export-error")).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    retried = try_again(session, job_id)
    stored = session.coordinator.get(f"/api/exports/{retried}")
    assert (stored["width"], stored["height"], stored["format"]) == (100000, 16, "webm")
    expect(page.locator("#export-error")).to_be_visible(timeout=EXPORT_TIMEOUT_MS)  # it fails
    session.reached("retried-failed")
    assert session.console.unexpected() == []


def try_again(session: Session, job_id: str) -> str:
    """Press Try again on the failed ``job_id``: the page follows the new job; its id."""
    page = session.page
    with page.expect_request(is_retry) as again:
        page.get_by_role("button", name="Try again").click()
    assert again.value.url.endswith(f"/api/exports/{job_id}/retry")
    page.wait_for_function(
        "previous => document.querySelector('#export-panel').dataset.jobId !== previous",
        arg=job_id,
    )
    retried = page.locator("#export-panel").get_attribute("data-job-id")
    assert retried and retried != job_id
    return retried


def test_following_an_export_the_server_does_not_know_ends_in_an_alert(session: Session) -> None:
    page = session.page
    page.goto(session.coordinator.url + "/#job=" + "0" * 32)
    alert = page.locator("#export-error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("does not exist")
    expect(page.locator("#job-phase")).to_have_text("Failed")
    expect(page.get_by_role("button", name="Try again")).to_be_hidden()  # nothing to start again
    session.reached("unknown-export")
    # The refused WebSocket handshake and the 404 that explains it are logged by the browser.
    assert session.console.unexpected("status of 404 ", "WebSocket connection to") == []


def test_an_api_token_is_asked_for_kept_and_sent(browser: Browser, tmp_path: Path) -> None:
    """The token goes in Authorization headers only: never in a URL the browser requests (the
    WebSocket opens with a single-use ticket, the download link is signed), so never in the
    coordinator's access log either. The musician is an ordinary (not admin) principal."""
    tokens = f"musician:{TOKEN},someone-else:another-token"
    with (
        running_coordinator(
            tmp_path / "secured",
            FRAMEFARM_API_TOKENS=tokens,
            # Links as short-lived as allowed: every click re-signs the link it follows first.
            FRAMEFARM_DOWNLOAD_EXPIRES_SECONDS="10",
        ) as secured,
        _session(browser, secured) as session,
    ):
        page = session.page
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        page.on("websocket", lambda socket: urls.append(socket.url))
        # A download is no request of the page's: the event marks where it started, in order.
        page.on("download", lambda started: urls.append(f"{DOWNLOAD_MARK}{started.url}"))
        session.open()
        token_field = page.get_by_label("API token", exact=True)
        expect(token_field).to_be_visible()  # the recent list got a 401
        expect(page.locator("#token-reason")).to_contain_text("needs an API token")
        session.load_example("demo", "Neon Drive")  # the examples are open...
        expect(page.locator("#export-summary")).to_contain_text("API token")  # ...the plan is not
        session.reached("token")

        token_field.fill(TOKEN)
        page.get_by_role("button", name="Save token").click()
        expect(token_field).to_be_hidden()
        assert page.evaluate("() => localStorage.getItem('framefarm.apiToken')") == TOKEN
        expect(page.locator("#recent-empty")).to_be_visible()
        expect(page.locator("#project-duration")).to_contain_text("0:08")  # the plan, with it
        assert "480 frames" in session.settled_estimate()
        session.reached("token-saved")

        session.small_settings()
        assert "20 frames" in session.settled_estimate()
        job_id = session.start()
        download = page.get_by_role("link", name="Download MP4")
        expect(download).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
        signed = re.compile(rf"^/api/exports/{job_id}/download\?p=musician&exp=\d+&sig=\w+$")
        expect(download).to_have_attribute("href", signed)
        stale = expired_link(download.get_attribute("href") or "")
        for _ in range(600):  # the result's preview fetches the link it was given: wait for it
            if any(f"/api/exports/{job_id}/download?p=musician&" in url for url in urls):
                break
            page.wait_for_timeout(100)  # lets Playwright deliver the request events meanwhile
        clicked = len(urls)
        with page.expect_download() as downloading:
            download.click()  # re-signed first: the link on screen has expired
        assert downloading.value.failure() is None
        assert link_expiry(downloading.value.url) > stale
        assert secured.get(f"/api/exports/{job_id}", token=TOKEN)["phase"] == "complete"
        try:  # another principal's token does not see it
            secured.get(f"/api/exports/{job_id}", token="another-token")
            raise AssertionError("another principal read the export")
        except urllib.error.HTTPError as error:
            assert error.code == 404

        page.reload()  # the stored token is used straight away
        expect(page.locator(f'#recent-body tr[data-job="{job_id}"]')).to_contain_text("Complete")
        expect(token_field).to_be_hidden()
        assert session.console.unexpected("status of 401 ") == []

    check_no_token_in_urls(urls, job_id, clicked, secured.log.read_text())


DOWNLOAD_MARK = "download: "
"""Marks, among the URLs the page requested, where a download started (and its URL)."""


def check_no_token_in_urls(urls: list[str], job_id: str, clicked: int, log: str) -> None:
    """No URL the browser asked for holds the token: sockets opened with tickets, a download
    link re-signed (a status request) between the click (``urls[clicked]``) and the download;
    and the coordinator's access log holds no token, its tickets redacted.

    The download is found by its own event, not as "the next signed request after the click":
    the result's <video> requests signed links too (and the reloaded page's preview), so that
    reading took whichever came first, and failed when none came before the test ended."""
    assert [url for url in urls if TOKEN in url or "token=" in url] == []
    sockets = [url for url in urls if "/ws/exports/" in url]
    assert sockets and all(re.search(r"\?ticket=[\w-]+$", url) for url in sockets), sockets
    signed = [i for i, url in enumerate(urls) if "/download?p=musician&" in url]
    assert signed and signed[0] < clicked, urls  # the preview, from the link it was given
    downloads = [i for i, url in enumerate(urls) if url.startswith(DOWNLOAD_MARK)]
    assert len(downloads) == 1 and downloads[0] > clicked, urls
    fresh = urls[clicked : downloads[0]]  # the status gave a fresh link between click and start
    assert any(url.endswith(f"/api/exports/{job_id}") for url in fresh), urls
    assert f'"POST /api/exports/{job_id}/ticket HTTP/1.1" 200' in log  # the access log is on
    assert TOKEN not in log and "ticket=[redacted]" in log


def link_expiry(url: str) -> int:
    match = re.search(r"[?&]exp=(\d+)", url)
    assert match is not None, url
    return int(match.group(1))


def expired_link(href: str) -> int:
    """Wait until the signed link ``href`` has expired; its expiry time."""
    expires = link_expiry(href)
    while time.time() <= expires:  # the condition is the clock itself (at most the lifetime)
        time.sleep(0.2)
    return expires
