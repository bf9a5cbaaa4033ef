"""Write float audio to a PCM WAV file (16- or 24-bit) with the standard library's ``wave``.

Whole (``write_wav``) or block by block as it is rendered (``write_wav_blocks``); both give the
same bytes for the same samples.
"""

from __future__ import annotations

import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatSamples = npt.NDArray[np.floating]


def pcm_bytes(samples: FloatSamples, bits: int = 16) -> bytes:
    """Interleaved little-endian PCM of ``samples`` (frames, channels), clipped to full scale."""
    if bits not in (16, 24):
        raise ValueError(f"bits must be 16 or 24, got {bits}")
    full = (1 << (bits - 1)) - 1
    ints = np.round(np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0) * full)
    if bits == 16:
        return ints.astype("<i2").tobytes()
    little = ints.astype("<i4").reshape(-1, 1).view(np.uint8)
    return little[:, :3].tobytes()


def write_wav(path: str | Path, samples: FloatSamples, sample_rate: int, bits: int = 16) -> None:
    """Write ``samples`` (frames, channels) of -1..1 floats as a PCM WAV file."""
    data = pcm_bytes(samples, bits)
    frames = np.asarray(samples)
    channels = 1 if frames.ndim == 1 else frames.shape[1]
    with open(path, "wb") as handle, wave.open(handle, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(bits // 8)
        out.setframerate(sample_rate)
        out.writeframes(data)


def write_wav_blocks(
    path: str | Path,
    blocks: Iterable[FloatSamples],
    sample_rate: int,
    channels: int = 2,
    bits: int = 16,
) -> int:
    """Write consecutive (frames, channels) blocks as one WAV file; returns the frames written.

    Only one block is held at a time; ``wave`` fixes the header's sizes when the file closes.
    """
    frames = 0
    with open(path, "wb") as handle, wave.open(handle, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(bits // 8)
        out.setframerate(sample_rate)
        for block in blocks:
            out.writeframes(pcm_bytes(block, bits))
            frames += len(block)
    return frames
