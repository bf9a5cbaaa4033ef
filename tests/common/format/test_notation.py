"""Tone.js notation in beats (quarter notes), following Tone/core/type/TimeBase.ts."""

from __future__ import annotations

from fractions import Fraction

import pytest

from common.format.notation import notation_to_beats


@pytest.mark.parametrize(
    ("text", "signature", "beats"),
    [
        ("4n", (4, 4), Fraction(1)),
        ("8n", (4, 4), Fraction(1, 2)),
        ("8n.", (4, 4), Fraction(3, 4)),
        ("16t", (4, 4), Fraction(1, 6)),
        ("2n", (4, 4), Fraction(2)),
        ("1n", (4, 4), Fraction(4)),
        ("1m", (4, 4), Fraction(4)),
        ("2m", (3, 4), Fraction(6)),
        ("1m", (6, 8), Fraction(3)),
        ("192i", (4, 4), Fraction(1)),
        ("4N", (4, 4), Fraction(1)),
    ],
)
def test_notation_to_beats(text: str, signature: tuple[int, int], beats: Fraction) -> None:
    assert notation_to_beats(text, signature) == beats


@pytest.mark.parametrize("text", ["4", "4x", "n", "0n", "4n..", "1.5n", ""])
def test_unknown_notation_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"Tone\.js notation like '4n'|count must be > 0"):
        notation_to_beats(text)
