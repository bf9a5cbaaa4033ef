"""FrameRenderer: pixel assertions on whole frames (background, bloom, note-ons, determinism,
size limits, GL hygiene) and a tolerant comparison with golden PNGs of examples/demo.json."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import moderngl
import numpy as np
import numpy.typing as npt
import pytest

from common.errors import LimitExceeded
from common.format.compat import CURRENT_POSTPROCESSING
from common.format.project import Project
from common.format.validation import load_project_file, parse_project, read_json_file
from common.scene.color import hex_to_linear
from farm_worker.renderer import FrameRenderer, as_image
from farm_worker.scene_pass import R3F_MULTISAMPLING
from tests.factories import note, project, track
from tests.farm_worker import make_golden, reference

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.json"
BACKGROUND = "#05010f"
BACKGROUND_RGB = (5, 1, 15)
SIZE = (96, 54)
FPS = 30
NOTE_BEAT = 2  # at 120 bpm: 1 s, frame 30 at 30 fps

Frame = npt.NDArray[np.uint8]


def orb_project(
    *,
    bloom: dict[str, Any] | None = None,
    colour: str = "#80c0ff",
    intensity: float = 4.0,
    tone_mapping: str = "none",
) -> Project:
    """One glowing orb (a sphere whose size and glow follow its note) and a camera held still."""
    orb = track("orb", "orbs", [note(NOTE_BEAT, 1, 60)])
    orb["visual"] = {"style": "orbs", "color": colour, "intensity": intensity}
    return project(
        orb,
        visualizer={
            "background": BACKGROUND,
            "camera": {"orbitBeats": 0},
            "toneMapping": tone_mapping,
            "bloom": bloom or {},
        },
    )


@pytest.fixture
def render(gl_context: moderngl.Context) -> Iterator[Callable[..., Frame]]:
    """render(project, seconds, size=SIZE): one frame from a fresh renderer, released after."""

    def render_one(project: Project, seconds: Fraction, size: tuple[int, int] = SIZE) -> Frame:
        with FrameRenderer(gl_context, project, *size) as renderer:
            return as_image(renderer.render_at(seconds), *size).copy()

    yield render_one
    assert gl_context.error == "GL_NO_ERROR"


def dilate(mask: npt.NDArray[np.bool_], steps: int) -> npt.NDArray[np.bool_]:
    """Grow a mask by ``steps`` pixels (4-neighbourhood)."""
    for _ in range(steps):
        grown = mask.copy()
        grown[1:] |= mask[:-1]
        grown[:-1] |= mask[1:]
        grown[:, 1:] |= mask[:, :-1]
        grown[:, :-1] |= mask[:, 1:]
        mask = grown
    return mask


def footprint(frame: Frame) -> npt.NDArray[np.bool_]:
    """Pixels that are not the background colour."""
    return np.asarray(np.any(frame != BACKGROUND_RGB, axis=-1), dtype=np.bool_)


# --- background -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("background", "expected"),
    [
        ("#05010f", (5, 1, 15)),
        ("#000000", (0, 0, 0)),
        ("#336699", (0x33, 0x66, 0x99)),
        ("#ff2fd6", (0xFF, 0x2F, 0xD6)),
        ("#ffffff", (255, 255, 255)),
    ],
)
def test_background_everywhere_when_nothing_is_drawn(
    render: Callable[..., Frame], background: str, expected: tuple[int, int, int]
) -> None:
    """Hex colours are sRGB: decoded to linear for the scene, encoded back by the output pass."""
    empty = project(visualizer={"background": background})
    frame = render(empty, Fraction(1))
    assert (frame == expected).all(), f"colours found: {np.unique(frame.reshape(-1, 3), axis=0)}"


@pytest.mark.parametrize("tone_mapping", ["aces", "agx", "neutral", "reinhard", "cineon", "linear"])
def test_tone_mapped_background_is_uniform_and_as_three_maps_it(
    render: Callable[..., Frame], tone_mapping: str
) -> None:
    empty = project(visualizer={"background": "#336699", "toneMapping": tone_mapping})
    frame = render(empty, Fraction(1))
    linear = hex_to_linear("#336699").astype(np.float32).reshape(1, 1, 3)
    expected = reference.encode(reference.half(linear), empty.visualizer)[0, 0]
    assert (frame == frame[0, 0]).all()
    assert np.abs(frame[0, 0].astype(int) - expected.astype(int)).max() <= 1, (
        frame[0, 0],
        expected,
    )


# --- bloom ------------------------------------------------------------------------------------


def test_bloom_spreads_light_beyond_a_bright_object(render: Callable[..., Frame]) -> None:
    """Same frame without and with bloom: only additions, and light around the object."""
    seconds = Fraction(31, FPS)  # just after the note-on: the orb is bright (luminance > 1)
    plain = render(orb_project(bloom={"intensity": 0}), seconds)
    bloomed = render(orb_project(bloom={"intensity": 1.5}), seconds)
    shape = footprint(plain)
    assert 10 < shape.sum() < 0.5 * shape.size, "the orb should cover some of the frame"
    assert (bloomed >= plain).all(), "bloom (blend ADD) only adds light"
    gain = (bloomed.astype(int) - plain.astype(int)).sum(axis=-1)
    near = dilate(shape, 4) & ~dilate(shape, 1)  # 2..4 pixels outside the object
    assert (gain[near] > 0).all(), "every pixel just outside the object gets light"
    assert gain[near].mean() > 30, gain[near].mean()
    far = ~dilate(shape, 12)
    assert 0 < gain[far].mean() < gain[near].mean(), "the glow fades with distance"


def test_object_below_the_threshold_gets_no_bloom(
    gl_context: moderngl.Context, render: Callable[..., Frame]
) -> None:
    """A dim orb (max luminance < threshold, small smoothing) renders the same with or without."""
    seconds = Fraction(31, FPS)
    dim: dict[str, Any] = {"colour": "#4080ff", "intensity": 0.5}
    with FrameRenderer(gl_context, orb_project(bloom={"intensity": 1.5}, **dim), *SIZE) as r:
        bloomed = as_image(r.render_at(seconds), *SIZE).copy()
        hdr = np.frombuffer(r.scene_pass.output.texture.read(), dtype=np.float16)
        rgb = hdr.reshape(SIZE[1], SIZE[0], 4)[..., :3].astype(np.float32)
    luminance = rgb @ reference.LUMINANCE_WEIGHTS
    assert 0.05 < luminance.max() < 1.0 - 0.03, "precondition: visible, below threshold 1"
    plain = render(orb_project(bloom={"intensity": 0}, **dim), seconds)
    assert footprint(plain).sum() > 10
    assert np.array_equal(bloomed, plain)
    # ...and the same orb does bloom once the threshold is below its luminance
    low = orb_project(bloom={"intensity": 1.5, "luminanceThreshold": 0.02}, **dim)
    assert not np.array_equal(render(low, seconds), plain)


def test_intensity_zero_is_the_image_without_bloom(
    gl_context: moderngl.Context, render: Callable[..., Frame]
) -> None:
    seconds = Fraction(31, FPS)
    zero = orb_project(bloom={"intensity": 0, "levels": 3, "radius": 0.2})
    with FrameRenderer(gl_context, zero, *SIZE) as renderer:
        assert renderer.bloom is None, "no bloom pass is built for intensity 0"
        frame = as_image(renderer.render_at(seconds), *SIZE).copy()
        hdr = np.frombuffer(renderer.scene_pass.output.texture.read(), dtype=np.float16)
    # the scene alone, tone-mapped and encoded by the reference
    scene = hdr.reshape(SIZE[1], SIZE[0], 4).astype(np.float32)
    expected = reference.encode(scene[..., :3], zero.visualizer)
    assert np.abs(frame.astype(int) - expected.astype(int)).max() <= 1
    # the same as a bloom that lets nothing through, byte for byte
    nothing = orb_project(bloom={"intensity": 2.0, "luminanceThreshold": 100})
    assert np.array_equal(render(nothing, seconds), frame)
    assert not np.array_equal(render(orb_project(bloom={"intensity": 2.0}), seconds), frame)


# --- time -------------------------------------------------------------------------------------


def test_a_note_on_changes_the_frame(gl_context: moderngl.Context) -> None:
    """Before the note nothing moves (camera still); the first frame after its start differs."""
    with FrameRenderer(gl_context, orb_project(), *SIZE) as renderer:
        before = [renderer.render_at(Fraction(i, FPS)) for i in (27, 28, 29)]
        after = renderer.render_at(Fraction(31, FPS))
    assert before[0] == before[1] == before[2]
    assert after != before[2]
    glow_before = footprint(as_image(before[2], *SIZE)).sum()
    glow_after = footprint(as_image(after, *SIZE)).sum()
    assert glow_after > glow_before, "the orb grows and glows with the note"


def frame_times(indices: range | list[int]) -> list[Fraction]:
    return [Fraction(i, FPS) for i in indices]


RENDER_ONE_FRAME = """
import hashlib, sys
from fractions import Fraction
from common.format.compat import CURRENT_POSTPROCESSING
from common.format.validation import load_project_file, parse_project, read_json_file
from farm_worker.gl import create_context
from farm_worker.renderer import FrameRenderer
ctx = create_context()
renderer = FrameRenderer(ctx, load_project_file(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
print(hashlib.sha256(renderer.render_at(Fraction(int(sys.argv[4]), int(sys.argv[5])))).hexdigest())
"""


def test_frame_is_the_same_alone_in_a_range_in_any_order_and_in_another_process(
    gl_context: moderngl.Context,
) -> None:
    demo = load_project_file(DEMO)
    with FrameRenderer(gl_context, demo, *SIZE) as renderer:
        in_order = list(renderer.render_times(frame_times(range(10))))
        backwards = list(renderer.render_times(frame_times(range(9, -1, -1))))[::-1]
    with FrameRenderer(gl_context, demo, *SIZE) as fresh:
        alone = fresh.render_at(Fraction(7, FPS))
    assert len(set(in_order)) > 1, "the demo moves"
    assert in_order == backwards
    assert alone == in_order[7]
    command = [sys.executable, "-c", RENDER_ONE_FRAME, str(DEMO), *map(str, (*SIZE, 7, FPS))]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == hashlib.sha256(alone).hexdigest()


@pytest.mark.parametrize("seconds", [Fraction(1, 2), Fraction(2), Fraction(5), Fraction(15, 2)])
def test_demo_frames_are_not_black(render: Callable[..., Frame], seconds: Fraction) -> None:
    frame = render(load_project_file(DEMO), seconds)
    assert frame.mean() > np.mean(BACKGROUND_RGB) + 1
    assert frame.max() >= 200, "something bright is on screen"
    assert footprint(frame).mean() > 0.01


def test_compat_postprocessing_decides_the_bloom(render: Callable[..., Frame]) -> None:
    """compat.postprocessing < 6.37.7 selects the old luminance (rgb * clamp(mask * L)): on the
    demo, whose threshold (0.2) lets dim light bloom, its frames are darker; 6.37.7 is current."""
    data = read_json_file(DEMO, "project")
    frames = {}
    for release in ("6.37.6", "6.37.7", CURRENT_POSTPROCESSING):
        frames[release] = render(parse_project({**data, "compat": {"postprocessing": release}}), 1)
    old, new = frames["6.37.6"].astype(float), frames[CURRENT_POSTPROCESSING].astype(float)
    assert new.sum() > 1.05 * old.sum()
    assert (new >= old - 1).all(), "the new mask never passes less light"
    assert np.abs(frames["6.37.7"].astype(int) - new).max() <= 1  # only the outer weight moved
    assert (render(load_project_file(DEMO), 1) == frames[CURRENT_POSTPROCESSING]).all()


# --- sizes and GL hygiene ---------------------------------------------------------------------


def gl_limit(ctx: moderngl.Context) -> int:
    return min(int(ctx.info["GL_MAX_TEXTURE_SIZE"]), int(ctx.info["GL_MAX_RENDERBUFFER_SIZE"]))


@pytest.mark.parametrize(
    ("size", "field"),
    [
        (lambda limit: (max(20000, limit + 1), 100), "width"),
        (lambda limit: (100, limit + 1), "height"),
        (lambda limit: (0, 100), "width"),
    ],
    ids=["20000-wide", "too-tall", "zero-wide"],
)
def test_sizes_beyond_the_gl_limit_are_refused(
    gl_context: moderngl.Context, size: Callable[[int], tuple[int, int]], field: str
) -> None:
    limit = gl_limit(gl_context)
    width, height = size(limit)
    with pytest.raises(LimitExceeded) as caught:
        FrameRenderer(gl_context, orb_project(), width, height)
    assert [issue.path for issue in caught.value.issues] == [field]
    message = str(caught.value)
    assert field in message
    assert str(limit) in message
    assert str(width if field == "width" else height) in message


def test_msaa_defaults_to_react_postprocessing_current_samples(
    gl_context: moderngl.Context,
) -> None:
    """<EffectComposer multisampling> is 4 from @react-three/postprocessing 3.2.0 (8 before)."""
    assert R3F_MULTISAMPLING == 4
    with FrameRenderer(gl_context, load_project_file(DEMO), 32, 18) as r:
        assert r.scene_pass.samples == min(4, gl_context.max_samples)


def test_a_one_pixel_frame_renders(gl_context: moderngl.Context) -> None:
    """The smallest size is valid: 1 x 1, mips of 1 x 1 all the way down."""
    with FrameRenderer(gl_context, orb_project(), 1, 1) as renderer:
        assert len(renderer.render_at(Fraction(1))) == 3
    assert gl_context.error == "GL_NO_ERROR"


GL_KINDS: dict[str, type[Any]] = {
    "texture": moderngl.Texture,
    "framebuffer": moderngl.Framebuffer,
    "renderbuffer": moderngl.Renderbuffer,
    "depth_renderbuffer": moderngl.Renderbuffer,
    "buffer": moderngl.Buffer,
    "vertex_array": moderngl.VertexArray,
    "program": moderngl.Program,
}


@pytest.fixture
def gl_objects(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts GL objects made through moderngl.Context ("made") and released ("released")."""
    counts: Counter[str] = Counter()

    def counting(original: Callable[..., Any], key: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[key] += 1
            return original(*args, **kwargs)

        return wrapper

    for method in GL_KINDS:
        monkeypatch.setattr(
            moderngl.Context, method, counting(getattr(moderngl.Context, method), "made")
        )
    for cls in set(GL_KINDS.values()):
        monkeypatch.setattr(cls, "release", counting(cls.release, "released"))
    return counts


def test_rendering_frames_does_not_grow_gl_objects(
    gl_context: moderngl.Context, gl_objects: Counter[str]
) -> None:
    """50 demo frames twice: the second pass creates nothing; release() frees everything."""
    gl_context.error  # noqa: B018  (reading glGetError clears a stale error)
    times = frame_times(range(0, 250, 5))  # 50 frames over the 16 beats
    renderer = FrameRenderer(gl_context, load_project_file(DEMO), 64, 36)
    built = gl_objects["made"]
    assert built > 0, "the counting hooks see the renderer's objects"
    for _ in renderer.render_times(times):
        pass
    first = gl_objects["made"] - gl_objects["released"]
    assert first == built, "growing a buffer releases the old one"
    made = gl_objects["made"]
    for _ in renderer.render_times(times):
        pass
    assert gl_objects["made"] == made, "the same frames again allocate nothing"
    assert gl_context.error == "GL_NO_ERROR"
    renderer.release()
    assert gl_objects["made"] == gl_objects["released"], "release() frees every object"


# --- golden frames ----------------------------------------------------------------------------

GOLDEN_MEAN_ABS = 0.5
GOLDEN_P99 = 8


@pytest.mark.parametrize("name", list(make_golden.CASES))
def test_matches_golden_frame(gl_context: moderngl.Context, name: str) -> None:
    """Regenerate with ``.venv/bin/python tests/farm_worker/make_golden.py`` after a wanted change.

    Tolerant of another driver (NVIDIA vs llvmpipe: other rounding, antialiasing and pow), not of
    a different look: mean |diff| < 0.5 levels and 99th percentile < 8 levels.
    """
    from PIL import Image

    with Image.open(make_golden.golden_path(name)) as png:
        golden = np.asarray(png.convert("RGB"))
    frame = make_golden.render_case(gl_context, name)
    assert frame.shape == golden.shape
    diff = np.abs(frame.astype(np.int16) - golden.astype(np.int16))
    assert footprint(golden).mean() > 0.01, "the golden frame shows something"
    assert diff.mean() < GOLDEN_MEAN_ABS, f"mean |diff| {diff.mean():.3f}"
    assert np.percentile(diff, 99) < GOLDEN_P99, f"99th percentile {np.percentile(diff, 99)}"
