"""Ctrl-C for long CLI commands: the first asks the work to stop (and says so), the second
removes the temporary folders at once and exits; neither prints a traceback.

Either way the command ends with ``exit_interrupted``: its child processes are killed, its
scratch is removed, and removed once more by a small process that waits for this one to be gone.
Threads still letting go of the cancelled job may write there up to the very moment of exit (a
frame's folders made again, the scratch folder with them); once the process is gone nothing of
ours can, so the second removal is the last word."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

EXIT_INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a command stopped by Ctrl-C."""

REMOVE_ATTEMPTS = 20

_REMOVE_AFTER_EXIT = """
import shutil, sys
sys.stdin.buffer.read()  # end of file: every process holding the pipe's other end is gone
for folder in sys.argv[1:]:
    shutil.rmtree(folder, ignore_errors=True)
"""

STOPPING = "framefarm: stopping… (Ctrl-C again to force)"


class InterruptedByUser(Exception):  # noqa: N818 (a request, not an error)
    """The user asked the command to stop (Ctrl-C); raised where the work can unwind."""


class StopRequest:
    """Set by the first Ctrl-C; the scratch folders it removes if a second one comes."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.event = threading.Event()
        self.scratch: list[Path] = []

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    def check(self) -> None:
        """Raise InterruptedByUser once a stop was asked for (call between units of work)."""
        if self.event.is_set():
            raise InterruptedByUser

    def remove_scratch(self) -> None:
        """Remove the scratch folders; threads still writing may refill one while it goes, so
        try a few times (the process exits right after)."""
        for folder in self.scratch:
            for _ in range(REMOVE_ATTEMPTS):
                shutil.rmtree(folder, ignore_errors=True)
                if not folder.exists():
                    break

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            self.stream.flush()
            exit_interrupted()
        self.event.set()
        # Threads still finishing their work must not print tracebacks over the message.
        logging.disable(logging.CRITICAL)
        self.stream.write(f"\n{STOPPING}\n")
        self.stream.flush()


_STOPPED: list[StopRequest] = []


def stop_was_requested() -> bool:
    """Whether Ctrl-C was pressed: then a failure of the work (ffmpeg gets the terminal's
    Ctrl-C too) is the stop, not an error to report."""
    return any(request.requested for request in _STOPPED)


def exit_interrupted() -> NoReturn:
    """End a stopped command now: child processes killed, scratch removed here and again once
    this process is gone (see the module's docstring), then the process gone at once."""
    _kill_child_processes()
    for request in _STOPPED:
        request.remove_scratch()
    _remove_after_exit([folder for request in _STOPPED for folder in request.scratch])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _child_pids() -> list[int]:
    """This process's children (ffmpeg, the soundtrack's process), from /proc where it has
    them, else the ones multiprocessing started."""
    pids = [
        int(pid)
        for children in Path("/proc/self/task").glob("*/children")
        for pid in children.read_text().split()
    ]
    return pids or [child.pid for child in multiprocessing.active_children() if child.pid]


def _kill_child_processes() -> None:
    """Kill and reap the children, so that none writes into the scratch after it is removed.
    multiprocessing's resource tracker is left to end by itself when this process is gone: it
    then frees what the soundtrack's process held (killed, it would leave them)."""
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    children = [pid for pid in _child_pids() if pid != tracker]
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # reaped already by the thread that started it
            continue


def _remove_after_exit(folders: list[Path]) -> None:
    """Start a process that removes ``folders`` once this one has exited. It waits on a pipe
    whose only writer is this process, and inherits SIGINT ignored, so a third Ctrl-C does not
    stop the cleanup."""
    if not folders:
        return
    read_end, _write_end = os.pipe()  # not inheritable; held open by this process until exit
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # then the removal already done stands alone
        subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _REMOVE_AFTER_EXIT, *map(str, folders)],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    os.close(read_end)


@contextmanager
def private_tempdir(stop: StopRequest) -> Iterator[Path]:
    """One ``framefarm-*`` folder holds every temporary file of this command (``tempfile``'s
    default folder points into it meanwhile), so one removal leaves nothing behind, even when a
    second Ctrl-C leaves no time for each part to clean up after itself."""
    folder = Path(tempfile.mkdtemp(prefix="framefarm-"))
    stop.scratch.append(folder)
    previous, tempfile.tempdir = tempfile.tempdir, str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous
        stop.remove_scratch()  # retried: threads letting go of a stopped job may still write


@contextmanager
def handle_ctrl_c(stream: TextIO = sys.stderr) -> Iterator[StopRequest]:
    """Install the two-step Ctrl-C handler for the duration of a command."""
    request = StopRequest(stream)
    _STOPPED.append(request)
    previous = signal.signal(signal.SIGINT, request.on_signal)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)
