"""Exact rational numbers from JSON values, so beat/time arithmetic never drifts."""

from __future__ import annotations

import math
from fractions import Fraction

Rational = int | float | str | Fraction


def to_fraction(value: Rational) -> Fraction:
    """Convert an int, a float (read as the decimal it prints as), "a/b" or a Fraction exactly.

    A float goes through ``repr`` so that ``0.1`` means one tenth, as the JSON that carried it
    says, not the binary approximation.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return Fraction(repr(value))
    if isinstance(value, str):
        return Fraction(value.strip())
    raise TypeError(f"not a number: {value!r}")
