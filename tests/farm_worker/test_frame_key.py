"""Frame keys: two frames with the same key are the same bytes, across processes and across
projects that differ only outside the frame (the title, another track's notes far away); what
is on screen, the size and the look change the key."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import moderngl

from common.config import UNLIMITED
from common.format.validation import Export, validate_export
from common.jobs.cache_keys import frame_key
from farm_worker.identity import export_look
from farm_worker.png import encode_png
from farm_worker.renderer import FrameRenderer, as_image

REPO = Path(__file__).resolve().parents[2]
SONG: dict[str, Any] = json.loads((REPO / "examples" / "song60.json").read_text())
SETTINGS = {"width": 48, "height": 32, "fps": 10}
FRAME = 50  # 5 s in: beat 10, far from the edits below (beats >= 100)


def export_of(project: dict[str, Any], **settings: Any) -> Export:
    return validate_export(project, {**SETTINGS, **settings}, UNLIMITED)


def key_and_png(ctx: moderngl.Context, export: Export, index: int) -> tuple[str, bytes]:
    settings = export.settings
    with FrameRenderer(ctx, export.project, settings.width, settings.height) as renderer:
        scene = renderer.model.at(export.timeline.time_of(index))
        key = frame_key(export_look(renderer, export), scene.digest())
        png = encode_png(as_image(renderer.render_scene(scene), renderer.width, renderer.height))
    return key, png


def elsewhere(project: dict[str, Any]) -> dict[str, Any]:
    """Another title, and the lead's notes after beat 100 moved: nothing of frame 50 changes."""
    edited = copy.deepcopy(project)
    edited["name"] = "Another title"
    lead = next(t for t in edited["tracks"] if t["id"] == "lead")
    for note in lead["notes"]:
        if note["beat"] >= 100:
            note["pitch"] -= 5
    return edited


def test_a_project_changed_only_outside_the_frame_gives_the_same_key_and_bytes(
    gl_context: moderngl.Context,
) -> None:
    key, png = key_and_png(gl_context, export_of(SONG), FRAME)
    other_key, other_png = key_and_png(gl_context, export_of(elsewhere(SONG)), FRAME)
    assert other_key == key
    assert other_png == png


def test_what_is_on_screen_the_size_and_the_look_change_the_key(
    gl_context: moderngl.Context,
) -> None:
    key = key_and_png(gl_context, export_of(SONG), FRAME)[0]
    recoloured = copy.deepcopy(SONG)
    recoloured["tracks"][4]["visual"]["color"] = "#123456"  # the pad's orb, always on screen
    brighter = copy.deepcopy(SONG)
    brighter["visualizer"]["exposure"] = 2
    brighter["visualizer"]["toneMapping"] = "aces"
    keys = {
        key,
        key_and_png(gl_context, export_of(recoloured), FRAME)[0],
        key_and_png(gl_context, export_of(SONG, width=64), FRAME)[0],
        key_and_png(gl_context, export_of(brighter), FRAME)[0],
        key_and_png(gl_context, export_of(SONG), FRAME + 1)[0],
    }
    assert len(keys) == 5


CHILD = """
import json, sys
from farm_worker.gl import create_context
from tests.farm_worker.test_frame_key import SONG, FRAME, elsewhere, export_of, key_and_png
ctx = create_context()
key, png = key_and_png(ctx, export_of(elsewhere(SONG)), FRAME)
print(json.dumps({"key": key, "png": png.hex()}))
"""


def test_another_process_computes_the_same_key_and_bytes(gl_context: moderngl.Context) -> None:
    key, png = key_and_png(gl_context, export_of(SONG), FRAME)
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert child["key"] == key
    assert bytes.fromhex(child["png"]) == png
