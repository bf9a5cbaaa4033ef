"""The master limiter: a look-ahead peak limiter, so no sample of the mix exceeds the ceiling.

Per sample, the gain (in dB) that would bring the louder channel down to ``ceiling`` is the
*need* (0 dB where there is headroom). The applied gain is the lower envelope of the need:
looking ``lookahead`` seconds ahead it ramps down at ``attack_db`` per look-ahead before a peak,
and after it recovers at ``release_db_per_second``. Both are exact min-plus operations, so the
limiter is vectorised, deterministic, never above the need (hence never over the ceiling), and
exactly unity gain on a mix that never exceeds the ceiling. It streams: the output lags the
input by the look-ahead, which :meth:`Limiter.process` hides by reporting where it starts.
"""

from __future__ import annotations

import numpy as np

from common.audio.units import FloatArray

CEILING_DB = -0.3
LOOKAHEAD_SECONDS = 0.005
ATTACK_DB = 24.0
RELEASE_DB_PER_SECOND = 40.0


def _sliding_min(values: FloatArray, window: int) -> FloatArray:
    """min(values[i : i + window]) for every i where the window fits (a sparse table)."""
    out = values.copy()
    width = 1
    while width * 2 <= window:
        out = np.minimum(out[:-width], out[width:])
        width *= 2
    if width < window:
        shift = window - width
        out = np.minimum(out[:-shift], out[shift:])
    return out


class Limiter:
    """Streams blocks of a stereo mix; :meth:`process` returns the limited, delayed block."""

    def __init__(
        self,
        sample_rate: int,
        ceiling_db: float = CEILING_DB,
        lookahead: float = LOOKAHEAD_SECONDS,
        attack_db: float = ATTACK_DB,
        release_db_per_second: float = RELEASE_DB_PER_SECOND,
    ) -> None:
        self.ceiling = 10 ** (ceiling_db / 20)
        self.lookahead = max(1, round(lookahead * sample_rate))
        self.attack = attack_db / self.lookahead  # dB per sample, before a peak
        self.release = release_db_per_second / sample_rate  # dB per sample, after it
        self.pending = np.zeros((self.lookahead, 2))
        self.gain_db = 0.0  # gain applied to the last sample out

    def need_db(self, x: FloatArray) -> FloatArray:
        peak = np.max(np.abs(x), axis=1)
        with np.errstate(divide="ignore"):
            need: FloatArray = np.minimum(20 * np.log10(self.ceiling / peak), 0.0)
        return need

    def process(self, block: FloatArray) -> FloatArray:
        """Takes the next block; returns as many samples, ``lookahead`` samples behind it."""
        count = len(block)
        joined = np.concatenate([self.pending, block])
        need = self.need_db(joined)
        index = np.arange(len(joined))
        # before a peak: gain[i] = min over d in 0..lookahead of need[i + d] + d * attack
        ramped = _sliding_min(need + index * self.attack, self.lookahead + 1)
        before = ramped[:count] - index[:count] * self.attack
        # after a peak: gain[i] = min over j <= i of before[j] + (i - j) * release
        steps = index[:count] * self.release
        carried = self.gain_db + self.release + steps
        after = np.minimum(np.minimum.accumulate(before - steps) + steps, carried)
        gain = np.minimum(after, 0.0)
        self.gain_db = float(gain[-1]) if count else self.gain_db
        self.pending = joined[count:]
        out: FloatArray = np.clip(
            joined[:count] * (10 ** (gain / 20))[:, None], -self.ceiling, self.ceiling
        )
        return out
