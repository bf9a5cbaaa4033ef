"""JSON read within the limits (common/format/jsonread.py): nesting depth and integer digits
refused by name, exactly at each limit accepted and one over refused, never a RecursionError or
Python's own integer-digit ValueError; integral floats read as integers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.config import Limits
from common.errors import InvalidInput, LimitExceeded
from common.format.jsonread import NotJson, loads, too_deep

LIMITS = Limits(max_json_depth=32, max_int_digits=20)


def nested(kind: str, depth: int) -> bytes:
    """``depth`` levels of arrays or objects around a 1."""
    if kind == "arrays":
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def refusal(raw: bytes | str, limits: Limits = LIMITS) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        loads(raw, limits, "request")
    return caught.value


@pytest.mark.parametrize("kind", ["arrays", "objects"])
def test_nesting_exactly_at_max_json_depth_is_read(kind: str) -> None:
    assert loads(nested(kind, 32), LIMITS, "request") == json.loads(nested(kind, 32))


@pytest.mark.parametrize("kind", ["arrays", "objects"])
@pytest.mark.parametrize("depth", [33, 100_000], ids=["one-over", "100k"])
def test_nesting_past_max_json_depth_is_refused_naming_the_limit(kind: str, depth: int) -> None:
    error = refusal(nested(kind, depth))
    assert isinstance(error, LimitExceeded)
    (issue,) = error.issues
    assert issue.message == (
        "arrays and objects nested deeper than 32 levels (limit max_json_depth)"
    )


def test_unclosed_nesting_is_refused_too() -> None:
    assert isinstance(refusal(b"[" * 100_000), LimitExceeded)
    assert isinstance(refusal(b"[" * 33), LimitExceeded)
    assert isinstance(refusal(b"[" * 32), NotJson)  # shallow enough to parse, and not JSON


@pytest.mark.parametrize(
    "text",
    [
        '["' + "[" * 100 + '"]',  # brackets in a string are text
        '{"' + "{" * 100 + '": "' + "]" * 100 + '"}',
        '["\\"' + "[" * 100 + '"]',  # after an escaped quote, still in the string
        '["\\\\", "' + "[" * 100 + '"]',  # an escaped backslash ends before the quote
    ],
    ids=["in-a-string", "in-a-key", "after-an-escaped-quote", "after-an-escaped-backslash"],
)
def test_brackets_inside_strings_do_not_count(text: str) -> None:
    assert not too_deep(text.encode(), 32)
    assert loads(text, LIMITS, "request") == json.loads(text)


def test_an_integer_of_exactly_max_int_digits_is_read() -> None:
    assert loads("[" + "9" * 20 + ", -" + "9" * 20 + "]", LIMITS, "request") == [
        10**20 - 1,
        -(10**20 - 1),
    ]


@pytest.mark.parametrize("digits", [21, 5000], ids=["one-over", "5000"])
def test_a_longer_integer_is_refused_naming_the_limit(digits: int) -> None:
    error = refusal('{"seed": ' + "7" * digits + "}")
    assert isinstance(error, LimitExceeded)
    assert error.issues[0].message == (
        f"an integer of {digits} digits, over 20 (limit max_int_digits)"
    )


def test_long_digit_runs_in_strings_and_floats_are_not_integers() -> None:
    text = '["' + "1" * 50 + '", 1.' + "5" * 50 + ", 1e-" + "0" * 30 + "5]"
    assert loads(text, LIMITS, "request") == json.loads(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("4.0", 4), ("37717506.0", 37717506), ("-0.0", 0), ("1e3", 1000), ("2.5", 2.5)],
)
def test_a_number_with_a_zero_fraction_is_an_integer(text: str, value: Any) -> None:
    """As JSON Schema counts it: ``"type": "integer"`` accepts 4.0."""
    read = loads(text, LIMITS, "request")
    assert read == value
    assert type(read) is type(value)


def test_floats_beyond_exact_integers_stay_floats() -> None:
    assert loads("1e300", LIMITS, "request") == 1e300
    assert isinstance(loads("1e300", LIMITS, "request"), float)


@pytest.mark.parametrize(
    ("raw", "words"),
    [(b'{"project": ', "not JSON: Expecting value"), (b'["\xff"]', "not JSON: not UTF-8")],
)
def test_text_that_is_not_json_is_refused_in_one_issue(raw: bytes, words: str) -> None:
    error = refusal(raw)
    assert isinstance(error, NotJson)
    assert words in error.issues[0].message
