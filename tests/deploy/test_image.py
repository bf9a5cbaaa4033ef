"""The image's install steps, run as deploy/Dockerfile runs them (no container engine runs
here): the build stage's files copied alone, the wheel built from them, pip-installed into a
fresh venv, then every command's --help, ``framefarm health``, and the installed coordinator
serving the page's examples (the wheel carries examples/)."""

from __future__ import annotations

import json
import re
import shutil
import site
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.processes import wait_for
from sandbox.services import free_ports

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
COMMANDS: tuple[str, ...] = ("validate", "scene", "frame", "frames", "render", "worker")
COMMANDS += ("stitcher", "encoder", "coordinator", "audio", "health")


def build_stage_copies() -> list[str]:
    """What the Dockerfile's build stage copies from the context (before the runtime stage)."""
    build_stage = DOCKERFILE.read_text().split("\nFROM ")[1]
    copied: list[str] = []
    for sources in re.findall(r"^COPY (?!--)(.+)$", build_stage, re.MULTILINE):
        *paths, _destination = sources.split()
        copied.extend(paths)
    return copied


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel installed, as the image's runtime stage installs it. Its
    dependencies come from this checkout's .venv (a path, not its import hooks) rather than
    from PyPI, so the test is offline; the framefarm code is the wheel's alone."""
    root = tmp_path_factory.mktemp("image")
    context = root / "context"
    context.mkdir()
    for path in build_stage_copies():
        source = REPO / path
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "make_examples.py")
            shutil.copytree(source, context / path, ignore=ignore)
        else:
            shutil.copy2(source, context / path)
    wheels = root / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), "."],
        cwd=context,
        check=True,
        timeout=600,
    )
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    (wheel,) = wheels.glob("framefarm-*.whl")
    subprocess.run(
        [str(python), "-m", "pip", "-q", "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=600,
        cwd=root,
    )
    yield venv


def run(venv: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "framefarm"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=venv.parent,
        check=False,
    )


def test_the_installed_code_is_the_wheel(installed: Path) -> None:
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import framefarm; print(framefarm.__file__)"],
        capture_output=True,
        text=True,
        cwd=installed.parent,
        check=True,
    )
    assert Path(result.stdout.strip()).is_relative_to(installed)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_entrypoint_answers_help(installed: Path, command: str) -> None:
    result = run(installed, command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: framefarm {command}" in result.stdout
    assert "--log-format" in result.stdout


def test_the_installed_coordinator_serves_the_examples_and_passes_its_health_check(
    installed: Path, tmp_path: Path
) -> None:
    (port,) = free_ports(1)
    log = (tmp_path / "coordinator.log").open("wb")
    process = subprocess.Popen(
        [str(installed / "bin" / "framefarm"), "coordinator", "--embedded", "--port", str(port)],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "FRAMEFARM_LOCAL_STORE": str(tmp_path / "store")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: run(installed, "health", "--url", f"{base}/healthz").returncode == 0,
            90,
            "the installed coordinator's /healthz",
            interval=0.5,
        )
        with urllib.request.urlopen(f"{base}/examples/demo.json", timeout=10) as response:
            demo = json.loads(response.read())
        assert demo == json.loads((REPO / "examples" / "demo.json").read_text())
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            assert b"<html" in response.read().lower()
    finally:
        process.terminate()
        process.wait(30)
        log.close()
    down = run(installed, "health", "--url", f"{base}/healthz", "--timeout", "2")
    assert down.returncode == 1
    assert "unhealthy" in down.stderr
