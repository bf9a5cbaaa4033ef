"""The export page as a musician meets it, at a desktop (1280×800) and a phone (390×844) size, in
Debian's Chromium against one real ``framefarm coordinator --embedded``: the frame preview and
its scrubber, the poster of the result, and axe-core (npm, injected) finding no WCAG A/AA
violation in each state. Screenshots go to tests/page/artifacts/."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, ViewportSize, WebSocketRoute, expect

from tests.page.axe import check_accessible as accessible
from tests.page.test_export_page import (
    EXPORT_TIMEOUT_MS,
    Console,
    Coordinator,
    browser,  # noqa: F401 (a fixture: one browser for the module)
    playwright,  # noqa: F401 (a fixture)
    running_coordinator,
)

pytestmark = pytest.mark.integration

NOT_EMPTY = re.compile(r".+")
VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coordinator]:
    with running_coordinator(tmp_path_factory.mktemp("musician")) as running:
        yield running


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(viewport=VIEWPORTS[request.param], accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    console = Console()
    opened.on("console", console.on_console)
    opened.on("pageerror", console.on_page_error)
    opened.viewport_name = request.param  # type: ignore[attr-defined]
    opened.allowed_errors = []  # type: ignore[attr-defined]
    try:
        yield opened
        assert console.unexpected(*opened.allowed_errors) == []  # type: ignore[attr-defined]
    finally:
        context.close()


def check_accessible(page: Page, state: str) -> None:
    """axe-core finds nothing in this state at this size; its screenshot is kept."""
    accessible(page, f"{state}-{page.viewport_name}")  # type: ignore[attr-defined]


def sent_settings(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.post_data or "{}")
    return dict(body.get("settings") or {})


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True, width


def small_export(page: Page, end_beat: str, fps: str = "10") -> None:
    """160×90 at ``fps`` (10: 5 frames a beat) from beat 0 to ``end_beat``: quick to render."""
    page.select_option("#resolution", "custom")
    page.fill("#width", "160")
    page.fill("#height", "90")
    page.select_option("#fps", "custom")
    page.fill("#fps-custom", fps)
    page.fill("#end-beat", end_beat)


def open_demo(page: Page, coordinator: Coordinator) -> None:
    page.goto(coordinator.url + "/")
    page.locator('[data-example="demo"]').click()
    expect(page.locator("#project-name")).to_have_text("Neon Drive")


def test_the_preview_opens_on_a_bright_moment_and_follows_the_scrubber(
    page: Page, coordinator: Coordinator
) -> None:
    open_demo(page, coordinator)
    image = page.locator("#frame-preview-image")
    expect(image).to_have_attribute("data-beat", NOT_EMPTY)
    first = float(image.get_attribute("data-beat") or "nan")
    assert first > 0  # the brightest moment, not frame 0
    expect(page.locator("#frame-preview-where")).to_contain_text("Bar ")
    expect(page.locator("#frame-preview-where")).to_contain_text(":")  # the server's time
    size = image.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size == [480, 270]  # the 720p default at preview size
    check_accessible(page, "preview")

    page.locator("#scrubber").evaluate(
        "s => { s.value = '2'; s.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    expect(image).to_have_attribute("data-beat", "2")
    expect(page.locator("#frame-preview-where")).to_contain_text("Bar 1, beat 3")

    page.select_option("#resolution", "custom")
    page.fill("#width", "1080")
    page.fill("#height", "1920")
    page.wait_for_function(
        "() => document.querySelector('#frame-preview-image').naturalHeight === 480"
    )
    assert image.evaluate("i => i.naturalWidth") == 270  # vertical, as the export will be
    expect(image).to_have_attribute("data-beat", "2")  # the same moment, new settings
    check_accessible(page, "preview-vertical")


def test_a_finished_export_has_a_poster_from_a_bright_moment_wherever_it_was_started(
    page: Page, coordinator: Coordinator
) -> None:
    """Started through the API, not this page: the poster is drawn from the job's stored spec."""
    job_id = coordinator.submit({"width": 160, "height": 90, "fps": 10, "endBeat": 8})
    page.goto(f"{coordinator.url}/#job={job_id}")
    expect(page.get_by_role("link", name="Download MP4")).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    video = page.locator("#preview video")
    expect(video).to_have_attribute("poster", NOT_EMPTY)
    brightness = page.evaluate(
        """async () => {
            const img = new Image();
            img.src = document.querySelector('#preview video').poster;
            await img.decode();
            const c = document.createElement('canvas');
            c.width = img.width; c.height = img.height;
            const g = c.getContext('2d'); g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            let sum = 0; for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i+1] + d[i+2];
            return sum / (d.length / 4) / 3;
        }"""
    )
    assert brightness > 8  # not the near-black first frame
    check_accessible(page, "complete")


def test_presets_quality_words_and_a_reload_that_keeps_everything(
    page: Page, coordinator: Coordinator
) -> None:
    open_demo(page, coordinator)
    page.select_option("#resolution", "1080x1920")
    expect(page.locator("#width")).to_have_value("1080")
    expect(page.locator("#height")).to_have_value("1920")
    page.select_option("#resolution", "1080x1080")
    expect(page.locator("#height")).to_have_value("1080")
    expect(page.locator("#crf")).to_be_hidden()  # numbers only under Fine-tune
    expect(page.locator("#quality")).to_have_value("high")
    with page.expect_request(
        lambda r: r.url.endswith("/api/exports/plan") and sent_settings(r).get("crf") == 28
    ) as planned:
        page.select_option("#quality", "small")
    assert sent_settings(planned.value)["preset"] == "faster"
    page.locator('input[name="format"][value="webm"]').check()
    expect(page.locator("#crf")).to_have_value("40")  # VP9's own scale for "Small file"
    page.fill("#end-beat", "8")
    expect(page.locator("#range-hint")).to_contain_text("(bar 1:1 to 3:1)")
    check_accessible(page, "settings")

    page.reload()
    expect(page.locator("#project-name")).to_have_text("Neon Drive")  # from IndexedDB
    expect(page.locator("#end-beat")).to_have_value("8")
    expect(page.locator("#height")).to_have_value("1080")
    expect(page.locator("#quality")).to_have_value("small")
    expect(page.locator("#start")).to_be_enabled()


def test_escape_closes_the_token_prompt_and_a_refused_token_says_so(
    page: Page, coordinator: Coordinator
) -> None:
    page.allowed_errors.append("status of 401")  # type: ignore[attr-defined]
    page.goto(coordinator.url + "/")
    page.evaluate("() => localStorage.setItem('framefarm.apiToken', 'wrong')")
    page.route(  # this server has no token: play one that refuses the saved one
        "**/api/exports/plan",
        lambda route: route.fulfill(
            status=401, content_type="application/json", body='{"error": "wrong token"}'
        ),
    )
    page.reload()
    expect(page.locator("#token-toggle")).to_contain_text("✓")
    page.locator('[data-example="demo"]').click()
    form = page.locator("#token-form")
    expect(form).to_be_visible()
    expect(page.locator("#token-reason")).to_contain_text("refused")
    expect(page.locator("#token-toggle")).to_have_text("API token refused")
    check_accessible(page, "token-refused")
    page.keyboard.press("Escape")
    expect(form).to_be_hidden()
    expect(page.locator("#token-toggle")).to_be_focused()


def test_export_is_disabled_while_one_runs_and_the_phone_never_scrolls_sideways(
    page: Page, coordinator: Coordinator
) -> None:
    open_demo(page, coordinator)
    page.select_option("#resolution", "custom")
    page.fill("#width", "160")
    page.fill("#height", "90")
    page.select_option("#fps", "custom")
    page.fill("#fps-custom", "10")
    page.fill("#end-beat", "4")
    page.fill("#file-name", "my song")
    expect(page.locator("#export-summary")).to_contain_text("20 frames")
    # The exports of the tests before this one were measured: an estimate, and the one worker.
    expect(page.locator("#export-estimate")).to_contain_text("Takes about")
    expect(page.locator("#export-estimate")).to_contain_text("on 1 worker")
    start = page.get_by_role("button", name="Export video")
    start.click()
    expect(start).to_be_disabled()  # one export at a time
    check_accessible(page, "running")
    download = page.get_by_role("link", name="Download MP4")
    expect(download).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    expect(download).to_have_attribute("download", "my song.mp4")
    expect(start).to_be_enabled()
    expect(page.locator("#result-info")).to_contain_text("estimated")  # and how far off
    expect(page.locator("#export-result")).to_be_in_viewport()  # scrolled to the result
    no_sideways_scroll(page)
    check_accessible(page, "finished")


LIVE_FPS = {"desktop": ("24", 192), "phone": ("25", 200)}
"""A rate per size: the same export twice would be the cache's the second time, its chunks
committed at once, with no progress message in between to carry a frame to show (the wait for
the live frame then ran out: the flaky phone case)."""


def test_the_newest_rendered_frame_shows_while_the_export_runs(
    page: Page, coordinator: Coordinator
) -> None:
    open_demo(page, coordinator)
    fps, frames = LIVE_FPS[page.viewport_name]  # type: ignore[attr-defined]
    page.select_option("#resolution", "640x360")
    page.select_option("#fps", fps)
    page.fill("#end-beat", "16")  # 8 s in several chunks: commits arrive one by one
    expect(page.locator("#export-summary")).to_contain_text(f"{frames} frames")
    page.get_by_role("button", name="Export video").click()
    page.wait_for_function(
        "() => document.querySelector('#live-frame').naturalWidth > 0", timeout=EXPORT_TIMEOUT_MS
    )
    size = page.locator("#live-frame").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size == [320, 180]  # a small picture of a 640x360 frame
    check_accessible(page, "live-frame")
    expect(page.get_by_role("link", name="Download MP4")).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    expect(page.locator("#live-frame-box")).to_be_hidden()  # the video takes its place


STALL_FPS = {"desktop": "11", "phone": "12"}
"""A rate of its own per size, used by no other test: an export another test (or the other
size) made already would come from the cache, done before its feed opens."""


def test_an_export_whose_progress_stops_says_stalled_until_progress_comes_back(
    page: Page, coordinator: Coordinator
) -> None:
    """The page's clock is Playwright's, and the export's feed is held (as a farm with no
    worker is silent): after 31 s of silence the page says "stalled"; the first message let
    through brings the progress back, and the rest take the export to its end."""
    page.clock.install()
    held: list[str | bytes] = []
    sockets: list[WebSocketRoute] = []
    released: list[bool] = []
    closed: list[tuple[int | None, str | None]] = []

    def route(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()
        sockets.append(socket)

        def relay(message: str | bytes) -> None:
            if released:
                socket.send(message)
            else:
                held.append(message)

        def on_close(code: int | None, reason: str | None) -> None:
            if released:
                socket.close(code=code, reason=reason)
            else:  # the server ended the feed: the page hears of it once the feed is released
                closed.append((code, reason))

        server.on_message(relay)
        server.on_close(on_close)

    page.route_web_socket("**/ws/exports/*", route)
    open_demo(page, coordinator)
    small_export(page, end_beat="8", fps=STALL_FPS[page.viewport_name])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Export video").click()
    panel, message = page.locator("#export-panel"), page.locator("#progress-message")
    expect(panel).to_have_attribute("data-job-id", NOT_EMPTY)
    stalled = re.compile(r"\bstalled\b")
    expect(panel).not_to_have_class(stalled)
    page.clock.fast_forward(31_000)
    expect(panel).to_have_class(stalled)
    expect(message).to_contain_text("Stalled: no progress for 3")  # 30 or 31 s
    check_accessible(page, "stalled")

    while not held:  # the server's first message (the job's state at connect) waits
        page.wait_for_timeout(50)  # lets Playwright hand it to the route meanwhile
    first = json.loads(held.pop(0))
    assert first["type"] == "progress", first  # the job cannot be done before its feed opens
    sockets[-1].send(json.dumps(first))
    expect(panel).not_to_have_class(stalled)
    expect(message).to_have_text(first["message"])
    shown = math.floor(first["percent"] * 10) / 10
    expect(page.locator("#progress")).to_have_attribute("aria-valuenow", f"{shown:g}")

    released.append(True)  # what comes from now on goes through as it comes, up to the end
    if held:  # of what was held meanwhile only the newest state counts: the older messages'
        sockets[-1].send(held.pop())  # live frames are gone once the export has finished
    held.clear()
    if closed:
        sockets[-1].close(code=closed[0][0], reason=closed[0][1])
    expect(page.get_by_role("link", name="Download MP4")).to_be_visible(timeout=EXPORT_TIMEOUT_MS)
    expect(panel).not_to_have_class(stalled)


def test_the_range_is_typed_in_bars_and_beats_or_minutes_and_seconds(
    page: Page, coordinator: Coordinator
) -> None:
    """The server reads the range as typed (the request's ``range``) and writes it back in the
    other units: the page converts nothing itself. Neon Drive: 4/4 at 120 bpm, 2 s a bar."""
    open_demo(page, coordinator)
    summary, start, end = (page.locator(s) for s in ("#export-summary", "#start-beat", "#end-beat"))
    expect(summary).to_contain_text("480 frames")  # 60 fps, the whole 8 s
    page.select_option("#range-unit", "bars")
    expect(page.get_by_label("Start (bar:beat)")).to_be_visible()
    start.fill("2:1")
    with page.expect_request(
        lambda r: is_plan_of(r, {"unit": "bars", "start": "2:1", "end": "4:1"})
    ) as asked:
        end.fill("4:1")
    assert "startBeat" not in sent_settings(asked.value) and "endBeat" not in sent_settings(
        asked.value
    )
    expect(summary).to_contain_text("240 frames")  # bars 2 and 3: 4 s
    expect(page.locator("#range-hint")).to_contain_text("Beats 4–12 (bar 2:1 to 4:1) · 0:02–0:06")
    check_accessible(page, "range-bars")

    page.select_option("#range-unit", "time")  # rewritten from the server's reading
    expect(start).to_have_value("0:02")
    expect(end).to_have_value("0:06")
    end.fill("0:07")
    expect(summary).to_contain_text("300 frames")
    page.allowed_errors.append("status of 422")  # type: ignore[attr-defined]
    start.fill("two")
    error = page.locator("#start-beat-error")
    expect(error).to_contain_text("expected minutes:seconds like 1:30")
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Export video")).to_be_disabled()
    check_accessible(page, "range-time-error")
    start.fill("0:01.5")
    expect(error).to_be_hidden()
    expect(summary).to_contain_text("330 frames")  # 1.5 s to 7 s

    page.select_option("#range-unit", "beats")
    expect(start).to_have_value("3")
    expect(end).to_have_value("14")
    expect(page.get_by_label("Start beat")).to_be_visible()


def is_plan_of(request: Request, range_: dict[str, str]) -> bool:
    if not request.url.endswith("/api/exports/plan"):
        return False
    body: dict[str, Any] = json.loads(request.post_data or "{}")
    return body.get("range") == range_
