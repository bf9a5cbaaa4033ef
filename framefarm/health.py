"""Liveness for container probes: a heartbeat file that a long-running process rewrites while its
threads are alive, and the checks ``framefarm health`` runs (the file's age, or a URL)."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

HEARTBEAT_INTERVAL_S = 5.0


class Heartbeat:
    """Rewrites ``path`` every ``interval`` seconds while ``alive()`` says so; a process whose
    threads died (or that hangs) stops rewriting it, and the probe sees the file age."""

    def __init__(
        self,
        path: Path,
        alive: Callable[[], bool],
        role: str,
        interval: float = HEARTBEAT_INTERVAL_S,
    ) -> None:
        self.path = path
        self.alive = alive
        self.role = role
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def beat(self) -> bool:
        """Write the file if the process is alive; whether it was written."""
        if not self.alive():
            return False
        body = json.dumps({"role": self.role, "pid": os.getpid(), "time": time.time()})
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        temporary.write_text(body)
        temporary.replace(self.path)  # atomic: a probe never reads half a file
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.interval + 1)
        self.path.unlink(missing_ok=True)


def heartbeat_problem(path: Path, max_age: float, now: float | None = None) -> str | None:
    """Why the heartbeat at ``path`` says unhealthy, or None when it is fresh."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return f"no heartbeat file {path} (not started, or stopped)"
    if age > max_age:
        return f"heartbeat {path} is {age:.0f} s old (over {max_age:g} s)"
    return None


def url_problem(url: str, timeout: float) -> str | None:
    """Why ``url`` is unhealthy (no answer, or not 2xx), or None."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"{url} did not answer: {reason}"
    return None if 200 <= status < 300 else f"{url} answered {status}"
