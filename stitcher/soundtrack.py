"""Render a job's soundtrack once, store it beside the frames, and announce it.

The audio spans exactly the video: from the export's first frame for frame_count / fps seconds,
so audio and video lengths agree. Idempotent: a stored soundtrack is announced again.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common.adapters.storage import ObjectNotFound, ObjectStore
from common.audio.render import render_soundtrack
from common.audio.wav import write_wav
from common.jobs.keys import JobKeys
from common.jobs.messages import AudioReady, DecodeError, Event, from_wire
from common.jobs.spec import JobSpec

SAMPLE_RATE = 48_000


def render_job_audio(
    store: ObjectStore,
    job_id: str,
    publish: Callable[[Event], None],
    *,
    workdir: Path | None = None,
) -> AudioReady | None:
    """Store ``audio/soundtrack.wav`` and its metadata; None when the job was cancelled."""
    keys = JobKeys(job_id)
    if store.exists(keys.cancelled):
        return None
    ready = stored_audio(store, keys)
    if ready is None:
        spec = JobSpec.from_bytes(store.get(keys.spec))
        export = spec.export()
        start = export.timeline.start
        end = start + export.timeline.duration
        started = time.perf_counter()
        samples = render_soundtrack(export.project, float(start), float(end), SAMPLE_RATE)
        with tempfile.TemporaryDirectory(prefix=f"audio-{job_id}-", dir=workdir) as temporary:
            path = Path(temporary) / "soundtrack.wav"
            write_wav(path, samples, SAMPLE_RATE)
            store.put_file(keys.audio, path, "audio/wav")
        seconds = round(time.perf_counter() - started, 4)
        ready = AudioReady(job_id, keys.audio, int(samples.shape[0]), SAMPLE_RATE, seconds)
        store.put(keys.audio_metadata, json.dumps(ready.to_wire()).encode(), "application/json")
    publish(ready)
    return ready


def stored_audio(store: ObjectStore, keys: JobKeys) -> AudioReady | None:
    """The AudioReady of a soundtrack an earlier run stored completely, else None."""
    try:
        event = from_wire(json.loads(store.get(keys.audio_metadata)))
    except (ObjectNotFound, ValueError, DecodeError):
        return None
    if not isinstance(event, AudioReady) or not store.exists(event.audio_key):
        return None
    return event
