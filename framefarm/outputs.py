"""Check where a command will write before it does any work, so a bad path costs nothing."""

from __future__ import annotations

import os
from pathlib import Path

from common.errors import Issue


def output_problem(path: Path, flag: str = "--output") -> Issue | None:
    """The reason ``path`` cannot be written as a new or replaced file, or None. A missing
    parent folder is a problem: a typo should not create folders."""
    text = str(path)
    if path.is_dir():
        return Issue(flag, "is a folder; give a file name inside it", text)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        return Issue(flag, f"the folder {parent} does not exist", text)
    if not parent.is_dir():
        return Issue(flag, f"{parent} is a file, not a folder", text)
    if path.exists() and not os.access(path, os.W_OK):
        return Issue(flag, "the file exists and cannot be replaced (permission denied)", text)
    # Permission bits do not tell the whole story (root, read-only mounts, /proc): try it.
    probe = parent / f".{path.name}.probe-{os.getpid()}"
    try:
        probe.touch(exist_ok=False)
    except OSError as error:
        reason = error.strerror or "cannot create files there"
        return Issue(flag, f"cannot write in the folder {parent} ({reason})", text)
    probe.unlink(missing_ok=True)
    return None
