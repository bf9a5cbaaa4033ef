"""Service configuration from FRAMEFARM_* environment variables; one home for every setting."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
