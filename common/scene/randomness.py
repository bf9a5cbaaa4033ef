"""Counter-based randomness: the same (seed, track, note, index) always gives the same numbers.

No generator state exists, so any frame can compute its particles without replaying earlier
frames. The mixer is SplitMix64's finaliser over a combined key, vectorised with numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


def hash_uniform(*keys: int | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Uniform floats in [0, 1) keyed by integers (broadcast together), identical everywhere."""
    arrays = np.broadcast_arrays(*(np.asarray(k, dtype=np.int64) for k in keys))
    state = np.zeros(arrays[0].shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for key in arrays:
            state = _mix(state + key.astype(np.uint64) * _GOLDEN + _GOLDEN)
    return (state >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
