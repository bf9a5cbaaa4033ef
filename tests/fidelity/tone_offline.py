"""The real Tone.js (from tests/fidelity/js, pinned by its lock file) rendering a project offline.

One headless Debian Chromium per test module; each Tone release gets its own page, served from a
``localhost`` route (a secure context, which Tone's AudioWorklets need). A project is handed over
as its own JSON: instrument and effect options are Tone.js options already, so the page builds
``new Tone[type](params)`` from them, chains the effects, a ``Volume`` and a ``Panner``, and plays
each note with ``triggerAttackRelease`` at the time Tone's Transport gives its beat.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import Browser, Page, Route, sync_playwright

from common.audio.units import FloatArray
from common.format.validation import parse_project
from sandbox.browser import CHROMIUM, HEADLESS_ARGS

HERE = Path(__file__).resolve().parent
MODULES = HERE / "js" / "node_modules"
CHROMIUM_ARGS = [*HEADLESS_ARGS, "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
ORIGIN = "http://localhost"
RENDER_TIMEOUT_MS = 120_000
STEREO_VOICES = {"NoiseSynth", "PluckSynth"}
STEREO_EFFECTS = {"Reverb", "Chorus"}


def tone_plan(data: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The page's input: the project's own JSON (as the app holds it) and the clip length."""
    project = parse_project(data)
    tracks = []
    for track, raw in zip(project.tracks, data.get("tracks", []), strict=True):
        if track not in project.audible_tracks:
            continue
        instrument = raw["instrument"]
        effects = raw.get("effects", [])
        voice = instrument.get("params", {}).get("voice", instrument["type"])
        stereo = voice in STEREO_VOICES or any(e["type"] in STEREO_EFFECTS for e in effects)
        notes = [
            {
                "beat": note.beat,
                "beats": float(project.note_beats(note)),
                "pitch": note.pitch,
                "velocity": note.velocity,
            }
            for note in track.notes
        ]
        tracks.append(
            {
                "instrument": instrument,
                "effects": effects,
                "volume": track.volume,
                "pan": track.pan,
                "pannerChannels": 2 if stereo else 1,
                "notes": notes,
            }
        )
    return {
        "bpm": project.bpm,
        "tempoChanges": data.get("tempoChanges", []),
        "tracks": tracks,
        "seconds": seconds,
    }


class ToneRelease:
    """A page with one Tone.js release loaded, rendering plans."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.version: str = page.evaluate("Tone.version")

    def render(self, data: dict[str, Any], seconds: float, seed: int = 1) -> FloatArray:
        """(samples, 2) float64 at 48 kHz, as Tone plays the project (its JSON) offline.

        ``seed`` seeds Math.random for this run: Tone's noise is random, and a test is repeatable.
        """
        plan = {**tone_plan(data, seconds), "seed": seed}
        result = self.page.evaluate("plan => renderWithTone(plan)", plan)
        channels = [
            np.frombuffer(base64.b64decode(c), dtype=np.float32) for c in result["channels"]
        ]
        return np.stack(channels, axis=1).astype(np.float64)


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/bootstrap --browser installs it")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_release(browser: Browser, package: str) -> ToneRelease:
    """A page with ``node_modules/<package>`` (``tone`` or an aliased older release) loaded."""
    build = MODULES / package / "build" / "Tone.js"
    if not build.exists():
        raise RuntimeError(f"{build} is missing: scripts/bootstrap --browser runs npm ci")
    page = browser.new_page()
    page.set_default_timeout(RENDER_TIMEOUT_MS)

    def serve(route: Route) -> None:
        name = route.request.url.removeprefix(f"{ORIGIN}/")
        files = {"tone.js": build, "render.js": HERE / "tone_render.js"}
        if name in files:
            route.fulfill(path=str(files[name]), content_type="text/javascript")
        else:
            route.fulfill(body="<!doctype html><title>tone</title>", content_type="text/html")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    page.add_script_tag(url=f"{ORIGIN}/tone.js")
    page.add_script_tag(url=f"{ORIGIN}/render.js")
    return ToneRelease(page)
