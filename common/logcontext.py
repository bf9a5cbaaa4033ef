"""What a log line is about (job id, chunk or segment, stage), set by whoever handles a message
and read by the log formatter, so every line names its job without repeating it by hand."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LogContext:
    job_id: str | None = None
    chunk: int | None = None
    stage: str | None = None


NO_CONTEXT = LogContext()
_current: ContextVar[LogContext] = ContextVar("framefarm_log_context", default=NO_CONTEXT)


def current() -> LogContext:
    return _current.get()


def enter(context: LogContext) -> object:
    """Set the context of this thread; returns a token for ``leave``."""
    return _current.set(context)


def leave(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


@contextlib.contextmanager
def log_context(
    job_id: str | None, chunk: int | None = None, stage: str | None = None
) -> Iterator[None]:
    token = _current.set(LogContext(job_id, chunk, stage))
    try:
        yield
    finally:
        _current.reset(token)
