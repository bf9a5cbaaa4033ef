"""POST /api/preview: one frame of an export at preview size, from the export's own renderer, at a
beat, a time, or the brightest moment of the range (the poster frame)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from common.config import CoordinatorSettings, Limits
from common.format.validation import validate_export
from common.scene.highlights import brightest_moment
from common.scene.visuals import SceneModel
from coordinator.app import create_app
from farm_worker.gl import create_context
from farm_worker.png import decode_png
from farm_worker.preview import preview_size
from farm_worker.renderer import FrameRenderer, as_image
from tests.coordinator.api_client import Reply, demo
from tests.coordinator.test_api import LiveServer, embedded_farm

SETTINGS: dict[str, Any] = {"width": 1280, "height": 720, "fps": 30}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("preview")
    app = create_app(
        embedded_farm(root, workers=False),
        limits=Limits(),
        settings=CoordinatorSettings(api_token=None),
    )
    with LiveServer(app) as live:
        yield live


def _preview(server: LiveServer, **where: Any) -> Reply:
    body = {"project": demo(), "settings": SETTINGS, **where}
    return server.api.request("POST", "/api/preview", json_body=body)


def _direct(seconds: Fraction, width: int, height: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    export = validate_export(demo(), SETTINGS, Limits())
    ctx = create_context()
    try:
        with FrameRenderer(ctx, export.project, width, height) as renderer:
            return as_image(renderer.render_at(seconds), width, height).copy()
    finally:
        ctx.release()


def test_preview_sizes_keep_the_aspect_and_never_grow() -> None:
    assert preview_size(1280, 720) == (480, 270)
    assert preview_size(1080, 1920) == (270, 480)
    assert preview_size(1080, 1080) == (480, 480)
    assert preview_size(320, 180) == (320, 180)


def test_a_beat_is_rendered_by_the_exports_renderer_at_preview_size(server: LiveServer) -> None:
    reply = _preview(server, beat=8)
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["content-type"] == "image/png"
    assert float(reply.headers["x-preview-beat"]) == pytest.approx(8.0)
    seconds = Fraction(reply.headers["x-preview-seconds"])
    assert float(seconds) == pytest.approx(4.0)  # 120 bpm
    image = decode_png(reply.body)
    assert image.shape == (270, 480, 3)
    expected = _direct(Fraction(4), 480, 270)
    assert np.array_equal(image, expected)  # the same renderer: the same pixels


def test_a_time_can_be_asked_for_instead(server: LiveServer) -> None:
    reply = _preview(server, seconds=2.5)
    assert reply.status == 200
    assert float(reply.headers["x-preview-beat"]) == pytest.approx(5.0)


def test_without_a_moment_the_poster_is_the_brightest_and_not_frame_zero(
    server: LiveServer,
) -> None:
    reply = _preview(server)
    assert reply.status == 200
    export = validate_export(demo(), SETTINGS, Limits())
    start = export.timeline.start
    end = start + export.timeline.duration
    chosen = brightest_moment(SceneModel.from_project(export.project), start, end)
    assert float(reply.headers["x-preview-seconds"]) == pytest.approx(float(chosen), abs=1e-6)
    assert chosen > start
    poster = decode_png(reply.body).astype(np.float64)
    first = _direct(start, 480, 270).astype(np.float64)
    assert poster.mean() > first.mean()  # brighter than the (dark) first frame


@pytest.mark.parametrize(
    ("where", "path", "words"),
    [
        ({"beat": 1000}, "beat", "inside the export"),
        ({"seconds": -1}, "seconds", "inside the export"),
        ({"beat": "x"}, "beat", "expected a number"),
        ({"beat": 1, "seconds": 1}, "beat", "not both"),
        ({"frame": 1}, "frame", "unknown field"),
    ],
)
def test_a_moment_outside_the_export_is_named(
    server: LiveServer, where: dict[str, Any], path: str, words: str
) -> None:
    reply = _preview(server, **where)
    assert reply.status == 422
    reply.issue(path, words)


def test_invalid_settings_are_refused_as_for_an_export(server: LiveServer) -> None:
    body = {"project": demo(), "settings": {**SETTINGS, "width": 7}, "beat": 1}
    reply = server.api.request("POST", "/api/preview", json_body=body)
    assert reply.status == 422
    assert "settings.width" in reply.issue_paths()


def test_previews_asked_together_all_arrive(server: LiveServer, tmp_path: Path) -> None:
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda beat: _preview(server, beat=beat), [2, 4, 6]))
    assert [r.status for r in replies] == [200, 200, 200]
    assert len({r.body for r in replies}) == 3  # three moments, three pictures
