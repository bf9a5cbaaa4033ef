"""The code that makes an artefact, as a digest of its source files: a change to the renderer or
the synthesis makes new keys, so no stale artefact is ever reused after an upgrade."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources


@functools.cache
def package_digest(package: str, suffixes: tuple[str, ...] = (".py",)) -> str:
    """SHA-256 of every file of ``package`` (its sub-folders too) ending in ``suffixes``."""
    h = hashlib.sha256()
    root = resources.files(package)
    pending = [(root, "")]
    found = []
    while pending:
        folder, path = pending.pop()
        for entry in folder.iterdir():
            name = f"{path}/{entry.name}"
            if entry.is_dir():
                if entry.name != "__pycache__":
                    pending.append((entry, name))
            elif entry.name.endswith(suffixes):
                found.append((name, entry.read_bytes()))
    for name, data in sorted(found):
        h.update(name.encode())
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()
