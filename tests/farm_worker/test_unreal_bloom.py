"""three.js UnrealBloomPass (examples/jsm/postprocessing/UnrealBloomPass.js, r186+) in GL.

The GL pass is checked against the numpy reference in ``unreal_reference.py``, and end to end
through ``FrameRenderer``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import moderngl
import numpy as np
import numpy.typing as npt
import pytest

from common.format.project import Project
from common.format.project import UnrealBloom as UnrealBloomSettings
from farm_worker.gl import create_context
from farm_worker.renderer import FrameRenderer, as_image, make_bloom, upload_hdr
from farm_worker.unreal_bloom import (
    UnrealBloom,
    gaussian_coefficients,
    merged_taps,
    unreal_mip_sizes,
)
from tests.factories import note, project, track
from tests.farm_worker import unreal_reference

RTOL = 2e-2
ATOL = 2e-2
BACKGROUND = 0.02
BRIGHT_SQUARES = (  # x, y (GL rows, bottom first), side, linear RGB: every one above threshold
    (6, 6, 6, (8.0, 8.0, 8.0)),
    (30, 10, 4, (2.0, 2.0, 2.0)),
    (44, 30, 8, (6.0, 1.0, 0.5)),
    (14, 32, 2, (0.5, 4.0, 3.0)),
    (22, 2, 4, (0.0, 1.3, 0.0)),  # luminance 0.93 (Rec.709, three's); 0.76 in Rec.601
)
DIM_PATCH = (34, 22, 6, (0.6, 0.6, 0.6))  # luminance 0.6: below every threshold used here
SETTINGS = (
    UnrealBloomSettings(mode="unreal", strength=1.5, radius=0.4, threshold=0.85),
    UnrealBloomSettings(mode="unreal", strength=0.7, radius=0.0, threshold=0.7),
    UnrealBloomSettings(mode="unreal", strength=2.0, radius=1.0, threshold=0.0),
)


@pytest.fixture(scope="module")
def ctx() -> Iterator[moderngl.Context]:
    context = create_context()
    yield context
    context.release()


def unbind(ctx: moderngl.Context) -> None:
    """Bind framebuffer 0 before releasing the bound target.

    moderngl re-binds the framebuffer bound before it when it creates one; if that one was
    released (glDeleteFramebuffers), the re-bind raises GL_INVALID_OPERATION, which ctx.error
    would then report against the next, innocent, test.
    """
    ctx.detect_framebuffer(0).use()


def hdr_image(width: int, height: int, *, dim_patch: bool = True) -> npt.NDArray[np.float32]:
    """A dark float HDR image, bright squares (up to 8) and one patch below every threshold."""
    image = np.full((height, width, 3), BACKGROUND, dtype=np.float32)
    squares = BRIGHT_SQUARES + ((DIM_PATCH,) if dim_patch else ())
    for x, y, side, colour in squares:
        image[y : y + side, x : x + side] = colour
    return image


def run_pass(
    ctx: moderngl.Context, image: npt.NDArray[np.float32], settings: UnrealBloomSettings
) -> npt.NDArray[np.float32]:
    """The GL pass's half-resolution composite as a (height, width, 3) float array."""
    source = upload_hdr(ctx, image)
    bloom = UnrealBloom(ctx, (image.shape[1], image.shape[0]), settings)
    try:
        texture = bloom.render(source)
        assert ctx.error == "GL_NO_ERROR"
        assert bloom.scale == 1.0
        width, height = texture.size
        dtype = np.float16 if texture.dtype == "f2" else np.float32
        data = np.frombuffer(texture.read(), dtype=dtype).reshape(height, width, 4)
        return data[..., :3].astype(np.float32)
    finally:
        unbind(ctx)
        bloom.release()
        source.release()


def test_mip_sizes_and_coefficients_follow_three() -> None:
    assert unreal_mip_sizes((64, 48)) == [(32, 24), (16, 12), (8, 6), (4, 3), (2, 2)]
    assert unreal_mip_sizes((51, 37)) == [(26, 19), (13, 10), (7, 5), (4, 3), (2, 2)]
    for kernel in (6, 10, 14, 18, 22):
        weights = gaussian_coefficients(kernel)
        assert len(weights) == kernel
        total = weights[0] + 2 * sum(weights[1:])  # the continuous pdf: about 1, not renormalised
        assert total == pytest.approx(1.0, abs=0.01)
        assert total != pytest.approx(1.0, abs=1e-6)
        offsets, pair_weights = merged_taps(kernel)  # r186+: the same taps, pairwise
        assert len(offsets) == kernel // 2
        assert sum(pair_weights) == pytest.approx(sum(weights[1:]), rel=1e-12)
        assert all(2 * i + 1 <= o <= 2 * i + 2 for i, o in enumerate(offsets))


@pytest.mark.parametrize("size", [(64, 48), (50, 38), (51, 37)])
@pytest.mark.parametrize(
    "settings", SETTINGS, ids=lambda s: f"s{s.strength}-r{s.radius}-t{s.threshold}"
)
def test_matches_numpy_reference(
    ctx: moderngl.Context, size: tuple[int, int], settings: UnrealBloomSettings
) -> None:
    """GL composite == numpy reference within |gl - ref| <= 2e-2 + 2e-2 * |ref| (half floats).

    The reference stores every pass in float16 (as three's targets) and samples each tap exactly;
    the GL pass keeps float32 intermediates (llvmpipe rounds float16 writes toward zero) and
    fetches merged tap pairs bilinearly (r186+), so what is left is rounding and the driver's
    filtering precision.
    """
    image = hdr_image(*size)
    actual = run_pass(ctx, image, settings).astype(np.float64)
    expected = unreal_reference.unreal_bloom(
        image, settings.strength, settings.radius, settings.threshold
    )
    assert actual.shape == expected.shape == (*reversed(unreal_mip_sizes(size)[0]), 3)
    assert expected.max() > 1.0  # the image does bloom
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def test_below_threshold_adds_nothing(ctx: moderngl.Context) -> None:
    settings = SETTINGS[0]
    with_patch = run_pass(ctx, hdr_image(64, 48), settings)
    without_patch = run_pass(ctx, hdr_image(64, 48, dim_patch=False), settings)
    np.testing.assert_array_equal(with_patch, without_patch)
    only_dim = np.full((48, 64, 3), 0.6, dtype=np.float32)
    assert not run_pass(ctx, only_dim, settings).any()


def bloom_project(**bloom: Any) -> Project:
    """One white orb (emission well above 1) sounding through the first 8 beats."""
    white = {"style": "orbs", "color": "#ffffff", "intensity": 4.0}
    return project(
        track("orb", "orbs", [note(0, 8, 60)], visual=white),
        visualizer={"background": "#05010f", "seed": 7, "bloom": {"mode": "unreal", **bloom}},
    )


def render(ctx: moderngl.Context, project: Project, size: tuple[int, int]) -> npt.NDArray[np.int64]:
    with FrameRenderer(ctx, project, *size, samples=0) as renderer:
        frame = as_image(renderer.render_at(0.5), *size).astype(np.int64)
        assert ctx.error == "GL_NO_ERROR"
        unbind(ctx)
    return frame


def test_strength_zero_adds_nothing(ctx: moderngl.Context) -> None:
    off = bloom_project(strength=0.0, radius=0.4, threshold=0.85)
    assert make_bloom(ctx, (96, 64), off) is None
    with FrameRenderer(ctx, off, 96, 64, samples=0) as renderer:
        assert renderer.bloom is None
        unbind(ctx)
    on = bloom_project(strength=1.5, radius=0.4, threshold=0.85)
    bloom = make_bloom(ctx, (96, 64), on)
    assert isinstance(bloom, UnrealBloom)
    bloom.release()


def test_frame_renderer_blooms_near_bright_objects(ctx: moderngl.Context) -> None:
    size = (96, 64)
    assert ctx.error == "GL_NO_ERROR"
    bloomed = render(ctx, bloom_project(strength=1.5, radius=0.4, threshold=0.85), size)
    plain = render(ctx, bloom_project(strength=0.0, radius=0.4, threshold=0.85), size)
    gain = bloomed - plain
    assert gain.min() >= 0  # bloom only adds light (no tone mapping here)

    lit = plain.max(axis=2) >= 250  # the orb, saturated without bloom
    assert lit.any()
    near = grow(lit, 3) & ~lit
    far = ~grow(lit, 24)
    assert near.any() and far.any()
    assert gain[near].mean() > 30
    assert gain[near].mean() > 3 * gain[far].mean()


def grow(mask: npt.NDArray[np.bool_], pixels: int) -> npt.NDArray[np.bool_]:
    """``mask`` dilated by ``pixels`` (a square neighbourhood)."""
    grown = mask.copy()
    for _ in range(pixels):
        grown[1:] |= grown[:-1].copy()
        grown[:-1] |= grown[1:].copy()
        grown[:, 1:] |= grown[:, :-1].copy()
        grown[:, :-1] |= grown[:, 1:].copy()
    return grown
