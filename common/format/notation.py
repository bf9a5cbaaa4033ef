"""Tone.js musical time notation ("4n", "8n.", "16t", "1m", "192i") converted to beats.

A beat is a quarter note, as in Tone.js: "4n" is one beat whatever the time signature, and a
measure ("1m") is ``numerator * 4 / denominator`` beats.
"""

from __future__ import annotations

import re
from fractions import Fraction

PPQ = 192  # Tone.js Transport's default pulses per quarter note, used by the "i" (ticks) unit.

NOTATION_PATTERN = r"^0*[1-9]\d*[ntmiNTMI]\.?$"
_NOTATION = re.compile(r"^(?P<count>\d+)(?P<unit>n|t|m|i)(?P<dot>\.)?$", re.IGNORECASE)
NOTATION_HELP = "a number, or Tone.js notation like '4n', '8n.', '16t', '1m' or '96i'"


def notation_to_beats(text: str, time_signature: tuple[int, int] = (4, 4)) -> Fraction:
    """Beats (quarter notes) in a notation string; raises ValueError naming the accepted forms."""
    match = _NOTATION.match(text.strip())
    if not match:
        raise ValueError(f"expected {NOTATION_HELP}, got {text!r}")
    count, unit, dotted = int(match["count"]), match["unit"].lower(), bool(match["dot"])
    if count == 0:
        raise ValueError(f"notation count must be > 0, got {text!r}")
    if unit == "n":
        beats = Fraction(4, count)
    elif unit == "t":
        beats = Fraction(4, count) * Fraction(2, 3)
    elif unit == "m":
        numerator, denominator = time_signature
        beats = count * Fraction(numerator * 4, denominator)
    else:
        beats = Fraction(count, PPQ)
    return beats * Fraction(3, 2) if dotted else beats


def is_notation(text: str) -> bool:
    """True for well-formed notation with a count > 0 (what notation_to_beats accepts)."""
    match = _NOTATION.match(text.strip())
    return match is not None and int(match["count"]) > 0
