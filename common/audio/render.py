"""``render_soundtrack``: the project's audio between two times, as a stereo float32 array.

The timeline is absolute: sample k plays at k / sample_rate seconds after beat 0, notes start
on the tempo map, and rendering begins early enough (at the earliest note whose sound or
effect tail still reaches the range) that a sub-range sounds exactly as it does inside a full
render. Blocks of ``BLOCK`` samples stream through voices, effects, mixer and limiter, and
:func:`soundtrack_blocks` hands them on as they come: writing a soundtrack with it keeps memory
bounded by the block, not the song.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from common.audio.limiter import Limiter
from common.audio.mixer import TrackStrip
from common.format.project import Project

BLOCK = 1 << 17
"""Samples per block (2.7 s at 48 kHz)."""
SETTLE_SECONDS = 1.0
"""The mix is rendered complete this long before the range, for the limiter's memory of it."""


def render_soundtrack(
    project: Project,
    start_seconds: float,
    end_seconds: float,
    sample_rate: int = 48000,
) -> npt.NDArray[np.float32]:
    """Stereo audio for [start_seconds, end_seconds): ``round(duration * rate)`` rows, 2 columns.

    Muted tracks and, when any track is soloed, the others are silent. The master limiter keeps
    every sample within full scale. The same arguments always give the same samples. The whole
    range is held in memory: :func:`soundtrack_blocks` gives the same samples a block at a time.
    """
    count = sample_count(start_seconds, end_seconds, sample_rate)
    out = np.zeros((count, 2), dtype=np.float32)
    at = 0
    for block in soundtrack_blocks(project, start_seconds, end_seconds, sample_rate):
        out[at : at + len(block)] = block
        at += len(block)
    return out


def sample_count(start_seconds: float, end_seconds: float, sample_rate: int) -> int:
    """How many samples the range [start_seconds, end_seconds) has (checked first)."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    if not 0 <= start_seconds <= end_seconds:
        raise ValueError(f"expected 0 <= start <= end, got {start_seconds}..{end_seconds}")
    return round((end_seconds - start_seconds) * sample_rate)


def soundtrack_blocks(
    project: Project,
    start_seconds: float,
    end_seconds: float,
    sample_rate: int = 48000,
) -> Iterator[npt.NDArray[np.float32]]:
    """The samples of :func:`render_soundtrack`, in order, as (at most ``BLOCK``, 2) arrays.

    Memory stays bounded by the block (and the voices' cache), not by the song's length, so a
    long soundtrack can be written to a file as it is made. Silence is yielded as zeros.
    """
    count = sample_count(start_seconds, end_seconds, sample_rate)
    first = round(start_seconds * sample_rate)
    limiter = Limiter(sample_rate)
    # a note starting after the range (and the limiter's look-ahead) cannot reach it
    margin = (limiter.lookahead + 1) / sample_rate + 1.0
    until = float(project.tempo_map.time_to_beat(Fraction(end_seconds + margin)))
    audible = project.audible_tracks
    strips = [TrackStrip(project, track, sample_rate, until) for track in audible]
    if count == 0:
        return
    if not strips:
        for at in range(0, count, BLOCK):
            yield np.zeros((min(BLOCK, count - at), 2), dtype=np.float32)
        return
    settled = max(first - round(SETTLE_SECONDS * sample_rate), 0)
    position = min([settled, *(strip.first_needed(settled) for strip in strips)])
    stop = first + count + limiter.lookahead
    while position < stop:
        end = min(position + BLOCK, stop)
        mix = np.zeros((end - position, 2))
        for strip in strips:
            strip.add_to(mix, position)
        limited = limiter.process(mix)
        at = position - limiter.lookahead  # the limiter's output lags its input
        low, high = max(at, first), min(at + len(limited), first + count)
        if low < high:
            yield limited[low - at : high - at].astype(np.float32)
        position = end
