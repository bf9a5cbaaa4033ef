"""A chunk's manifest: which frames it stored, with their sizes and SHA-256. Written last, after
every frame is stored, so its presence is the chunk's commit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from common.errors import FramefarmError

MANIFEST_VERSION = 1


class ManifestError(FramefarmError):
    """A manifest that cannot be read, or chunks that do not add up to the job's frames."""


@dataclass(frozen=True, slots=True)
class FrameRecord:
    index: int
    key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ChunkManifest:
    job_id: str
    chunk_index: int
    first_frame: int
    frames: tuple[FrameRecord, ...]
    render_seconds: float
    renderer: str  # GL renderer string: frames from different drivers differ in bytes
    worker: str

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "job_id": self.job_id,
            "chunk_index": self.chunk_index,
            "first_frame": self.first_frame,
            "render_seconds": self.render_seconds,
            "renderer": self.renderer,
            "worker": self.worker,
            "frames": [[f.index, f.key, f.sha256, f.size] for f in self.frames],
        }
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ChunkManifest:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ManifestError("manifest is corrupt: not a JSON object")
            if data.get("version") != MANIFEST_VERSION:
                raise ManifestError(
                    f"manifest version {data.get('version')!r} is not {MANIFEST_VERSION}"
                )
            frames = tuple(
                FrameRecord(int(i), str(k), str(h), int(s)) for i, k, h, s in data["frames"]
            )
            return cls(
                job_id=str(data["job_id"]),
                chunk_index=int(data["chunk_index"]),
                first_frame=int(data["first_frame"]),
                frames=frames,
                render_seconds=float(data["render_seconds"]),
                renderer=str(data["renderer"]),
                worker=str(data["worker"]),
            )
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise ManifestError(f"manifest is corrupt: {error}") from error


def ordered_frames(manifests: list[ChunkManifest], frame_count: int) -> list[FrameRecord]:
    """Every frame 0..frame_count-1 exactly once, in order; ManifestError names gaps/duplicates."""
    by_index: dict[int, FrameRecord] = {}
    duplicates: list[int] = []
    for manifest in manifests:
        for record in manifest.frames:
            if record.index in by_index:
                duplicates.append(record.index)
            by_index[record.index] = record
    missing = [i for i in range(frame_count) if i not in by_index]
    extra = sorted(i for i in by_index if not 0 <= i < frame_count)
    if duplicates or missing or extra:
        parts = []
        if missing:
            parts.append(f"missing frames {_ranges(missing)}")
        if duplicates:
            parts.append(f"duplicate frames {_ranges(sorted(set(duplicates)))}")
        if extra:
            parts.append(f"frames outside 0..{frame_count - 1}: {_ranges(extra)}")
        raise ManifestError("; ".join(parts))
    return [by_index[i] for i in range(frame_count)]


def _ranges(indices: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"`` (at most ten spans)."""
    spans: list[tuple[int, int]] = []
    for i in indices:
        if spans and i == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], i)
        else:
            spans.append((i, i))
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in spans[:10]]
    return ", ".join(text) + (" ..." if len(spans) > 10 else "")
