"""A process's local scratch directory, named so that a later process can tell it is stale.

Every farm process keeps its temporary files (a soundtrack's WAV, a segment or a video being
encoded) in one folder of its own, ``framefarm-scratch-<role>-<host>-<pid>-<start>`` under the
scratch root (``FRAMEFARM_SCRATCH_DIR``, else the system's temporary directory). A process
killed mid-job (SIGKILL, a machine restart) cannot clean up, so each process, when it starts,
removes the folders of this host whose process is gone: the pid is not running, or runs with
another start time (the pid was reused). Folders of other hosts (a shared scratch root) and of
live processes are never touched, and nothing that lacks the prefix is.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "framefarm-scratch-"


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname()) or "host"


def process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, from /proc), '' where /proc is absent,
    None when no such process runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:  # no /proc: ask the kernel whether the pid exists
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return ""
        return ""
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of the whole line: starttime


@dataclass(frozen=True)
class Owner:
    role: str
    host: str
    pid: int
    start: str

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.role}-{self.host}-{self.pid}-{self.start}"

    @classmethod
    def parse(cls, name: str) -> Owner | None:
        if not name.startswith(PREFIX):
            return None
        parts = name[len(PREFIX) :].split("-")
        if len(parts) < 4 or not parts[-2].isdigit():
            return None
        return cls(parts[0], "-".join(parts[1:-2]), int(parts[-2]), parts[-1])

    def alive(self) -> bool:
        return process_start(self.pid) in (self.start, "")


def scratch_root(configured: str | None) -> Path:
    return Path(configured) if configured else Path(tempfile.gettempdir())


def sweep_stale(root: Path) -> list[Path]:
    """Remove the scratch folders of this host's dead processes under ``root``; returns them."""
    if not root.is_dir():
        return []
    host, removed = _host(), []
    for path in root.iterdir():
        owner = Owner.parse(path.name)
        if owner is None or owner.host != host or not path.is_dir() or path.is_symlink():
            continue
        if owner.alive():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
        log.info("removed the stale scratch of %s process %d: %s", owner.role, owner.pid, path)
    return removed


class Scratch:
    """This process's scratch folder: created (after sweeping stale ones) on ``open``, removed
    on ``close``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, configured: str | None, role: str) -> Scratch:
        root = scratch_root(configured)
        root.mkdir(parents=True, exist_ok=True)
        sweep_stale(root)
        pid = os.getpid()
        owner = Owner("".join(c for c in role if c.isalnum()) or "farm", _host(), pid, "")
        owner = Owner(owner.role, owner.host, pid, process_start(pid) or "0")
        path = root / owner.name
        path.mkdir(exist_ok=True)
        return cls(path)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
