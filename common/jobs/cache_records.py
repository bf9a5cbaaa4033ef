"""The cache's stored records: a cached segment's or soundtrack's facts, and a job's use of
cached objects (what eviction must leave alone while the job runs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from common.jobs.records import STRICT_FIELDS


@dataclass(frozen=True)
class CachedObject:
    """A cached segment or soundtrack, written after its bytes (the entry's commit)."""

    TYPE: ClassVar[str] = "cached_object"
    VERSION: ClassVar[int] = 1
    __pydantic_config__ = STRICT_FIELDS

    object_key: str
    sha256: str
    size: int
    sample_count: int = 0  # a soundtrack's samples (0 for a segment)
    sample_rate: int = 0


@dataclass(frozen=True)
class CacheUse:
    """The cached objects a job uses (frames, segments, a soundtrack): while the job runs,
    eviction leaves them alone; afterwards ``at`` is their last use, for least-recently-used."""

    TYPE: ClassVar[str] = "cache_use"
    VERSION: ClassVar[int] = 1
    __pydantic_config__ = STRICT_FIELDS

    job_id: str
    keys: tuple[str, ...]
    at: float


@dataclass(frozen=True)
class SceneDigests:
    """The scene digest of each frame of a span, in order (see ``scenes_key``)."""

    TYPE: ClassVar[str] = "scene_digests"
    VERSION: ClassVar[int] = 1
    __pydantic_config__ = STRICT_FIELDS

    digests: tuple[str, ...]
