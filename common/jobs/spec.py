"""What a job renders, as stored at ``spec.json``: the project and settings JSON as submitted,
the frame count and the chunk plan. Workers rebuild the validated Export from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from common.config import Limits
from common.errors import FramefarmError, InvalidInput
from common.format.validation import Export, build_export, parse_project, parse_settings
from common.jobs.chunks import ChunkPlan

SPEC_VERSION = 1


class SpecError(FramefarmError):
    """A stored spec this build cannot use (corrupt, or from another version): not retryable."""


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    project: dict[str, Any]  # the app's JSON, exactly as validated at submission
    settings: dict[str, Any]
    frame_count: int
    chunks: tuple[ChunkPlan, ...]
    created_at: float
    name: str = "video"  # file name stem for downloads

    def to_bytes(self) -> bytes:
        data = {
            "version": SPEC_VERSION,
            "job_id": self.job_id,
            "name": self.name,
            "project": self.project,
            "settings": self.settings,
            "frame_count": self.frame_count,
            "chunks": [[c.first_frame, c.frame_count] for c in self.chunks],
            "created_at": self.created_at,
        }
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> JobSpec:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise SpecError("job spec is corrupt: not a JSON object")
            if data.get("version") != SPEC_VERSION:
                raise SpecError(f"job spec version {data.get('version')!r} is not {SPEC_VERSION}")
            chunks = tuple(
                ChunkPlan(index, int(first), int(count))
                for index, (first, count) in enumerate(data["chunks"])
            )
            return cls(
                job_id=str(data["job_id"]),
                project=dict(data["project"]),
                settings=dict(data["settings"]),
                frame_count=int(data["frame_count"]),
                chunks=chunks,
                created_at=float(data["created_at"]),
                name=str(data.get("name", "video")),
            )
        except SpecError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise SpecError(f"job spec is corrupt: {error}") from error

    def export(self, limits: Limits | None = None) -> Export:
        """Validate again (deterministically) into the Export the renderer and stitcher use.

        Limits are the submitter's business; a worker only refuses what it cannot render, so the
        default here is effectively unlimited.
        """
        try:
            project = parse_project(self.project)
            settings = parse_settings(self.settings)
            export = build_export(project, settings, limits or UNLIMITED)
        except InvalidInput as error:
            raise SpecError(f"job spec does not validate: {error.summary()}") from error
        if export.frame_count != self.frame_count:
            raise SpecError(
                f"job spec says {self.frame_count} frames, its settings give {export.frame_count}"
            )
        return export


UNLIMITED = Limits(
    max_width=1 << 20,
    max_height=1 << 20,
    max_pixels=1 << 40,
    max_fps=1 << 20,
    max_duration_seconds=1e12,
    max_frames=1 << 40,
    max_notes=1 << 40,
    max_tracks=1 << 20,
    max_body_bytes=1 << 40,
)
