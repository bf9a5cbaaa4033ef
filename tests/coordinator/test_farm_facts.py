"""What an embedded coordinator knows of its farm, over the API: exports under way when it was
restarted finish (its in-memory queue died with it, so the work not yet stored is sent again at
start); estimates from the work its finished jobs measured, shared by the workers live now; the
newest committed frame as a live thumbnail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from common.config import CoordinatorSettings, Limits
from common.jobs import records
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest
from coordinator.app import create_app
from framefarm.farm import Farm
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


def test_the_estimate_is_the_measured_work_shared_by_the_workers_live_now(
    tmp_path: Path,
) -> None:
    """The cost per frame is the worker-seconds the chunks reported (their manifests), not the
    job's wall time: a farm with twice the render workers is estimated to render twice as
    fast, and the job keeps what was estimated at its submit."""
    with _coordinator(tmp_path, workers=True) as server:
        before = server.api.request(
            "POST", "/api/exports/estimate", json_body={"project": demo(), "settings": TINY}
        ).json()
        assert before["seconds"] is None  # nothing measured yet
        assert before["workers"] == 2  # the test farm's two threads
        server.services.orchestrator.keep_intermediates = True  # to read the chunks' manifests
        job_id = server.api.submit_ok(demo(), TINY)["job_id"]
        done = server.api.wait_for_phase(job_id, ("complete", "failed"))
        assert done["phase"] == "complete"
        assert done["estimated_seconds"] is None  # submitted before any job was measured
        store = server.services.farm.store
        keys = JobKeys(job_id)
        spec = server.services.orchestrator.spec(job_id)
        worked = sum(
            records.load(ChunkManifest, store.get(keys.chunk_manifest(c.index))).render_seconds
            for c in spec.chunks
        )

        def ask() -> dict[str, Any]:
            longer = {**TINY, "endBeat": 16, "fps": 30}  # 240 frames, same size: 4 chunks
            reply = server.api.request(
                "POST", "/api/exports/estimate", json_body={"project": demo(), "settings": longer}
            )
            assert reply.status == 200
            answer: dict[str, Any] = reply.json()
            return answer

        on_two = ask()
        assert on_two["frames"] == 12 * TINY_FRAMES
        assert on_two["secondsPerFrame"] == pytest.approx(worked / TINY_FRAMES, abs=1e-4)
        assert (on_two["basedOnJobs"], on_two["sameSize"], on_two["workers"]) == (1, True, 2)
        tail = on_two["tailSeconds"]
        assert tail >= 0
        rendering = 12 * worked  # twelve times the frames, at the measured worker-seconds a frame
        assert on_two["seconds"] == pytest.approx(rendering / 2 + tail, abs=0.1)

        farm = server.services.farm
        assert isinstance(farm, Farm)
        farm.start_worker({farm.queues.render}, threads=2)  # two more render workers
        on_four = ask()
        assert on_four["workers"] == 4
        assert on_four["secondsPerFrame"] == on_two["secondsPerFrame"]
        assert on_four["seconds"] == pytest.approx(rendering / 4 + tail, abs=0.1)

        second = server.api.submit_ok(demo(), TINY)["job_id"]
        expected = server.api.status(second)["estimated_seconds"]
        # a twelfth of the frames, in one chunk: one worker renders it however many are live
        assert expected == pytest.approx(worked + tail / 12, abs=0.1)
        assert server.api.wait_for_phase(second, ("complete", "failed"))["phase"] == "complete"
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
        ended = server.api.get(seen[-1])  # a page may ask after the end: no error, no frame
        assert (ended.status, ended.body) == (204, b"")


def test_any_export_can_be_retried_and_has_a_poster_from_its_stored_spec(tmp_path: Path) -> None:
    """Sent through the API (not the page): the retry and the poster come from the project and
    settings stored with the job."""
    from farm_worker.png import decode_png

    with _coordinator(tmp_path / "idle", workers=False) as idle:
        queued = idle.api.submit_ok(demo(), TINY)["job_id"]
        running = idle.api.request("POST", f"/api/exports/{queued}/retry")
        assert running.status == 409, running.body  # not started twice
        assert "cancel it first" in running.json()["error"]
    with _coordinator(tmp_path / "farm", workers=True) as server:
        settings = {**TINY, "format": "webm"}
        first = server.api.submit_ok(demo(), settings)["job_id"]
        assert server.api.wait_for_phase(first, ("complete", "failed"))["phase"] == "complete"

        poster = server.api.get(f"/api/exports/{first}/poster")
        assert poster.status == 200, poster.body
        assert poster.headers["content-type"] == "image/png"
        pixels = decode_png(poster.body)
        assert pixels.shape == (54, 96, 3)  # the export's own size (under the preview's 480)
        assert pixels.mean() > 8  # a bright moment, not the near-black first frame
        assert float(poster.headers["x-preview-beat"]) > 0

        again = server.api.request("POST", f"/api/exports/{first}/retry")
        assert again.status == 202, again.body
        second = again.json()["job_id"]
        assert second != first
        assert again.headers["location"] == f"/api/exports/{second}"
        done = server.api.wait_for_phase(second, ("complete", "failed"))
        assert done["phase"] == "complete"
        assert (done["format"], done["width"], done["height"]) == ("webm", 96, 54)
        assert done["frames_total"] == TINY_FRAMES
        assert server.api.request("POST", f"/api/exports/{'0' * 32}/retry").status == 404
