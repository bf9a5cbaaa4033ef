"""Helpers for the integration tests: farm processes, RabbitMQ queue counts, ffprobe, frame hashes.

Everything here talks to the real services (``framefarm worker``/``stitcher`` subprocesses,
RabbitMQ through ``rabbitmqctl``, ffprobe, the object store); nothing is mocked.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from common.adapters.storage import ObjectStore
from common.jobs import records
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest, FrameRecord, ordered_frames
from common.jobs.messages import Event
from common.jobs.state import JobState
from coordinator.orchestrator import Orchestrator

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@dataclass
class EventLog:
    """Every event the orchestrator handles, with when it arrived: wraps ``orchestrator.handle``
    for an EventPump."""

    orchestrator: Orchestrator
    events: list[tuple[float, Event]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Event) -> JobState | None:
        with self._lock:
            self.events.append((time.monotonic(), event))
        return self.orchestrator.handle(event)

    def since(self, moment: float, kind: type[Event] | None = None) -> list[Event]:
        with self._lock:
            return [e for t, e in self.events if t >= moment and (kind is None or type(e) is kind)]


@dataclass(frozen=True)
class VideoProbe:
    frame_count: int
    width: int
    height: int
    fps: Fraction
    duration: float
    codec: str


def ffprobe(path: Path) -> VideoProbe:
    """What ffprobe says of the first video stream, counting the frames by decoding them."""
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_read_frames,duration",
            "-show_entries",
            "format=duration",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    data = json.loads(result.stdout)
    [stream] = data["streams"]
    assert stream["r_frame_rate"] == stream["avg_frame_rate"], stream
    return VideoProbe(
        frame_count=int(stream["nb_read_frames"]),
        width=int(stream["width"]),
        height=int(stream["height"]),
        fps=Fraction(stream["r_frame_rate"]),
        duration=float(data["format"]["duration"]),
        codec=str(stream["codec_name"]),
    )


def manifests(store: ObjectStore, job_id: str) -> list[ChunkManifest]:
    keys = JobKeys(job_id)
    return [records.load(ChunkManifest, store.get(k)) for k in store.list(keys.chunks_prefix)]


def frame_records(store: ObjectStore, job_id: str, frame_count: int) -> list[FrameRecord]:
    """Every frame of a job in order, from its chunk manifests (each frame exactly once)."""
    return ordered_frames(manifests(store, job_id), frame_count)


def frame_hashes(store: ObjectStore, job_id: str, frame_count: int) -> list[str]:
    return [r.sha256 for r in frame_records(store, job_id, frame_count)]


def stored_frame_hashes(store: ObjectStore, job_id: str, frame_count: int) -> list[str]:
    """The SHA-256 of each frame as downloaded (not as its manifest says)."""
    return [
        hashlib.sha256(store.get(r.key)).hexdigest()
        for r in frame_records(store, job_id, frame_count)
    ]


def job_objects(store: ObjectStore, job_id: str, part: str) -> list[str]:
    """The job's objects under ``frames/``, ``chunks/`` or ``output/``."""
    return store.list(f"{JobKeys(job_id).prefix}{part}/")
