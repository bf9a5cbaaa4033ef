"""Small valid projects for tests, as the app's JSON (dicts) or as parsed Project objects."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from common.adapters.storage import LocalStore
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


class TypedStore(LocalStore):
    """A local store that remembers the content type of each write (S3 keeps it)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.types: dict[str, str] = {}

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.types[key] = content_type
        super().put(key, data, content_type)


def files_handed_over(store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The local paths of the files given to ``store.put_file`` from now on (where a worker
    made them)."""
    handed_over: list[Path] = []
    put_file = store.put_file

    def noting_put_file(
        key: str, path: Path, content_type: str = "application/octet-stream"
    ) -> None:
        handed_over.append(path)
        put_file(key, path, content_type)

    monkeypatch.setattr(store, "put_file", noting_put_file)
    return handed_over
