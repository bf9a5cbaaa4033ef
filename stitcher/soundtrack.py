"""Render a job's soundtrack once, encode it for the video's format (AAC or Opus), store it
beside the frames, and announce it.

The audio spans exactly the video: from the export's first frame for frame_count / fps seconds,
so audio and video lengths agree. Idempotent: a stored soundtrack is announced again.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import signal
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common.adapters.ffmpeg import AUDIO_CONTAINERS, audio_args, run
from common.adapters.storage import ObjectNotFound, ObjectStore
from common.audio.render import soundtrack_blocks
from common.audio.wav import write_wav_blocks
from common.cache.entries import export_audio_key
from common.cache.store import load_cached, record_use
from common.errors import DecodeError
from common.format.validation import Export
from common.jobs import records
from common.jobs.cache_keys import audio_object, audio_record
from common.jobs.cache_records import CachedObject
from common.jobs.keys import JobKeys
from common.jobs.messages import AudioReady, Event
from common.jobs.spec import SpecCache

SAMPLE_RATE = 48_000
AUDIO_TIMEOUT = 600.0
"""Seconds to encode a soundtrack (up to the longest export: AAC runs at 100x real time here)."""
AUDIO_MIME_TYPES = {"m4a": "audio/mp4", "webm": "audio/webm"}


def render_job_audio(
    store: ObjectStore,
    job_id: str,
    publish: Callable[[Event], None],
    *,
    workdir: Path | None = None,
    specs: SpecCache | None = None,
) -> AudioReady | None:
    """Store the encoded soundtrack and its record; None (and nothing left stored) when the
    job was stopped, before or while it was made."""
    keys = JobKeys(job_id)
    if store.exists(keys.stop_marker):
        return None
    ready = stored_audio(store, keys)
    if ready is None:
        _, export = (specs or SpecCache(store)).get(job_id)
        cache_key = export_audio_key(export, SAMPLE_RATE) if export.settings.cache else ""
        ready = _cached_audio(store, keys, cache_key) if cache_key else None
        if ready is None:
            ready = _render_audio(store, keys, export, cache_key, workdir)
        store.put(keys.audio_metadata, records.dump(ready), "application/json")
        if store.exists(keys.stop_marker):
            # Ended (cancelled, failed) while the soundtrack was made: the job's clean-up may
            # have run before these objects existed. A marker written after this check is
            # followed by a clean-up that sees them.
            store.delete(keys.audio_metadata)
            if ready.audio_key.startswith(keys.prefix):  # the job's own, not a shared cache entry
                store.delete(ready.audio_key)
            return None
    publish(ready)
    return ready


def _cached_audio(store: ObjectStore, keys: JobKeys, cache_key: str) -> AudioReady | None:
    """An equal soundtrack an earlier export stored in the cache, recorded as in use."""
    cached = load_cached(store, audio_record(cache_key))
    if cached is None:
        return None
    used = [cached.object_key, audio_record(cache_key)]
    record_use(store, keys.job_id, "audio", used, time.time())
    if not store.exists(cached.object_key):
        return None  # evicted between the record and the use: render it
    return AudioReady(
        keys.job_id, cached.object_key, cached.sample_count, cached.sample_rate, 0.0, reused=True
    )


def _render_audio(
    store: ObjectStore, keys: JobKeys, export: Export, cache_key: str, workdir: Path | None
) -> AudioReady:
    """Render and encode the soundtrack; store it in the cache when the job uses it."""
    started = time.perf_counter()
    extension, _ = AUDIO_CONTAINERS[export.settings.format]
    key = audio_object(cache_key, extension) if cache_key else keys.audio(extension)
    with tempfile.TemporaryDirectory(prefix=f"audio-{keys.job_id}-", dir=workdir) as temporary:
        wav, encoded = Path(temporary) / "soundtrack.wav", Path(temporary) / f"a.{extension}"
        sample_count = write_soundtrack_apart(export, wav)
        # Encoded here, beside the frames, so that the join after the last frame only
        # copies it: the tail of an export does not grow with the song's length.
        run(audio_args(export.settings, wav, encoded), AUDIO_TIMEOUT)
        store.put_file(key, encoded, AUDIO_MIME_TYPES[extension])
        if cache_key:
            data = encoded.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            entry = CachedObject(key, digest, len(data), sample_count, SAMPLE_RATE)
            store.put(audio_record(cache_key), records.dump(entry), "application/json")
            record_use(store, keys.job_id, "audio", [key, audio_record(cache_key)], time.time())
    seconds = round(time.perf_counter() - started, 4)
    return AudioReady(keys.job_id, key, sample_count, SAMPLE_RATE, seconds)


def write_soundtrack(export: Export, path: Path) -> int:
    """The export's soundtrack as a WAV file spanning exactly its frames; returns the samples.

    Written block by block as it is rendered: memory does not grow with the song's length.
    """
    start = export.timeline.start
    end = start + export.timeline.duration
    blocks = soundtrack_blocks(export.project, float(start), float(end), SAMPLE_RATE)
    return write_wav_blocks(path, blocks, SAMPLE_RATE)


def write_soundtrack_apart(export: Export, path: Path) -> int:
    """``write_soundtrack`` in a process of its own: the synthesis is numpy driven from Python,
    and sharing the interpreter's lock with the renderer's threads (embedded) or the stitcher's
    other actors slowed both; a child process costs one start, once per process."""
    return _audio_process().submit(write_soundtrack, export, path).result(AUDIO_TIMEOUT)


def stop_audio_process() -> None:
    """End the soundtrack's process now, work in hand or not (the pool's own exit would wait for
    the work): what a test session does before it ends. A stopped command needs no call here:
    ``framefarm.interrupt.exit_interrupted`` kills every child process itself."""
    if _audio_process.cache_info().currsize == 0:
        return
    pool = _audio_process()
    for child in multiprocessing.active_children():
        child.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
    _audio_process.cache_clear()


def start_audio_process_deaf_to_ctrl_c() -> None:
    """Start the soundtrack's process now (from the main thread) with Ctrl-C ignored in it. In a
    terminal a Ctrl-C reaches the whole process group: the command decides how to stop, and
    the child must not print a KeyboardInterrupt traceback of its own. A child started with
    SIGINT ignored keeps it ignored (Python installs its handler only over the default)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _audio_process().submit(int)  # the process is started by this submit
    finally:
        signal.signal(signal.SIGINT, previous)


@functools.cache
def _audio_process() -> ProcessPoolExecutor:
    # spawn, not fork: this process may hold GL contexts and broker connections in threads
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def stored_audio(store: ObjectStore, keys: JobKeys) -> AudioReady | None:
    """The AudioReady of a soundtrack an earlier run stored completely, else None."""
    try:
        event = records.load(AudioReady, store.get(keys.audio_metadata))
    except (ObjectNotFound, DecodeError):
        return None
    if not store.exists(event.audio_key):
        return None
    return event
