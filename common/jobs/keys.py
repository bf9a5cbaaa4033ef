"""The object-store key layout of a job: the one home that says where every artefact lives.

jobs/<job_id>/spec.json                     what to render (project, settings, chunk plan)
jobs/<job_id>/status.json                   the orchestrator's persisted job state
jobs/<job_id>/stopped                       marker of an ended job ("cancelled", "failed" or
                                            "complete"): workers skip its work, stop running work
                                            and take back what they stored after it
jobs/<job_id>/frames/frame_000042.png       rendered frames
jobs/<job_id>/chunks/chunk_0003.json        a chunk's manifest, written last (its commit)
jobs/<job_id>/segments/segment_0002.mp4     an encoded segment of the video (mp4, webm, mov)
jobs/<job_id>/segments/segment_0002.json    its manifest, written after it (its commit)
jobs/<job_id>/audio/soundtrack.m4a          the soundtrack, rendered and encoded once for the
                                            whole video (AAC in .m4a, Opus in .webm)
jobs/<job_id>/audio/soundtrack.json         its AudioReady record, written after it (its commit)
jobs/<job_id>/output/video.<format>         the video
jobs/<job_id>/output/video.json             its VideoReady record, written after it (its commit)
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from common.errors import InvalidInput, Issue

JOBS_PREFIX = "jobs/"
JOB_ID_PATTERN = "[a-z0-9][a-z0-9-]{7,63}"
_JOB_ID = re.compile(JOB_ID_PATTERN)


def new_job_id() -> str:
    """An unguessable id (128 random bits), safe in keys, URLs and file names."""
    return secrets.token_hex(16)


def check_job_id(job_id: str) -> str:
    """Refuse ids that could escape their prefix (``..``, ``/``) or are not ours."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise InvalidInput(
            [Issue("job_id", "expected 8-64 characters of a-z, 0-9 and '-'", job_id)], "job id"
        )
    return job_id


@dataclass(frozen=True, slots=True)
class JobKeys:
    job_id: str

    def __post_init__(self) -> None:
        check_job_id(self.job_id)

    @property
    def prefix(self) -> str:
        return f"{JOBS_PREFIX}{self.job_id}/"

    @property
    def spec(self) -> str:
        return f"{self.prefix}spec.json"

    @property
    def status(self) -> str:
        return f"{self.prefix}status.json"

    @property
    def stop_marker(self) -> str:
        """Present once the job ended (cancelled, failed, or complete without --keep); its
        content says which."""
        return f"{self.prefix}stopped"

    @property
    def frames_prefix(self) -> str:
        return f"{self.prefix}frames/"

    def frame(self, index: int) -> str:
        return f"{self.frames_prefix}frame_{index:06d}.png"

    @property
    def chunks_prefix(self) -> str:
        return f"{self.prefix}chunks/"

    def chunk_manifest(self, chunk_index: int) -> str:
        return f"{self.chunks_prefix}chunk_{chunk_index:04d}.json"

    @property
    def segments_prefix(self) -> str:
        return f"{self.prefix}segments/"

    def segment(self, segment_index: int, extension: str) -> str:
        return f"{self.segments_prefix}segment_{segment_index:04d}.{extension}"

    def segment_manifest(self, segment_index: int) -> str:
        return f"{self.segments_prefix}segment_{segment_index:04d}.json"

    def output(self, extension: str) -> str:
        return f"{self.prefix}output/video.{extension}"

    @property
    def output_prefix(self) -> str:
        return f"{self.prefix}output/"

    @property
    def output_metadata(self) -> str:
        """The VideoReady facts of a stored video, written after it (its commit)."""
        return f"{self.output_prefix}video.json"

    def audio(self, extension: str) -> str:
        """The encoded soundtrack (``m4a`` or ``webm``)."""
        return f"{self.prefix}audio/soundtrack.{extension}"

    @property
    def audio_metadata(self) -> str:
        """The AudioReady facts of a stored soundtrack, written after it (its commit)."""
        return f"{self.prefix}audio/soundtrack.json"

    @property
    def intermediate_prefixes(self) -> tuple[str, ...]:
        """What a finished or cancelled job no longer needs."""
        return (
            self.frames_prefix,
            self.chunks_prefix,
            self.segments_prefix,
            f"{self.prefix}audio/",
        )


def job_id_of(key: str) -> str | None:
    """The job id a key belongs to, or None for keys outside the jobs layout."""
    if not key.startswith(JOBS_PREFIX):
        return None
    job_id = key[len(JOBS_PREFIX) :].split("/", 1)[0]
    return job_id if _JOB_ID.fullmatch(job_id) else None
