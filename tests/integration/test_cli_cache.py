"""`framefarm render` keeps its cache between runs (FRAMEFARM_CACHE_DIR): a second render of the
same project renders nothing and says so on its last line, the same file; `--no-cache` neither
reads nor fills the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from framefarm.cli import main
from tests.integration.helpers import EXAMPLES

pytestmark = pytest.mark.integration

FLAGS = ["--width", "48", "--height", "32", "--fps", "8", "--start-beat", "40", "--end-beat", "42"]
FRAMES = 8  # 2 beats at 128 bpm, 8 fps


def render(song: Path, output: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["render", str(song), "-o", str(output), "--quiet", *FLAGS, *extra]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_a_second_render_reuses_everything_and_no_cache_bypasses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FRAMEFARM_CACHE_DIR", str(cache))
    song = EXAMPLES / "song60.json"
    first = render(song, tmp_path / "first.mp4", capsys)
    assert f"reused 0 of {FRAMES} frames" in first
    second = render(song, tmp_path / "second.mp4", capsys)
    assert f"reused {FRAMES} of {FRAMES} frames, 1 of 1 segments and the soundtrack" in second
    assert (tmp_path / "second.mp4").read_bytes() == (tmp_path / "first.mp4").read_bytes()
    stored = sorted(p for p in cache.rglob("*") if p.is_file())
    off = render(song, tmp_path / "off.mp4", capsys, "--no-cache")
    assert "reused" not in off
    assert sorted(p for p in cache.rglob("*") if p.is_file()) == stored
    assert (tmp_path / "off.mp4").read_bytes() == (tmp_path / "first.mp4").read_bytes()
