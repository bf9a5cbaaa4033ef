"""Lossless PNG encoding of rendered frames, with the fastest encoder available.

Measured on a real 1280x720 frame here (docs/benchmarks.md has the full table): fpng 1.8 ms and
122 KB; Pillow compress_level 1 21.6 ms and 120 KB; level 0 20.1 ms and 2.8 MB. fpng is 12x
faster at the same size and decodes bit-exactly in Pillow and ffmpeg; Pillow level 1 is the
fallback where no fpng wheel exists for the platform.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image

try:
    import fpng as _fpng
except ImportError:  # pragma: no cover - exercised only on platforms without an fpng wheel
    _fpng = None

ENCODER = "fpng" if _fpng is not None else "pillow-1"


def encode_png(image: npt.NDArray[np.uint8]) -> bytes:
    """PNG bytes of a (height, width, 3) uint8 RGB image, top row first."""
    if _fpng is not None:
        return bytes(_fpng.from_ndarray(np.ascontiguousarray(image)))
    return encode_png_pillow(image, level=1)


def encode_png_pillow(image: npt.NDArray[np.uint8], level: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", compress_level=level)
    return out.getvalue()


def decode_png(data: bytes) -> npt.NDArray[np.uint8]:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
