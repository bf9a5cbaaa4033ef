"""Offline audio: the project's soundtrack rendered with numpy, the way Tone.js would play it.

Pure functions of the project (no I/O except :mod:`common.audio.wav`), deterministic to the
sample: every random choice is keyed by the visualizer seed, the track and the note.

- ``render``: :func:`render_soundtrack`, the range of the song as stereo float32, and
  :func:`soundtrack_blocks`, the same samples a block at a time (bounded memory)
- ``mixer``: a track's strip (voices, effects, volume, pan) and the master bus
- ``limiter``: the look-ahead master limiter that keeps the mix within full scale
- ``voices``: which notes sound (PolySynth polyphony, monophonic take-over) and when
- ``synths``: one note of each Tone.js instrument
- ``oscillators``, ``noise``: band-limited waves (fm/am/fat/pulse/pwm, partials), seeded noise
- ``processors``: Gain, Filter, FeedbackDelay, Reverb, Distortion, Chorus as streaming processors
- ``iir``, ``biquad``: exact vectorised recursive filters and Web Audio biquad coefficients
- ``units``, ``wav``: conversions, and the 16/24-bit PCM WAV writer (whole or by blocks)
"""

from __future__ import annotations

from common.audio.render import render_soundtrack, soundtrack_blocks

__all__ = ["render_soundtrack", "soundtrack_blocks"]
