"""Service configuration from FRAMEFARM_* environment variables; one home for every setting.

A process reads its environment once, at its edge (``Config.from_environment()`` in the CLI), and
passes what it read down; nothing below reads the environment on its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.errors import InvalidInput, Issue


class Limits(BaseSettings):
    """What one export may ask for. A request beyond any of these is refused, naming the limit."""

    model_config = SettingsConfigDict(env_prefix="FRAMEFARM_", frozen=True, extra="ignore")

    max_width: int = Field(3840, ge=16, description="largest frame width in pixels")
    max_height: int = Field(2160, ge=16, description="largest frame height in pixels")
    max_pixels: int = Field(3840 * 2160, ge=256, description="largest width x height")
    min_fps: float = Field(1.0, gt=0, description="lowest frame rate")
    max_fps: int = Field(240, ge=1, description="highest frame rate")
    max_duration_seconds: float = Field(1200.0, gt=0, description="longest export")
    max_frames: int = Field(72_000, ge=1, description="most frames in one export")
    max_notes: int = Field(500_000, ge=1, description="most notes in one project")
    max_tracks: int = Field(256, ge=1, description="most tracks in one project")
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024, description="largest request body")
    max_json_depth: int = Field(
        32, ge=8, le=512, description="deepest nesting of arrays and objects in a JSON input"
    )
    max_int_digits: int = Field(
        20, ge=1, le=4000, description="most digits of an integer in a JSON input"
    )
    max_issues: int = Field(100, ge=1, description="most problems listed in one answer")


UNLIMITED = Limits.model_construct(
    max_width=1 << 20,
    max_height=1 << 20,
    max_pixels=1 << 40,
    min_fps=1e-9,
    max_fps=1 << 20,
    max_duration_seconds=1e12,
    max_frames=1 << 40,
    max_notes=1 << 40,
    max_tracks=1 << 20,
    max_body_bytes=1 << 40,
    max_json_depth=512,
    max_int_digits=4000,
    max_issues=1 << 20,
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
    s3_public_endpoint: str | None = Field(
        None,
        description="the S3 server as browsers reach it (host:port or http(s)://host:port): "
        "downloads redirect to links presigned for it; unset, the coordinator streams them",
    )
    local_store: str = Field(".framefarm", description="directory of the local store")
    queue_prefix: str = Field("framefarm", description="prefix of every queue name")
    segment_seconds: float = Field(
        2.0,
        ge=0.25,
        le=20.0,
        description="seconds of video per encoded segment (each starts with a keyframe)",
    )
    heartbeat_file: str | None = Field(
        None,
        description="file a worker, stitcher or encoder rewrites every few seconds while its "
        "threads are alive; `framefarm health` reads its age (container probes)",
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="port of a worker's Prometheus metrics (off if unset)"
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="log lines as text, or JSON with the job id, chunk and stage"
    )
    retries: int = Field(
        3, ge=0, le=20, description="retries of a message after a transient error (then failed)"
    )
    retry_min_backoff_ms: int = Field(
        1000, ge=1, description="first wait before a retry, doubling up to the maximum"
    )
    retry_max_backoff_ms: int = Field(15000, ge=1, description="longest wait before a retry")
    scratch_dir: str | None = Field(
        None,
        description="where a process keeps its scratch files (default: the system's temporary "
        "directory); stale scratch of dead processes there is removed at start",
    )
    cache_max_bytes: int = Field(
        20 * 1024**3,
        ge=0,
        description="size limit of the frame, segment and soundtrack cache (cache/ in the "
        "store); the least recently used entries beyond it are evicted",
    )
    cache_sweep_seconds: float = Field(
        300.0, gt=0, description="how often the coordinator evicts from the cache"
    )
    cache_grace_seconds: float = Field(
        900.0,
        ge=0,
        description="entries written or used this recently are never evicted (a job may have "
        "found them and not yet recorded its use)",
    )
    cache_dir: str | None = Field(
        None,
        description="where `framefarm render` (embedded) keeps its cache between runs "
        "(default: $XDG_CACHE_HOME/framefarm, ~/.cache/framefarm)",
    )

    @field_validator("s3_public_endpoint")
    @classmethod
    def _public_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        public_endpoint(value, secure=False)  # raises ValueError when it is not one
        return value


def public_endpoint(value: str, *, secure: bool) -> tuple[str, bool]:
    """``host:port`` and whether to use TLS, from ``host:port`` (TLS as ``secure``) or a URL
    ``http(s)://host:port`` with no path; ValueError naming what is wrong."""
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected http(s)://host[:port], got {value!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(f"expected no path, query or user in {value!r}")
        return parts.netloc, parts.scheme == "https"
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?", value):
        raise ValueError(f"expected host:port or http(s)://host:port, got {value!r}")
    return value, secure


S3_MAX_PRESIGN_SECONDS = 7 * 24 * 3600
"""S3 refuses presigned links that live longer than 7 days (SigV4's limit)."""

PRINCIPAL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


class ApiToken(NamedTuple):
    """One accepted API token and the principal (user) it stands for."""

    principal: str
    token: str


def parse_tokens(text: str, *, source: str) -> list[ApiToken]:
    """Tokens from ``principal:token`` entries (one a line or comma separated; ``#`` comments
    and blank lines skipped) or a JSON object ``{"principal": "token", ...}``."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError as error:
            raise ValueError(f"{source}: not valid JSON ({error.__class__.__name__})") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f'{source}: expected a JSON object {{"principal": "token"}}')
        pairs = list(data.items())
    else:
        pairs = []
        for number, raw in enumerate(re.split(r"[\n,]", text), start=1):
            entry = raw.strip()
            if not entry or entry.startswith("#"):
                continue
            principal, colon, token = entry.partition(":")
            if not colon:
                raise ValueError(f"{source}: entry {number} is not principal:token")
            pairs.append((principal.strip(), token.strip()))
    tokens = []
    for principal, token in pairs:
        if not PRINCIPAL_PATTERN.fullmatch(principal):
            raise ValueError(
                f"{source}: principal {principal!r} must be 1-64 letters, digits or _.@-"
            )
        tokens.append(ApiToken(principal, _check_token(token, f"{source}: {principal}'s token")))
    if not tokens:
        raise ValueError(f"{source}: no tokens (an empty list would leave the API open)")
    return tokens


def _check_token(token: str, what: str) -> str:
    if not token.strip():
        raise ValueError(f"{what} is empty (refusing to start with the API open)")
    if token != token.strip() or any(c.isspace() or not c.isprintable() for c in token):
        raise ValueError(f"{what} has spaces or control characters")
    return token


class CoordinatorSettings(BaseSettings):
    """The HTTP service: who may call it (tokens, each standing for a principal) and how long
    download links live. No token at all leaves the API open (one user); an empty one refuses."""

    model_config = SettingsConfigDict(env_prefix="FRAMEFARM_", frozen=True, extra="ignore")

    api_token: str | None = Field(
        None, description="one API token, for the principal 'admin' (Authorization: Bearer)"
    )
    api_tokens: str | None = Field(
        None, description="API tokens as principal:token entries, comma separated"
    )
    api_tokens_file: str | None = Field(
        None,
        description="file of API tokens: principal:token lines, or a JSON object "
        '{"principal": "token"}',
    )
    api_admins: str = Field(
        "admin", description="principals (comma separated) that see every principal's jobs"
    )
    link_secret: str | None = Field(
        None,
        description="key that signs download links (default: random per process, so links "
        "end with a restart)",
    )
    download_expires_seconds: int = Field(
        300,
        ge=10,
        le=S3_MAX_PRESIGN_SECONDS,
        description="lifetime of download links (signed and presigned), at most 7 days",
    )
    recent_jobs: int = Field(50, ge=1, description="jobs listed by GET /api/exports")
    stall_seconds: float = Field(
        600.0,
        gt=0,
        description="a job with no progress for this long that cannot be waiting in line (the "
        "whole farm made none, or no work waits in the queues) has its work sent again, and "
        "fails as long again later; longer than the quietest step (a soundtrack's encode)",
    )
    sweep_seconds: float = Field(
        600.0, gt=0, description="how often the coordinator sweeps the store for orphaned keys"
    )
    orphan_grace_seconds: float = Field(
        3600.0,
        ge=0,
        description="keys of a job with no status are removed once this old (a submit in "
        "progress writes its spec first)",
    )
    cached_jobs: int = Field(
        1000, ge=1, description="job states kept in memory (ended jobs are evicted first)"
    )

    _tokens: tuple[ApiToken, ...] = PrivateAttr(())

    @field_validator("api_token")
    @classmethod
    def _one_token(cls, value: str | None) -> str | None:
        return None if value is None else _check_token(value, "the token")

    @field_validator("api_tokens")
    @classmethod
    def _token_list(cls, value: str | None) -> str | None:
        if value is not None:
            parse_tokens(value, source="the list")
        return value

    @field_validator("api_tokens_file")
    @classmethod
    def _token_file(cls, value: str | None) -> str | None:
        if value is not None:
            _read_token_file(value)
        return value

    @model_validator(mode="after")
    def _collect_tokens(self) -> CoordinatorSettings:
        tokens = [ApiToken("admin", self.api_token)] if self.api_token is not None else []
        if self.api_tokens is not None:
            tokens += parse_tokens(self.api_tokens, source="the list")
        if self.api_tokens_file is not None:
            tokens += _read_token_file(self.api_tokens_file)
        owners: dict[str, str] = {}
        for principal, token in tokens:
            other = owners.setdefault(token, principal)
            if other != principal:
                raise ValueError(f"one token is given to both {other!r} and {principal!r}")
        self._tokens = tuple(tokens)
        return self

    @property
    def tokens(self) -> tuple[ApiToken, ...]:
        """Every accepted token; empty: the API is open."""
        return self._tokens

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.api_admins.split(",") if p.strip())


def _read_token_file(path: str) -> list[ApiToken]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the file: {error.__class__.__name__}") from None
    return parse_tokens(text, source="the file")


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
                Issue(_variable(e["loc"]), e["msg"], _shown(e["loc"], e["input"]))
                for e in error.errors()
            ]
            raise InvalidInput(issues, "environment") from None


SECRET_SETTINGS = frozenset({"api_token", "api_tokens", "link_secret", "s3_secret_key"})


def _variable(loc: tuple[int | str, ...]) -> str:
    if not loc:  # a check of several settings together: the tokens
        return "FRAMEFARM_API_TOKENS"
    return f"FRAMEFARM_{'_'.join(map(str, loc)).upper()}"


def _shown(loc: tuple[int | str, ...], value: object) -> object:
    """The offending value for the error line, except a secret's (or several settings')."""
    from common.errors import NO_VALUE

    if not loc or str(loc[0]) in SECRET_SETTINGS:
        return NO_VALUE
    return value
