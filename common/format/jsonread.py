"""JSON text to Python values within the limits on nesting and integer size, checked before and
while parsing, so that hostile input is refused by name instead of raising RecursionError or
ValueError deep inside the parser.

A number with a zero fraction (``4.0``) is read as the integer it is, as JSON Schema counts it
(``"type": "integer"`` accepts ``4.0``); every other number stays a float.
"""

from __future__ import annotations

import json
import re
from typing import Any

from common.config import Limits
from common.errors import InvalidInput, Issue, LimitExceeded

_KEEP = b'"[]{}'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_SQUARE = bytes.maketrans(b"{}", b"[]")
_STRING = re.compile(rb'"[^"]*"')
_DIGITS = bytes(ord("0") if chr(b).isdigit() else ord(" ") for b in range(256))
_EXACT_INTEGER = 2**53  # every integral float below this is exactly an int


class NotJson(InvalidInput):
    """Text that is not JSON at all (as opposed to JSON beyond a limit)."""


class _TooLargeError(Exception):
    """An integer literal with more digits than the limit (raised from inside the parser)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def too_deep(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects in ``raw`` nest deeper than ``limit`` (brackets inside strings
    not counted), found without parsing (a parser recurses once per level), at C speed: escapes
    are dropped, then everything but quotes and brackets, then the strings (a bracket is in one
    when an odd number of quotes comes before it, which dropping ``""`` keeps); each round of
    removing ``[]`` pairs peels one level, so what is left after ``limit`` rounds is too deep.
    """
    plain = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _DROP)
    # dropping adjacent quotes (mostly empty strings: the keys) keeps each bracket's side
    brackets = _STRING.sub(b"", plain.replace(b'""', b"")).translate(_SQUARE, b'"')
    if brackets.count(b"[") <= limit:
        return False  # the depth never passes the number of openings
    for _ in range(limit):
        brackets = brackets.replace(b"[]", b"")
    # still a pair: a deeper level; else only unmatched ]...][...[ remain (not JSON), too deep
    # for a parser when more than ``limit`` are open at the end
    return b"[]" in brackets or brackets.count(b"[") > limit


def loads(raw: str | bytes, limits: Limits, what: str) -> Any:
    """Parse JSON text; InvalidInput (naming the limit) for nesting deeper than
    ``max_json_depth``, an integer longer than ``max_int_digits``, or text that is not JSON."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if too_deep(data, limits.max_json_depth):
        message = (
            f"arrays and objects nested deeper than {limits.max_json_depth} levels "
            "(limit max_json_depth)"
        )
        raise LimitExceeded([Issue("", message)], what)

    def integer(text: str) -> int:
        digits = len(text) - text.startswith("-")
        if digits > limits.max_int_digits:
            raise _TooLargeError(digits)
        return int(text)

    # a Python call per integer only when some run of digits is long enough to matter
    long_run = b"0" * (limits.max_int_digits + 1) in data.translate(_DIGITS)
    try:
        if not long_run:
            return json.loads(data, parse_float=_number)
        return json.loads(data, parse_int=integer, parse_float=_number)
    except _TooLargeError as error:
        message = (
            f"an integer of {error.digits} digits, over {limits.max_int_digits} "
            "(limit max_int_digits)"
        )
        raise LimitExceeded([Issue("", message)], what) from None
    except json.JSONDecodeError as error:
        message = f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise NotJson([Issue("", message)], what) from None
    except UnicodeDecodeError as error:
        message = f"not JSON: not UTF-8 at byte {error.start}"
        raise NotJson([Issue("", message)], what) from None
    except RecursionError:  # belt and braces: the pre-scan stops what would recurse this deep
        message = f"nested deeper than {limits.max_json_depth} levels (limit max_json_depth)"
        raise LimitExceeded([Issue("", message)], what) from None


def _number(text: str) -> int | float:
    value = float(text)
    if value.is_integer() and abs(value) < _EXACT_INTEGER:
        return int(value)
    return value
