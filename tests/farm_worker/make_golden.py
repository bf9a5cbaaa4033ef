"""Golden frames of examples/demo.json for test_renderer.py's regression check.

Regenerate (after an intended change to the look, or to examples/demo.json) with the one command

    .venv/bin/python tests/farm_worker/make_golden.py

from the repository root, look at the PNGs in tests/farm_worker/golden/, and commit them. They are
rendered on whatever GL this machine has (Mesa llvmpipe on the CPU boxes); other drivers
(NVIDIA) give slightly different bytes, which the test's tolerance allows for.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import moderngl
import numpy as np
import numpy.typing as npt

from common.format.project import Project
from common.format.validation import parse_project, read_json_file
from farm_worker.renderer import FrameRenderer, as_image

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.json"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SIZE = (160, 90)
CASES: dict[str, tuple[str, Fraction]] = {
    # name: (visualizer.toneMapping, seconds after beat 0)
    "demo-0.5s": ("none", Fraction(1, 2)),
    "demo-2.5s": ("none", Fraction(5, 2)),
    "demo-4s-aces": ("aces", Fraction(4)),
}


def demo_project(tone_mapping: str) -> Project:
    data: Any = read_json_file(DEMO, "project")
    data["visualizer"]["toneMapping"] = tone_mapping
    return parse_project(data)


def render_case(ctx: moderngl.Context, name: str) -> npt.NDArray[np.uint8]:
    """The frame of golden case ``name``, (height, width, 3) RGB, top row first."""
    tone_mapping, seconds = CASES[name]
    with FrameRenderer(ctx, demo_project(tone_mapping), *SIZE) as renderer:
        return as_image(renderer.render_at(seconds), *SIZE).copy()


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.png"


def main() -> None:
    from PIL import Image

    from farm_worker.gl import create_context, describe

    ctx = create_context()
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name in CASES:
        Image.fromarray(render_case(ctx, name), "RGB").save(golden_path(name), compress_level=9)
        print(f"wrote {golden_path(name).relative_to(ROOT)}")
    print(f"rendered with {describe(ctx)}")
    ctx.release()


if __name__ == "__main__":
    main()
