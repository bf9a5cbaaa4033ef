"""sRGB hex colours to linear RGB, as three.js ColorManagement decodes them before lighting."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def srgb_to_linear(channel: float) -> float:
    """three.js ``SRGBToLinear``: the piecewise sRGB EOTF."""
    if channel < 0.04045:
        return channel * 0.0773993808
    return float((channel * 0.9478672986 + 0.0521327014) ** 2.4)


def hex_to_linear(colour: str) -> npt.NDArray[np.float64]:
    """``"#ff2fd6"`` -> linear RGB in 0..1 (float64, shape (3,))."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected '#rrggbb', got {colour!r}")
    srgb = [int(text[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]
    return np.array([srgb_to_linear(c) for c in srgb], dtype=np.float64)
