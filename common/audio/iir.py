"""Recursive (IIR) filters, exact and vectorised, with state carried from one call to the next.

numpy has no ``lfilter``, and a per-sample Python loop is far too slow, so the recursion runs a
block at a time in state space: within a block the output is the zero-state response (an FFT
convolution with the first ``block`` taps of the impulse response, exact because nothing older
than the block start enters it) plus the zero-input response of the state at the block start
(``C A^k s``); only the short state vector is carried from block to block. The result equals
direct-form II transposed filtering up to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from common.audio.units import FloatArray

DEFAULT_BLOCK = 1024


class LinearFilter:
    """``y = B(z)/A(z) x`` for a low-order filter, each channel of (samples, channels) arrays."""

    def __init__(
        self,
        b: Sequence[float],
        a: Sequence[float],
        channels: int,
        block: int = DEFAULT_BLOCK,
    ) -> None:
        order = max(len(a), len(b)) - 1
        num = np.zeros(order + 1)
        den = np.zeros(order + 1)
        num[: len(b)] = b
        den[: len(a)] = a
        if den[0] == 0:
            raise ValueError("a[0] must not be 0")
        num, den = num / den[0], den / den[0]
        self.order, self.block, self.channels = order, block, channels
        self.b0 = float(num[0])
        self.poles = np.roots(den) if order else np.zeros(0)
        self.state = np.zeros((channels, order))
        if order == 0:
            return
        transition = np.zeros((order, order))
        transition[:, 0] = -den[1:]
        transition[np.arange(order - 1), np.arange(1, order)] = 1.0
        drive = num[1:] - den[1:] * num[0]
        powers = np.empty((block + 1, order, order))
        powers[0] = np.eye(order)
        for k in range(1, block + 1):
            powers[k] = powers[k - 1] @ transition
        self._powers = powers
        self._free = powers[:block, 0, :]  # (block, order): C A^k, the zero-input response
        taps = np.empty(block)
        taps[0] = num[0]
        taps[1:] = self._free[: block - 1] @ drive
        self._spectrum = np.fft.rfft(taps, 2 * block)
        self._to_state = powers[block - 1 :: -1] @ drive  # row j: A^(block-1-j) B

    def reset(self) -> None:
        self.state[:] = 0.0

    def ring_samples(self, threshold: float = 1e-6, cap: int = 1 << 22) -> int:
        """Samples for the impulse response to decay below ``threshold`` (its slowest pole).

        At most ``cap``: a pole on the unit circle (an extreme Q) would ring for ever.
        """
        if self.order == 0:
            return 0
        radius = float(np.max(np.abs(self.poles)))
        if radius <= 0:
            return self.order
        if radius >= 1:
            return cap
        return min(int(np.ceil(np.log(threshold) / np.log(radius))) + self.order, cap)

    def process(self, x: FloatArray) -> FloatArray:
        """Filter ``x`` of shape (samples, channels); continues from the previous call's state."""
        if self.order == 0 or len(x) == 0:
            return np.asarray(x * self.b0, dtype=np.float64)
        length, block = len(x), self.block
        count = -(-length // block)
        padded = np.zeros((self.channels, count * block))
        padded[:, :length] = x.T
        blocks = padded.reshape(self.channels, count, block)
        spectra = np.fft.rfft(blocks, 2 * block, axis=-1) * self._spectrum
        out = np.fft.irfft(spectra, 2 * block, axis=-1)[..., :block]
        starts = np.empty((self.channels, count, self.order))
        pushes = blocks @ self._to_state  # (channels, count, order)
        step = self._powers[block].T
        state = self.state
        for k in range(count - 1):
            starts[:, k] = state
            state = state @ step + pushes[:, k]
        starts[:, count - 1] = state
        rest = length - (count - 1) * block
        tail = blocks[:, count - 1, :rest] @ self._to_state[block - rest :]
        self.state = state @ self._powers[rest].T + tail
        out += starts @ self._free.T
        return np.ascontiguousarray(out.reshape(self.channels, count * block)[:, :length].T)


def biquad_lockstep(
    x: FloatArray,
    coefficients: tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray],
    state: tuple[FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, tuple[FloatArray, FloatArray]]:
    """A biquad whose coefficients change every sample, for many signals at once.

    ``x`` and each of ``b0, b1, b2, a1, a2`` have shape (signals, samples); the loop runs over
    samples (direct form II transposed), each step vectorised across the signals. ``state``:
    each signal's (s1, s2) to start from (zeros by default); the state after the last sample
    comes back with the output, so a filter that runs on across calls can be continued.
    """
    b0, b1, b2, a1, a2 = (np.ascontiguousarray(c.T) for c in coefficients)
    xt = np.ascontiguousarray(x.T)
    out = np.empty_like(xt)
    s1 = np.zeros(xt.shape[1]) if state is None else np.array(state[0], dtype=np.float64)
    s2 = np.zeros(xt.shape[1]) if state is None else np.array(state[1], dtype=np.float64)
    for n in range(xt.shape[0]):
        xn = xt[n]
        yn = b0[n] * xn + s1
        s1 = b1[n] * xn - a1[n] * yn + s2
        s2 = b2[n] * xn - a2[n] * yn
        out[n] = yn
    return np.ascontiguousarray(out.T), (s1, s2)
