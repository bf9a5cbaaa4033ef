"""What clients see of a job: the HTTP status document and the WebSocket messages, as pure
functions of the job state (no I/O, no clock of their own)."""

from __future__ import annotations

from typing import Any

from common.jobs.state import JobState, Phase

PHASE_MESSAGES = {
    Phase.QUEUED: "Waiting for a render worker",
    Phase.RENDERING: "Rendering and encoding",
    Phase.STITCHING: "Putting the video together",
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
    """Seconds left for the whole job (render, encode and join together): the time so far
    scaled by the share of the work left (None until there is a measurable start)."""
    if state.phase.terminal:
        return 0.0
    if state.rendering_since is None:
        return None
    elapsed = now - state.rendering_since
    done = state.percent / 100.0
    if elapsed <= 0 or done < 0.01:
        return None
    return round(elapsed * (1.0 - done) / done, 1)


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
        "frames_encoded": state.frames_encoded,
        "frames_total": state.frame_count,
        "segments_done": len(state.encoded),
        "segments_total": len(state.segment_frames),
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
        "framesEncoded": state.frames_encoded,
        "framesTotal": state.frame_count,
        "etaSeconds": eta_seconds(state, now),
        "renderFps": render_fps(state),
    }
