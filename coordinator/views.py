"""What clients see: an export's plan (its frames and seconds, before anything runs), a job's
HTTP status document and its WebSocket messages, as pure functions (no I/O, no clock of their
own)."""

from __future__ import annotations

import re
import sys
from fractions import Fraction
from typing import Any

from common.format.instruments import PolySynthSpec
from common.format.notation import notation_to_beats
from common.format.positions import write_bar_beat, write_clock
from common.format.project import Project, Track
from common.format.validation import Export
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


def reuse_summary(state: JobState) -> str:
    """What the cache saved, in words: ``reused 1,620 of 1,800 frames, 40 of 45 segments and
    the soundtrack (12.3 MB)``; frames and segments count once their chunk or segment is in."""
    done = sum(state.chunk_frames[i] for i in state.committed)
    parts = [f"reused {state.frames_reused:,} of {done:,} frames"]
    if state.segmented:
        parts.append(f"{len(state.segments_reused):,} of {len(state.encoded):,} segments")
    text = ", ".join(parts)
    if state.audio_reused:
        text += " and the soundtrack"
    return f"{text} ({state.bytes_reused / 1e6:.1f} MB)"


def cache_document(state: JobState) -> dict[str, Any]:
    """The cache's part of a job's status: hits, misses and bytes so far."""
    return {
        "enabled": state.cache,
        "frames_reused": state.frames_reused,
        "frames_rendered": state.frames_rendered,
        "segments_reused": len(state.segments_reused),
        "segments_encoded": len(state.encoded) - len(state.segments_reused),
        "audio_reused": state.audio_reused,
        "bytes_reused": state.bytes_reused,
        "bytes_written": state.bytes_written,
        "summary": reuse_summary(state) if state.cache else "cache off",
    }


def newest_committed_frame(state: JobState) -> int | None:
    """The last frame of the highest committed chunk: the newest picture the farm has stored
    (chunks are numbered in frame order; None before the first commit)."""
    if not state.committed:
        return None
    top = max(state.committed)
    first = sum(count for index, count in state.chunk_frames.items() if index < top)
    return first + state.chunk_frames[top] - 1


def thumbnail_url(state: JobState) -> str | None:
    """``GET /api/exports/{job_id}/thumbnail?frame=N`` of the newest committed frame."""
    frame = newest_committed_frame(state)
    return None if frame is None else f"/api/exports/{state.job_id}/thumbnail?frame={frame}"


def links(job_id: str) -> dict[str, str]:
    return {
        "status_url": f"/api/exports/{job_id}",
        "events_url": f"/ws/exports/{job_id}",
        "download_url": f"/api/exports/{job_id}/download",
    }


MAX_ERROR_CHARS = 300

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)]+")
_ADDRESS = re.compile(r"\b(?:(?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?")
_NAMED_HOST = re.compile(r"\b[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*:\d{2,5}\b")
_HOST_ARGS = re.compile(r"\b(?:host|port|endpoint|server)=\S+?(?=[,)\s]|$)", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.:/])(?:~|/)(?:[^\s/'\"(),:;]+/)+([^\s/'\"(),:;]*)")
_REPR = re.compile(r"<[A-Za-z0-9_.]+ object at 0x[0-9a-f]+>")


def public_error(error: str | None) -> str | None:
    """A job's error as clients may see it: no URL, host, port or address, no absolute path
    (its last part stays: "… soundtrack.wav" still says what), no object repr, bounded in
    length. The full text stays in the stored state and the logs."""
    if error is None:
        return None
    text = _URL.sub("<server>", error)
    text = _HOST_ARGS.sub("<server>", text)
    text = _ADDRESS.sub("<server>", text)
    text = _NAMED_HOST.sub("<server>", text)
    text = _PATH.sub(lambda m: f"…/{m.group(1)}" if m.group(1) else "…", text)
    text = _REPR.sub("<object>", text)
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return text


def status_document(
    state: JobState, now: float, *, download_url: str | None = None
) -> dict[str, Any]:
    """``GET /api/exports/{job_id}``; ``download_url`` is the link to give once complete (the
    plain route when None)."""
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
        "error": public_error(state.error),
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "duration_seconds": state.duration_seconds,
        "size_bytes": state.size_bytes,
        "estimated_seconds": state.estimated_seconds,
        "cache": cache_document(state),
        **links(state.job_id),
        "download_url": (download_url or links(state.job_id)["download_url"])
        if state.phase is Phase.COMPLETE
        else None,
    }


def socket_message(
    state: JobState, now: float, *, download_url: str | None = None
) -> dict[str, Any]:
    """The WebSocket message for a state: ``progress``, then ``complete`` (with
    ``download_url``, the plain route when None) or ``error``."""
    if state.phase is Phase.COMPLETE:
        url = download_url or links(state.job_id)["download_url"]
        return {"type": "complete", "url": url, "percent": 100.0}
    if state.phase in (Phase.FAILED, Phase.CANCELLED):
        error = (
            public_error(state.error)
            if state.phase is Phase.FAILED
            else ("the export was cancelled")
        )
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
        "framesReused": state.frames_reused,
        "reuse": reuse_summary(state) if state.cache else None,
        "thumbnailUrl": thumbnail_url(state) if state.phase is Phase.RENDERING else None,
    }


class FeedMessages:
    """The messages of one WebSocket, in the order it sends them. Each carries the highest
    percent sent so far, so the bar never goes back whatever order the states arrive in (a
    redelivered chunk's progress restarting, a snapshot overtaken by an older one)."""

    def __init__(self) -> None:
        self._percent = 0.0

    def message(
        self, state: JobState, now: float, *, download_url: str | None = None
    ) -> dict[str, Any]:
        message = socket_message(state, now, download_url=download_url)
        if "percent" in message:
            self._percent = max(self._percent, float(message["percent"]))
            message["percent"] = self._percent
        return message


def export_plan(export: Export) -> dict[str, Any]:
    """``POST /api/exports/plan``: what the export would make, read off the exact timeline the
    farm renders, so that a client shows the server's frames and seconds, never its own."""
    settings, timeline, tempo = export.settings, export.timeline, export.project.tempo_map
    start, end = tempo.time_to_beat(timeline.start), tempo.time_to_beat(timeline.end)
    meter = export.project.time_signature
    return {
        "frames": timeline.count,
        "fps": settings.fps,
        "fpsValue": _number(timeline.fps),
        "startBeat": _number(start),
        "endBeat": _number(end),
        "startBar": write_bar_beat(start, meter),
        "endBar": write_bar_beat(end, meter),
        "startTime": write_clock(timeline.start),
        "endTime": write_clock(timeline.end),
        "startSeconds": _number(timeline.start),
        "endSeconds": _number(timeline.end),
        "durationSeconds": _number(timeline.duration),
        "width": settings.width,
        "height": settings.height,
        "format": settings.format,
        "project": project_summary(export.project),
    }


def project_summary(project: Project) -> dict[str, Any]:
    """The project as the page lists it; seconds come from the tempo map (every change counts)."""
    tempo = project.tempo_map
    return {
        "name": project.name,
        "bpm": project.bpm,
        "tempos": [
            {"beat": _number(s.beat), "bpm": _number(s.bpm), "seconds": _number(s.time)}
            for s in tempo.segments
        ],
        "timeSignature": list(project.time_signature),
        "beatsPerBar": _number(notation_to_beats("1m", project.time_signature)),
        "durationBeats": project.duration_beats,
        "seconds": _number(tempo.beat_to_time(project.duration_beats)),
        "notes": sum(len(track.notes) for track in project.tracks),
        "tracks": [_track_summary(project, track) for track in project.tracks],
    }


def _track_summary(project: Project, track: Track) -> dict[str, Any]:
    """A track's facts and its piano roll: ``[beat, beats, pitch, velocity]`` per note, with
    note lengths in beats (Tone.js notation read by the server, in the project's meter)."""
    instrument = track.instrument
    return {
        "id": track.id,
        "name": track.name,
        "instrument": instrument.type,
        "voice": instrument.params.voice if isinstance(instrument, PolySynthSpec) else None,
        "style": track.visual.style,
        "color": track.visual.color,
        "mute": track.mute,
        "notes": len(track.notes),
        "roll": [
            [note.beat, _number(project.note_beats(note)), note.pitch, note.velocity]
            for note in track.notes
        ],
    }


_LARGEST = Fraction(sys.float_info.max)


def _number(value: Fraction | float) -> float:
    """A song's exact quantity as a JSON number; one too large for a double (a project may say
    durationBeats 5.6e307 at 1e-5 bpm: only the exported range is limited) is the largest."""
    return float(max(-_LARGEST, min(_LARGEST, Fraction(value))))
