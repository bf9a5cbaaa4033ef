"""Service configuration from FRAMEFARM_* environment variables; one home for every setting.

A process reads its environment once, at its edge (``Config.from_environment()`` in the CLI), and
passes what it read down; nothing below reads the environment on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.errors import InvalidInput, Issue


class Limits(BaseSettings):
    """What one export may ask for. A request beyond any of these is refused, naming the limit."""

    model_config = SettingsConfigDict(env_prefix="FRAMEFARM_", frozen=True, extra="ignore")

    max_width: int = Field(3840, ge=16, description="largest frame width in pixels")
    max_height: int = Field(2160, ge=16, description="largest frame height in pixels")
    max_pixels: int = Field(3840 * 2160, ge=256, description="largest width x height")
    max_fps: int = Field(240, ge=1, description="highest frame rate")
    max_duration_seconds: float = Field(1200.0, gt=0, description="longest export")
    max_frames: int = Field(72_000, ge=1, description="most frames in one export")
    max_notes: int = Field(500_000, ge=1, description="most notes in one project")
    max_tracks: int = Field(256, ge=1, description="most tracks in one project")
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024, description="largest request body")


UNLIMITED = Limits.model_construct(
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
"""No limit at all: what a worker applies to a stored spec (limits are the submitter's business)."""


class ServiceSettings(BaseSettings):
    """Where the broker and the object store are. Without an S3 endpoint, a local directory."""

    model_config = SettingsConfigDict(env_prefix="FRAMEFARM_", frozen=True, extra="ignore")

    amqp_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=5",
        description="RabbitMQ URL (heartbeat lets a hung worker's chunk be redelivered)",
    )
    s3_endpoint: str | None = Field(None, description="host:port of the S3 server (MinIO, ...)")
    s3_access_key: str = Field("", description="S3 access key")
    s3_secret_key: str = Field("", description="S3 secret key")
    s3_bucket: str = Field("framefarm", description="bucket for jobs, frames and videos")
    s3_secure: bool = Field(False, description="use TLS to reach the S3 server")
    s3_region: str | None = Field(None, description="S3 region, if the server wants one")
    local_store: str = Field(".framefarm", description="directory of the local store")
    queue_prefix: str = Field("framefarm", description="prefix of every queue name")
    segment_seconds: float = Field(
        2.0,
        ge=0.25,
        le=20.0,
        description="seconds of video per encoded segment (each starts with a keyframe)",
    )


class CoordinatorSettings(BaseSettings):
    """The HTTP service: who may call it and how long download links live."""

    model_config = SettingsConfigDict(env_prefix="FRAMEFARM_", frozen=True, extra="ignore")

    api_token: str | None = Field(
        None, description="if set, required on every route but /healthz (Bearer or ?token=)"
    )
    download_expires_seconds: int = Field(3600, ge=60, description="lifetime of download links")
    recent_jobs: int = Field(50, ge=1, description="jobs listed by GET /api/exports")


@dataclass(frozen=True)
class Config:
    """Everything a process takes from its environment, read once at its start."""

    limits: Limits
    service: ServiceSettings
    coordinator: CoordinatorSettings

    @classmethod
    def from_environment(cls) -> Config:
        """Read FRAMEFARM_* once; InvalidInput names each variable that is set wrong."""
        try:
            return cls(Limits(), ServiceSettings(), CoordinatorSettings())
        except ValidationError as error:
            issues = [
                Issue(f"FRAMEFARM_{'_'.join(map(str, e['loc'])).upper()}", e["msg"], e["input"])
                for e in error.errors()
            ]
            raise InvalidInput(issues, "environment") from None
