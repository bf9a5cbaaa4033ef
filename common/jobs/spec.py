"""What a job renders, as stored at ``spec.json``: the project and settings JSON as submitted,
the frame count and the chunk plan. Workers rebuild the validated Export from it."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from common.config import UNLIMITED, Limits
from common.errors import InvalidInput, NotRetryable
from common.format.validation import Export, validate_export
from common.jobs import records
from common.jobs.chunks import ChunkPlan, SegmentPlan
from common.jobs.keys import JobKeys
from common.jobs.records import STRICT_FIELDS

if TYPE_CHECKING:
    from common.adapters.storage import ObjectStore


class SpecError(NotRetryable):
    """A stored spec that does not validate (any more): not retryable."""


@dataclass(frozen=True)
class JobSpec:
    TYPE: ClassVar[str] = "job_spec"
    VERSION: ClassVar[int] = 3
    READS: ClassVar[frozenset[int]] = frozenset({2})  # only fields added since
    __pydantic_config__ = STRICT_FIELDS

    job_id: str
    project: dict[str, Any]  # the app's JSON, exactly as validated at submission
    settings: dict[str, Any]
    frame_count: int
    chunks: tuple[ChunkPlan, ...]
    created_at: float
    name: str = "video"  # file name stem for downloads
    segments: tuple[SegmentPlan, ...] = ()
    """The encode grid (empty: the format is encoded in one pass over the frames, as GIF is)."""
    owner: str | None = None
    """The principal that submitted the job (None: the open API's single user, or the CLI);
    only it and admins see, download and cancel the job."""

    def export(self, limits: Limits = UNLIMITED) -> Export:
        """Validate again (deterministically) into the Export the renderer and stitcher use.

        Limits are the submitter's business; a worker only refuses what it cannot render, so the
        default here is unlimited.
        """
        try:
            export = validate_export(self.project, self.settings, limits)
        except InvalidInput as error:
            raise SpecError(f"job spec does not validate: {error.summary()}") from error
        if export.frame_count != self.frame_count:
            raise SpecError(
                f"job spec says {self.frame_count} frames, its settings give {export.frame_count}"
            )
        return export


def file_stem(name: str) -> str:
    """A safe download name from the project's name: letters, digits, '-', '_'."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
    return stem[:80] or "video"


class SpecCache:
    """The last few jobs' specs and validated exports, shared by every actor of a process: a
    stored spec is read and validated once per process, not once per chunk or per actor."""

    def __init__(self, store: ObjectStore, size: int = 8) -> None:
        self.store = store
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[JobSpec, Export]] = OrderedDict()

    def get(self, job_id: str) -> tuple[JobSpec, Export]:
        """The job's spec and its Export; DecodeError, SpecError or ObjectNotFound if unusable."""
        with self._lock:
            if job_id in self._items:
                self._items.move_to_end(job_id)
                return self._items[job_id]
        spec = records.load(JobSpec, self.store.get(JobKeys(job_id).spec))
        item = (spec, spec.export())
        with self._lock:
            self._items[job_id] = item
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return item
