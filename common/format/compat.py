"""Which release of the app's libraries an export matches, where a formula changed between releases.

The default is the current release of each library (named in ``docs/rendering.md``). A project that
was made with an app still shipping an older release selects it here, e.g.
``"compat": {"postprocessing": "6.37.6", "tone": "15.2.7"}``. Only the release line matters where
behaviour differs (postprocessing before 6.37.7 used another luminance formula; tone before 15.3
swept MembraneSynth differently); any release in the supported range is accepted.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from common.format.strict import StrictModel

_RELEASE = re.compile(r"^(\d{1,4})\.(\d{1,4})\.(\d{1,4})$")

Release = tuple[int, int, int]

# The releases the reference tests run against (tests/fidelity/js/package.json).
CURRENT_POSTPROCESSING = "6.39.6"
CURRENT_TONE = "15.5.44"
# The oldest releases whose behaviour the renderer and synths can reproduce.
OLDEST_POSTPROCESSING = (6, 37, 2)
OLDEST_TONE = (15, 0, 0)


def parse_release(text: str) -> Release:
    """``"6.37.6"`` → ``(6, 37, 6)``; callers compare tuples."""
    match = _RELEASE.match(text)
    if match is None:
        raise ValueError(f"expected a release like {CURRENT_POSTPROCESSING!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)


def _release_at_least(oldest: Release, current: str) -> AfterValidator:
    newest = parse_release(current)

    def validate(text: str) -> str:
        release = parse_release(text)
        if not oldest <= release <= (newest[0], newest[1], 9999):
            low = ".".join(map(str, oldest))
            high = f"{newest[0]}.{newest[1]}.x"
            raise ValueError(f"expected a release from {low} to {high}")
        return text

    return AfterValidator(validate)


class Compat(StrictModel):
    """The library releases to match; each defaults to the current one."""

    postprocessing: Annotated[
        str, _release_at_least(OLDEST_POSTPROCESSING, CURRENT_POSTPROCESSING)
    ] = CURRENT_POSTPROCESSING
    tone: Annotated[str, _release_at_least(OLDEST_TONE, CURRENT_TONE)] = CURRENT_TONE

    @property
    def postprocessing_release(self) -> Release:
        return parse_release(self.postprocessing)

    @property
    def tone_release(self) -> Release:
        return parse_release(self.tone)
