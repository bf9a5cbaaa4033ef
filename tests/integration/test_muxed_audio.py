"""What is heard: the soundtrack muxed into a segmented export is ``framefarm audio``'s signal for
the same range, within the codec's tolerance, across every seam of the video's segments: no
gap, no shift, no click. The range starts mid-song, so an audio start taken from beat 0 fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from common.config import Limits
from common.format.validation import validate_export
from framefarm.render import render_video
from stitcher.soundtrack import SAMPLE_RATE
from tests.integration.helpers import EXAMPLES

pytestmark = pytest.mark.integration

DEMO: dict[str, Any] = json.loads((EXAMPLES / "demo.json").read_text())
SEGMENT_SECONDS = 0.5  # 7 seams in the 4 s below
SETTINGS: dict[str, Any] = {"width": 64, "height": 36, "fps": 24, "startBeat": 6, "endBeat": 14}
SECONDS = 4.0  # beats 6 to 14 at 120 bpm
WHOLE_SNR_DB = 15.0
SEAM_SNR_DB = 12.0
"""Measured here: AAC 192k 17.9 dB whole, 18-26 dB at the seams; Opus 160k 23 dB, 23-26 dB."""
END_SLACK = {"mp4": 1024, "webm": 0}
"""Samples the stream may run past the video: AAC pads its last frame of 1024 samples."""


def pcm(path: Path) -> npt.NDArray[np.float32]:
    """The first audio stream decoded to 48 kHz stereo float, (samples, 2)."""
    raw = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0"),
            *("-f", "f32le", "-ac", "2", "-ar", str(SAMPLE_RATE), "-"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, 2)


def snr_db(reference: npt.NDArray[np.float32], heard: npt.NDArray[np.float32]) -> float:
    error = heard.astype(np.float64) - reference
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / np.sum(error**2)))


def best_lag(reference: npt.NDArray[np.float32], heard: npt.NDArray[np.float32]) -> int:
    """The shift (in samples, within 64) that best lines ``heard`` up with ``reference``."""
    return max(range(-64, 65), key=lambda k: float(np.dot(np.roll(heard, k), reference)))


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_the_muxed_soundtrack_is_the_songs_across_every_seam(fmt: str, tmp_path: Path) -> None:
    export = validate_export(DEMO, {**SETTINGS, "format": fmt}, Limits())
    video = tmp_path / f"song.{fmt}"
    render_video(export, video, segment_seconds=SEGMENT_SECONDS, timeout=120)
    reference_wav = tmp_path / "reference.wav"
    subprocess.run(
        [
            *(sys.executable, "-m", "framefarm", "audio", str(EXAMPLES / "demo.json")),
            *("-o", str(reference_wav), "--start-beat", "6", "--end-beat", "14"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    reference, heard = pcm(reference_wav), pcm(video)

    expected = round(SECONDS * SAMPLE_RATE)
    assert len(reference) == expected
    assert expected <= len(heard) <= expected + END_SLACK[fmt]
    heard = heard[:expected]
    assert float(np.abs(reference).max()) > 0.1  # the range is not silence
    assert snr_db(reference, heard) >= WHOLE_SNR_DB
    for seam in np.arange(SEGMENT_SECONDS, SECONDS, SEGMENT_SECONDS):
        centre = round(seam * SAMPLE_RATE)
        near = slice(centre - 2400, centre + 2400)  # 50 ms each side
        assert snr_db(reference[near], heard[near]) >= SEAM_SNR_DB, f"a click at {seam} s"
        block = slice(centre - 12000, centre + 12000)
        assert best_lag(reference[block, 0], heard[block, 0]) == 0, f"a shift at {seam} s"


# --- what is heard where, independently of `framefarm audio` ---------------------------------

TONED_START_BEAT, NOTE_BEAT, PRE_ROLL_BEAT = 4, 6, 1  # 120 bpm: a beat is 0.5 s
A4 = 69  # 440 Hz


def sine_track(notes: list[dict[str, Any]]) -> dict[str, Any]:
    """A pure tone with a fast attack and release: its onset and pitch are unambiguous."""
    return {
        "id": "tone",
        "instrument": {
            "type": "Synth",
            "params": {
                "oscillator": {"type": "sine"},
                "envelope": {"attack": 0.002, "decay": 0.05, "sustain": 1, "release": 0.02},
            },
        },
        "notes": notes,
    }


def onset_seconds(mono: npt.NDArray[np.float64]) -> float:
    """Where the 1 ms RMS first reaches half of the loudest 1 ms: the note-on, to about 1 ms."""
    window = SAMPLE_RATE // 1000
    rms = np.sqrt(np.convolve(mono**2, np.ones(window) / window, mode="same"))
    return float(np.argmax(rms >= 0.5 * rms.max())) / SAMPLE_RATE


def pitch_hz(mono: npt.NDArray[np.float64]) -> float:
    """The strongest frequency, refined between FFT bins (parabolic on the log magnitude)."""
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    peak = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[peak - 1 : peak + 2])
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return float((peak + shift) * SAMPLE_RATE / len(mono))


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_a_sub_range_export_sounds_each_note_at_its_place_on_the_videos_timeline(
    fmt: str, tmp_path: Path
) -> None:
    # A note before the range (its release ends long before the range starts) and one inside.
    song = {
        **DEMO,
        "tracks": [sine_track([note_at(PRE_ROLL_BEAT, 60), note_at(NOTE_BEAT, A4)])],
        "durationBeats": 12,
    }
    settings = {**SETTINGS, "startBeat": TONED_START_BEAT, "endBeat": 10, "format": fmt}
    video = tmp_path / f"toned.{fmt}"
    render_video(validate_export(song, settings, Limits()), video, timeout=120)
    heard = pcm(video).astype(np.float64).mean(axis=1)

    expected_onset = (NOTE_BEAT - TONED_START_BEAT) * 0.5  # 1.0 s into the video
    assert float(np.abs(heard[: round(0.9 * SAMPLE_RATE)]).max()) < 0.01  # nothing before it
    assert onset_seconds(heard) == pytest.approx(expected_onset, abs=0.002)
    held = heard[
        round((expected_onset + 0.1) * SAMPLE_RATE) : round((expected_onset + 0.9) * SAMPLE_RATE)
    ]
    cents = 1200 * np.log2(pitch_hz(held) / 440.0)
    assert abs(cents) < 2, f"{cents:.2f} cents off A4"


def note_at(beat: int, pitch: int) -> dict[str, Any]:
    return {"beat": beat, "duration": 2, "pitch": pitch, "velocity": 0.8}
