"""The one exception hierarchy of framefarm, each family with a message a user can act on."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class FramefarmError(Exception):
    """Base of every error framefarm raises on purpose."""


class NotRetryable(FramefarmError):  # noqa: N818 (a family, named for what it means to a worker)
    """Retrying cannot help: the input, a stored record or the frames themselves are wrong.

    An actor that meets one fails its job at once instead of retrying (``run_command``).
    """


class DecodeError(NotRetryable):
    """Bytes that are not a record or message this build understands (corrupt, another kind,
    another version); the one error of both codecs."""


class _NoValue:
    """Marks an issue that has no offending value to show (a missing field, say)."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Any = _NoValue()


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with an input: where (a JSON path), what was expected, and what came."""

    path: str
    message: str
    value: Any = NO_VALUE

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.value is not NO_VALUE:
            text += f" (got {json.dumps(_jsonable(self.value))})"
        return text

    def to_json(self) -> dict[str, Any]:
        out = {"path": self.path, "message": self.message}
        if self.value is not NO_VALUE:
            out["value"] = _jsonable(self.value)
        return out


class InvalidInput(NotRetryable):
    """An input (project, settings, request) failed validation; carries every issue found."""

    def __init__(self, issues: Sequence[Issue], what: str = "input") -> None:
        if not issues:
            raise ValueError("InvalidInput needs at least one issue")
        self.issues = tuple(issues)
        self.what = what
        super().__init__(self.summary())

    def summary(self) -> str:
        """All issues on one line each, the first line naming how many there are."""
        count = len(self.issues)
        head = f"invalid {self.what}: {count} error{'s' if count != 1 else ''}"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])


class LimitExceeded(InvalidInput):
    """A request is valid in shape but beyond a configured service limit."""


class RenderError(NotRetryable):
    """Frames could not be rendered (no GL context, a broken scene, a shader that fails)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")  # JSON has none
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


class PermanentFailure(FramefarmError):  # noqa: N818 (reads as what happened)
    """Raised by an actor for a failure retrying cannot fix; the job has been told it failed."""
