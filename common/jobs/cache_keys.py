"""Cache keys: a digest of everything that decides an artefact's bytes, and where each lives.

A frame's key covers its scene (every number the renderer draws), the look (size, MSAA, the
visualizer block, the compat releases) and the renderer (its code and the GL driver); a segment's
covers its frames' keys and the encoder; the soundtrack's covers everything the synthesis and the
audio encoder read, and nothing visual. Equal keys mean equal bytes; anything left out of a key
would make a stale artefact look current, so when in doubt a field is in.

cache/frames/<look>/<microseconds>-<frame key>-<png sha256>.png
                                    a rendered frame: <look> groups one size and look, the time
                                    orders a chunk's frames into one key range (one listing per
                                    chunk), the PNG's digest is what its manifest record needs
cache/segments/<segment key>.<ext>                   an encoded segment
cache/segments/<segment key>.json                    its CachedObject record, written after it
cache/audio/<audio key>.<ext>                        an encoded soundtrack
cache/audio/<audio key>.json                         its CachedObject record, written after it
cache/scenes/<scenes key>.json     the scene digests of a span of frames (SceneDigests), keyed
                                    by what decides those scenes: a re-export of an unchanged
                                    project skips computing them
cache/uses/<job id>/<what>.json                      a job's use of cached objects (CacheUse)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from common.format.project import Project

CACHE_PREFIX = "cache/"
FRAMES_PREFIX = f"{CACHE_PREFIX}frames/"
SEGMENTS_PREFIX = f"{CACHE_PREFIX}segments/"
AUDIO_PREFIX = f"{CACHE_PREFIX}audio/"
USES_PREFIX = f"{CACHE_PREFIX}uses/"
SCENES_PREFIX = f"{CACHE_PREFIX}scenes/"
KEY_VERSION = "framefarm-cache/1"
"""Changed whenever what goes into a key changes: old entries then simply stop matching."""
LOOK_CHARS = 16


def digest(*parts: object) -> str:
    """SHA-256 over canonical JSON of ``parts`` (sorted keys): equal values, equal digests."""
    text = json.dumps([KEY_VERSION, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def look_key(project: Project, width: int, height: int, renderer: str) -> str:
    """Everything but the scene that decides a frame's pixels: the size, the visualizer block
    (background, camera, tone mapping, exposure, bloom, seed), the compat releases, and
    ``renderer`` (the renderer's code, MSAA samples and the GL driver, from the worker)."""
    visual = project.visualizer.model_dump(mode="json")
    compat = project.compat.model_dump(mode="json")
    return digest("look", width, height, visual, compat, renderer)


def frame_key(look: str, scene_digest: str) -> str:
    """The frame whose scene has ``scene_digest`` (``Scene.digest()``) drawn with ``look``."""
    return digest("frame", look, scene_digest)


def frame_object(look: str, seconds: float, key: str, png_sha256: str) -> str:
    """Where the frame lives: under its look, ordered by its time, named with its PNG's digest."""
    return f"{FRAMES_PREFIX}{look[:LOOK_CHARS]}/{time_label(seconds)}-{key}-{png_sha256}.png"


def frame_range(look: str, first_seconds: float, last_seconds: float) -> tuple[str, str, str]:
    """(prefix, first, last): the keys of every cached frame of ``look`` between two times lie
    in [first, last] under prefix, so one listing finds a chunk's cached frames."""
    prefix = f"{FRAMES_PREFIX}{look[:LOOK_CHARS]}/"
    return prefix, f"{prefix}{time_label(first_seconds)}-", f"{prefix}{time_label(last_seconds)}-~"


def time_label(seconds: float) -> str:
    """Microseconds, zero-padded (keys sort by time)."""
    return f"{max(0, round(seconds * 1_000_000)):013d}"


def scenes_key(project: Project, times: Sequence[str], scene_code: str) -> str:
    """The scenes of a span of frames at ``times`` (exact rationals as text): the whole project
    but its name, and the scene model's code. Any change to the project makes another key (the
    scenes are then computed and compared one by one)."""
    data = project.model_dump(mode="json")
    data.pop("name", None)
    return digest("scenes", data, list(times), scene_code)


def scenes_record(key: str) -> str:
    return f"{SCENES_PREFIX}{key}.json"


def segment_key(frame_keys: Sequence[str], encoder: Sequence[str], tool: str) -> str:
    """A segment of these frames through this encoder (its arguments, output path constant, and
    ``tool``: the ffmpeg build, whose bytes are what they are)."""
    return digest("segment", list(frame_keys), list(encoder), tool)


def segment_object(key: str, extension: str) -> str:
    return f"{SEGMENTS_PREFIX}{key}.{extension}"


def segment_record(key: str) -> str:
    return f"{SEGMENTS_PREFIX}{key}.json"


def audio_project(project: Project) -> dict[str, Any]:
    """The project as the synthesis reads it: without the names and the visual blocks, except
    the visualizer's seed (random choices of the synths are keyed by it)."""
    data = project.model_dump(mode="json")
    data.pop("name", None)
    data["visualizer"] = {"seed": project.visualizer.seed}
    for track in data.get("tracks", []):
        track.pop("visual", None)
        track.pop("name", None)
    return data


def audio_key(
    project: Project,
    start: Fraction,
    duration: Fraction,
    sample_rate: int,
    encoder: Iterable[str],
    synthesis: str,
) -> str:
    """The soundtrack of ``project`` from ``start`` for ``duration`` seconds, synthesised by
    code ``synthesis`` and encoded with ``encoder`` (arguments with constant paths, ffmpeg)."""
    return digest(
        "audio",
        audio_project(project),
        str(start),
        str(duration),
        sample_rate,
        list(encoder),
        synthesis,
    )


def audio_object(key: str, extension: str) -> str:
    return f"{AUDIO_PREFIX}{key}.{extension}"


def audio_record(key: str) -> str:
    return f"{AUDIO_PREFIX}{key}.json"


def use_record(job_id: str, what: str) -> str:
    """A job's record of the cached objects it uses (``what``: chunk_0003, segment_0002...)."""
    return f"{USES_PREFIX}{job_id}/{what}.json"


def job_of_use(key: str) -> str | None:
    """The job id of a use record's key."""
    if not key.startswith(USES_PREFIX):
        return None
    parts = key[len(USES_PREFIX) :].split("/")
    return parts[0] if len(parts) == 2 else None
