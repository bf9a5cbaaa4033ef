"""Scratch folders (common/adapters/scratch.py): each process's own, named so that a later
process removes those of dead processes on this host, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common.adapters.scratch import Owner, Scratch, _host, process_start, sweep_stale


def dead_pid() -> int:
    """A pid that ran and is gone (reused only after the kernel wraps around)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_process_gets_a_folder_of_its_own_removed_on_close(tmp_path: Path) -> None:
    scratch = Scratch.open(str(tmp_path), "stitcher")
    owner = Owner.parse(scratch.path.name)
    assert owner is not None
    assert (owner.role, owner.host, owner.pid) == ("stitcher", _host(), os.getpid())
    assert owner.alive()
    (scratch.path / "soundtrack.wav").write_bytes(b"x")
    scratch.close()
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_removes_dead_processes_folders_only(tmp_path: Path) -> None:
    dead = tmp_path / Owner("stitcher", _host(), dead_pid(), "123").name
    reused = tmp_path / Owner("worker", _host(), os.getpid(), "1").name  # pid reused since
    live = tmp_path / Owner("worker", _host(), os.getpid(), process_start(os.getpid()) or "").name
    elsewhere = tmp_path / Owner("worker", "another-host", dead_pid(), "5").name
    unrelated = tmp_path / "framefarm-weed-abc"
    for folder in (dead, reused, live, elsewhere, unrelated):
        folder.mkdir()
        (folder / "partial.mp4").write_bytes(b"x")
    removed = sweep_stale(tmp_path)
    assert sorted(removed) == sorted([dead, reused])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, elsewhere, unrelated)
    )


def test_a_host_name_with_dashes_parses_back() -> None:
    owner = Owner("encoder", "build-box-7", 42, "999")
    assert Owner.parse(owner.name) == owner
