"""Ctrl-C for long CLI commands: the first asks the work to stop (and says so), the second
removes the temporary folders at once and exits; neither prints a traceback."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
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
            for child in multiprocessing.active_children():  # the soundtrack's process
                child.terminate()
            self.remove_scratch()
            self.stream.flush()
            os._exit(EXIT_INTERRUPTED)
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
    """End a stopped command now: its scratch removed last, then the process gone at once, so
    a thread still letting go of the cancelled job has no time to write there again."""
    for request in _STOPPED:
        request.remove_scratch()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


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
