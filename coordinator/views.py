"""What clients see of a job: the HTTP status document and the WebSocket messages, as pure
functions of the job state (no I/O, no clock of their own)."""

from __future__ import annotations

from typing import Any

from common.jobs.state import JobState, Phase

PHASE_MESSAGES = {
    Phase.QUEUED: "Waiting for a render worker",
    Phase.RENDERING: "Rendering frames",
    Phase.STITCHING: "Encoding the video",
    Phase.COMPLETE: "Done",
    Phase.FAILED: "Failed",
    Phase.CANCELLED: "Cancelled",
}


def render_fps(state: JobState) -> float | None:
    """Frames rendered per second since rendering started (None before any progress)."""
    if state.rendering_since is None or state.frames_done == 0:
        return None
    end = state.stitching_since or state.updated_at
    elapsed = end - state.rendering_since
    return round(state.frames_done / elapsed, 2) if elapsed > 0 else None


def eta_seconds(state: JobState, now: float) -> float | None:
    """Seconds left: remaining frames at the measured rate (stitching counts as its own rate)."""
    if state.phase.terminal:
        return 0.0
    if state.phase is Phase.STITCHING:
        since = state.stitching_since or now
        if state.stitched_frames == 0 or now <= since:
            return None
        rate = state.stitched_frames / (now - since)
        return round((state.frame_count - state.stitched_frames) / rate, 1)
    fps = render_fps(state)
    if fps is None or fps <= 0:
        return None
    return round((state.frame_count - state.frames_done) / fps, 1)


def links(job_id: str) -> dict[str, str]:
    return {
        "status_url": f"/api/exports/{job_id}",
        "events_url": f"/ws/exports/{job_id}",
        "download_url": f"/api/exports/{job_id}/download",
    }


def status_document(state: JobState, now: float) -> dict[str, Any]:
    """``GET /api/exports/{job_id}``."""
    return {
        "job_id": state.job_id,
        "phase": state.phase.value,
        "message": PHASE_MESSAGES[state.phase],
        "percent": state.percent,
        "frames_done": state.frames_done,
        "frames_total": state.frame_count,
        "chunks_done": len(state.committed),
        "chunks_total": state.chunk_count,
        "render_fps": render_fps(state),
        "eta_seconds": eta_seconds(state, now),
        "error": state.error,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "duration_seconds": state.duration_seconds,
        "size_bytes": state.size_bytes,
        **links(state.job_id),
        "download_url": links(state.job_id)["download_url"]
        if state.phase is Phase.COMPLETE
        else None,
    }


def socket_message(state: JobState, now: float) -> dict[str, Any]:
    """The WebSocket message for a state: ``progress``, then ``complete`` or ``error``."""
    if state.phase is Phase.COMPLETE:
        return {"type": "complete", "url": links(state.job_id)["download_url"], "percent": 100.0}
    if state.phase in (Phase.FAILED, Phase.CANCELLED):
        error = state.error if state.phase is Phase.FAILED else "the export was cancelled"
        return {"type": "error", "message": error or "failed", "phase": state.phase.value}
    return {
        "type": "progress",
        "percent": state.percent,
        "message": PHASE_MESSAGES[state.phase],
        "phase": state.phase.value,
        "framesDone": state.frames_done,
        "framesTotal": state.frame_count,
        "etaSeconds": eta_seconds(state, now),
        "renderFps": render_fps(state),
    }
