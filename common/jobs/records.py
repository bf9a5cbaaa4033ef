"""The one codec of stored records (job state, spec, manifests, stored events): JSON that names
the record's type and version, written by ``dump`` and read back by ``load``.

A record is a dataclass with ``TYPE`` and ``VERSION`` class attributes; pydantic checks every
field's type on the way in, so whatever ``load`` returns is well-formed, and whatever it cannot
read is a DecodeError naming the record and the problem.

A record class may also name ``READS``: older versions whose stored fields are a subset of this
one's (the newer fields take their defaults), so that jobs in flight across an upgrade go on.
"""

from __future__ import annotations

import functools
import json
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

from common.errors import DecodeError


class Record(Protocol):
    TYPE: ClassVar[str]
    VERSION: ClassVar[int]


R = TypeVar("R", bound=Record)

STRICT_FIELDS = ConfigDict(extra="forbid")
"""Set as ``__pydantic_config__`` on a record class: unknown fields are an error, not ignored."""


@functools.cache
def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def dump(record: Record) -> bytes:
    """The record as compact JSON with its ``type`` and ``version`` (keys sorted: equal records
    give equal bytes)."""
    fields = _adapter(type(record)).dump_python(record, mode="json")
    data = {"type": record.TYPE, "version": record.VERSION, **fields}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def load(cls: type[R], raw: bytes) -> R:
    """The ``cls`` record in ``raw``; DecodeError if it is not one this build reads."""
    what = cls.TYPE.replace("_", " ")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError
        raise DecodeError(f"{what} is corrupt: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise DecodeError(f"{what} is corrupt: expected a JSON object")
    kind, version = data.pop("type", None), data.pop("version", None)
    if kind != cls.TYPE:
        raise DecodeError(f"{what} is corrupt: it says it is a {kind!r} record")
    if version != cls.VERSION and version not in getattr(cls, "READS", ()):
        raise DecodeError(f"{what} version {version!r} is not {cls.VERSION} (this build's)")
    try:
        return _adapter(cls).validate_python(data)  # type: ignore[no-any-return]
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(record)'}: {e['msg']}" for e in error.errors()
        )
        raise DecodeError(f"{what} is corrupt: {problems}") from None
