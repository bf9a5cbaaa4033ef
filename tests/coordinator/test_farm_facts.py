"""What an embedded coordinator knows of its farm, over the API: exports under way when it was
restarted finish (its in-memory queue died with it, so the work not yet stored is sent again at
start); estimates from the jobs it finished and the workers live now; the newest committed frame
as a live thumbnail."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import CoordinatorSettings, Limits
from coordinator.app import create_app
from tests.coordinator.api_client import TINY, TINY_FRAMES, demo, receive
from tests.coordinator.test_api import LiveServer, embedded_farm


def _coordinator(root: Path, *, workers: bool) -> LiveServer:
    app = create_app(
        embedded_farm(root, workers=workers),
        limits=Limits(),
        settings=CoordinatorSettings(api_token=None),
    )
    return LiveServer(app)


def test_exports_queued_before_a_restart_finish_after_it(tmp_path: Path) -> None:
    with _coordinator(tmp_path, workers=False) as before:  # nothing renders: all is queued
        first = before.api.submit_ok(demo(), TINY)["job_id"]
        second = before.api.submit_ok(demo(), {**TINY, "format": "webm"})["job_id"]
        assert before.api.status(first)["phase"] == "queued"
    with _coordinator(tmp_path, workers=True) as after:
        for job_id in (first, second):
            status = after.api.wait_for_phase(job_id, ("complete", "failed", "cancelled"))
            assert status["phase"] == "complete", status
            assert status["frames_done"] == TINY_FRAMES
            assert after.api.get(f"/api/exports/{job_id}/download").status == 200


def test_the_estimate_comes_from_finished_jobs_and_names_the_live_workers(
    tmp_path: Path,
) -> None:
    with _coordinator(tmp_path, workers=True) as server:
        reply = server.api.request(
            "POST", "/api/exports/estimate", json_body={"project": demo(), "settings": TINY}
        )
        assert reply.status == 200
        before = reply.json()
        assert before["seconds"] is None  # nothing measured yet
        assert before["workers"] == 2  # the test farm's two threads
        job_id = server.api.submit_ok(demo(), TINY)["job_id"]
        done = server.api.wait_for_phase(job_id, ("complete", "failed"))
        assert done["phase"] == "complete"
        took = done["updated_at"] - done["created_at"]
        doubled = {**TINY, "endBeat": 8}  # twice the frames, same size
        after = server.api.request(
            "POST", "/api/exports/estimate", json_body={"project": demo(), "settings": doubled}
        ).json()
        assert after["frames"] == 2 * TINY_FRAMES
        assert after["seconds"] == pytest.approx(2 * took, rel=0.01, abs=0.1)
        assert (after["basedOnJobs"], after["sameSize"]) == (1, True)
        bad = server.api.request(
            "POST", "/api/exports/estimate", json_body={"project": demo(), "settings": {"fps": 0}}
        )
        assert bad.status == 422


def test_the_feed_points_at_the_newest_committed_frame_as_a_small_png(tmp_path: Path) -> None:
    from farm_worker.png import decode_png
    from tests.coordinator.api_client import LONGER

    with _coordinator(tmp_path, workers=True) as server:
        job_id = server.api.submit_ok(demo(), {**LONGER, "width": 640, "height": 360})["job_id"]
        seen: list[str] = []
        thumbnail = None
        with server.api.connect(job_id) as feed:
            message = receive(feed)
            while message["type"] == "progress":  # read live: a thumbnail is fetched at once,
                url = message.get("thumbnailUrl")  # while the job's frames are still stored
                if url and url not in seen:
                    seen.append(url)
                    if thumbnail is None:
                        thumbnail = server.api.get(url)
                message = receive(feed)
            assert message["type"] == "complete", message
        assert seen, "no progress message carried a thumbnail"
        frames = [int(url.rsplit("=", 1)[1]) for url in seen]
        assert frames == sorted(frames)  # newer and newer
        assert thumbnail is not None and thumbnail.status == 200, thumbnail
        assert thumbnail.headers["content-type"] == "image/png"
        assert decode_png(thumbnail.body).shape == (180, 320, 3)
        outside = server.api.get(f"/api/exports/{job_id}/thumbnail?frame=999999")
        assert outside.status == 422
