"""Small valid projects for tests, as the app's JSON (dicts) or as parsed Project objects."""

from __future__ import annotations

import copy
from typing import Any

from common.format.project import Project
from common.format.validation import parse_project

BASE: dict[str, Any] = {
    "format": "framefarm.project/1",
    "name": "Test",
    "bpm": 120,
    "durationBeats": 16,
    "tracks": [],
    "visualizer": {"background": "#05010f", "seed": 7},
}


def note(
    beat: float, duration: float | str = 1, pitch: int = 60, velocity: float = 1.0
) -> dict[str, Any]:
    return {"beat": beat, "duration": duration, "pitch": pitch, "velocity": velocity}


def track(
    track_id: str,
    style: str = "bars",
    notes: list[dict[str, Any]] | None = None,
    instrument: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": track_id,
        "instrument": instrument or {"type": "Synth"},
        "visual": {"style": style, "color": "#ff2fd6", "intensity": 2.0},
        "notes": notes or [],
        **extra,
    }


def project_data(*tracks: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["tracks"] = [copy.deepcopy(t) for t in tracks]
    data.update(copy.deepcopy(overrides))
    return data


def project(*tracks: dict[str, Any], **overrides: Any) -> Project:
    return parse_project(project_data(*tracks, **overrides))
