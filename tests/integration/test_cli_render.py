"""`framefarm render` as a user runs it, in a subprocess: a bad output path refused before any
rendering, Ctrl-C (once: stop and clean up; twice: at once) with nothing left behind, sizes a
person reads, --version."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from framefarm.progress import format_size
from tests.integration.helpers import EXAMPLES

pytestmark = pytest.mark.integration

SMALL = ["--width", "160", "--height", "90", "--fps", "30"]
STOPPING = "framefarm: stopping… (Ctrl-C again to force)"
RENDERING = {
    "farm": re.compile(r"rendering: .* rendered ([1-9]\d*)/"),
    "direct": re.compile(r"\] ([1-9]\d*)/\d+ frames"),
}


def _env(scratch: Path) -> dict[str, str]:
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(scratch), "PYTHONUNBUFFERED": "1"}


def _framefarm(*args: str, scratch: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framefarm", *args],
        capture_output=True,
        check=False,
        text=True,
        env=_env(scratch),
        timeout=120,
    )


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("{tmp}", "is a folder"),
        ("{tmp}/missing/song.mp4", "does not exist"),
        ("{tmp}/a-file/song.mp4", "is a file, not a folder"),
        ("/proc/song.mp4", "cannot write in the folder /proc"),
    ],
)
def test_a_bad_output_path_is_refused_before_any_rendering(
    tmp_path: Path, output: str, reason: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "tmp").mkdir()
    path = output.format(tmp=tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = _framefarm(
        "render", str(EXAMPLES / "song60.json"), "-o", path, *SMALL, scratch=tmp_path / "tmp"
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("framefarm: --output: ")
    assert reason in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # no progress: nothing was rendered
    assert not (tmp_path / "missing").exists()  # a missing folder is not created
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list((tmp_path / "tmp").iterdir()) == []


def test_version_names_the_installed_release() -> None:
    from importlib.metadata import version

    done = subprocess.run(
        [sys.executable, "-m", "framefarm", "--version"],
        capture_output=True,
        check=False,
        text=True,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"framefarm {version('framefarm')}"


def test_sizes_read_as_a_person_reads_them() -> None:
    assert format_size(812) == "812 B"
    assert format_size(4_321) == "4.32 KB"
    assert format_size(12_500_000) == "12.5 MB"
    assert format_size(345_000_000) == "345 MB"
    assert format_size(1_020_000_000) == "1.02 GB"


class _Render:
    """A render in its own session, as a terminal runs it: Ctrl-C goes to the whole group."""

    def __init__(self, tmp_path: Path, mode: str) -> None:
        self.scratch = tmp_path / "tmp"
        self.output = tmp_path / "song.mp4"
        flags = ["--direct"] if mode == "direct" else []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "framefarm",
                "render",
                str(EXAMPLES / "song60.json"),
                "-o",
                str(self.output),
                *SMALL,
                *flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(self.scratch),
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.seen = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.seen:
                self.lines.append(line)
                self.seen.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 180) -> None:
        with self.seen:
            found = self.seen.wait_for(
                lambda: any(pattern.search(line) for line in self.lines), timeout
            )
        assert found, "".join(self.lines)

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self) -> tuple[int, str, float]:
        started = time.monotonic()
        code = self.process.wait(timeout=120)
        took = time.monotonic() - started
        self.reader.join(timeout=30)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return code, "".join(self.lines), took

    def group_is_gone(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return True
        return False

    def kill(self) -> None:
        if not self.group_is_gone():
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.stderr is not None:
            self.process.stderr.close()


def _assert_clean_stop(render: _Render, code: int, stderr: str) -> None:
    assert code == 130, stderr
    assert STOPPING in stderr
    assert "Traceback" not in stderr, stderr
    assert "KeyboardInterrupt" not in stderr
    assert not render.output.exists()
    assert not (render.output.parent / f".{render.output.name}.part").exists()
    # Children (ffmpeg, the soundtrack's process, the remover that outlives the command) end
    # too, and once they have, no framefarm-* folder is left.
    deadline = time.monotonic() + 30
    while not render.group_is_gone() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert render.group_is_gone()
    assert [p.name for p in render.scratch.iterdir()] == []


@pytest.mark.parametrize("mode", ["farm", "direct"])
def test_one_ctrl_c_stops_the_render_and_cleans_up(tmp_path: Path, mode: str) -> None:
    render = _Render(tmp_path, mode)
    try:
        render.wait_for(RENDERING[mode])
        render.ctrl_c()
        code, stderr, took = render.finish()
    finally:
        render.kill()
    _assert_clean_stop(render, code, stderr)
    print(f"{mode}: stopped {took:.2f} s after Ctrl-C")


def test_a_second_ctrl_c_exits_at_once_and_cleans_up(tmp_path: Path) -> None:
    render = _Render(tmp_path, "farm")
    try:
        render.wait_for(RENDERING["farm"])
        render.ctrl_c()
        render.wait_for(re.compile(re.escape(STOPPING)))
        render.ctrl_c()
        code, stderr, _ = render.finish()
    finally:
        render.kill()
    _assert_clean_stop(render, code, stderr)


_WRITER_UNTIL_EXIT = """
import sys, threading
from pathlib import Path
from framefarm.interrupt import exit_interrupted, handle_ctrl_c, private_tempdir

with handle_ctrl_c() as stop, private_tempdir(stop) as folder:
    started = threading.Event()

    def write_forever() -> None:  # a thread still letting go of a cancelled job
        while True:
            (folder / "store" / "jobs" / "frames").mkdir(parents=True, exist_ok=True)
            started.set()

    threading.Thread(target=write_forever, daemon=True).start()
    started.wait()
    print(folder, flush=True)
    exit_interrupted()
"""


def test_a_stopped_command_leaves_no_scratch_though_a_thread_writes_until_exit(
    tmp_path: Path,
) -> None:
    """The race behind a rare leftover: a thread makes the scratch's folders again between the
    removal and the exit. The folder must still be gone once the command's processes are."""
    scratch = tmp_path / "tmp"
    for _ in range(3):
        process = subprocess.Popen(
            [sys.executable, "-c", _WRITER_UNTIL_EXIT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(scratch),
            start_new_session=True,
        )
        out, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert Path(out.strip()).parent == scratch
        deadline = time.monotonic() + 30
        while not _group_is_gone(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _group_is_gone(process.pid)
        assert list(scratch.iterdir()) == []


def _group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False
