"""The GL bloom and output passes agree with the numpy model of the sources (``reference.py``).

Small HDR images (bright blobs of 1.5..10 over dim parts below the threshold) are uploaded with
``upload_hdr`` and run through ``FrameRenderer.post_process``; the bytes are compared with
``reference.post_process``.

Tolerances, and why:
- Final 8-bit frames: every channel within 2 levels of the reference, and at most 0.5% of the
  channel values more than 1 level off. The GPU's pow/log2/exp2 and the order of its float32
  operations differ from numpy's, and llvmpipe rounds float32 to half toward zero when it writes
  an RGBA16F target (the reference rounds to nearest), which moves values that sit near a
  rounding boundary by one level, mostly down; 2 leaves room for another driver's 8-bit
  bilinear weights. llvmpipe: max 1 level, ~4% of values 1 level off, none more.
- The half-resolution bloom texture: ``|gl - ref| <= 2e-3 + 1/128 * |ref|`` per value. The
  reference rounds each of up to 16 passes to float16, as postprocessing's HalfFloat targets do
  (a relative step of up to 2^-10 each); the GL targets are RGBA32F (``INTERMEDIATE_DTYPE`` in
  bloom.py), so the difference is that rounding.

Mip chains whose downsample sources have an even size put taps exactly on the texture border;
the shader decides those in integers, so they are kept as the pmndrs source keeps them (see
``test_downsample_keeps_taps_exactly_on_the_border``) and even sizes are compared with the same
tolerances as odd ones. Every weight is >= 0, so the GPU result also lies between the reference
that drops all ties and the one that keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np
import numpy.typing as npt
import pytest

from common.format.compat import CURRENT_POSTPROCESSING, parse_release
from common.format.project import PmndrsBloom, Project
from farm_worker.bloom import MipmapBloom, PostprocessingFormulas
from farm_worker.renderer import FrameRenderer, upload_hdr
from tests.factories import project
from tests.farm_worker import reference

MAX_LEVELS_OFF = 2
SHARE_MORE_THAN_ONE_OFF = 0.005
BLOOM_ATOL = 2e-3
BLOOM_RTOL = 1 / 128


@dataclass(frozen=True)
class Case:
    size: tuple[int, int]
    tone_mapping: str = "none"
    exposure: float = 1.0
    intensity: float = 1.5
    threshold: float = 1.0
    smoothing: float = 0.03
    radius: float = 0.85
    levels: int = 4
    postprocessing: str = CURRENT_POSTPROCESSING  # compat.postprocessing

    @property
    def id(self) -> str:
        w, h = self.size
        return (
            f"{w}x{h}-{self.tone_mapping}-e{self.exposure}-i{self.intensity}-t{self.threshold}"
            f"-s{self.smoothing}-r{self.radius}-L{self.levels}-pp{self.postprocessing}"
        )

    @property
    def formulas(self) -> PostprocessingFormulas:
        return PostprocessingFormulas.of(parse_release(self.postprocessing))

    def project(self) -> Project:
        return project(
            visualizer={
                "background": "#000000",
                "toneMapping": self.tone_mapping,
                "exposure": self.exposure,
                "bloom": {
                    "intensity": self.intensity,
                    "luminanceThreshold": self.threshold,
                    "luminanceSmoothing": self.smoothing,
                    "radius": self.radius,
                    "levels": self.levels,
                },
            },
            compat={"postprocessing": self.postprocessing},
        )

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


ODD = (33, 17)  # 33/17 -> 17/9 -> 9/5 -> 5/3 -> 3/2: no border ties up to 4 levels
ODD_DEEP = (257, 257)  # odd sources for 8 levels (257, 129, 65, 33, 17, 9, 5, 3)
EVEN = (40, 30)

TONE_CASES = [
    Case(ODD, "none"),
    *(
        Case(ODD, mode, exposure)
        for mode in ("aces", "agx", "neutral", "reinhard", "cineon", "linear")
        for exposure in (1.0, 0.45, 2.5)
    ),
]
BLOOM_CASES = [
    Case(ODD if levels < 8 else ODD_DEEP, levels=levels, radius=radius)
    for levels in (1, 3, 8)
    for radius in (0.0, 0.85, 1.0)
]
THRESHOLD_CASES = [
    Case(ODD, threshold=0.0, smoothing=0.0),
    Case(ODD, threshold=0.0, smoothing=0.3),
    Case(ODD, threshold=0.5, smoothing=0.5),
    Case(ODD, threshold=2.5, smoothing=1.0),
    Case(ODD, threshold=0.0, smoothing=0.0, tone_mapping="aces", intensity=0.35),
    Case(ODD, intensity=4.0, tone_mapping="agx", exposure=0.8),
    Case((65, 33), threshold=0.2, smoothing=0.025, levels=3, tone_mapping="neutral"),
]
EVEN_CASES = [
    *(Case(EVEN, threshold=0.0, smoothing=0.0, levels=levels) for levels in (1, 3, 8)),
    Case(EVEN, tone_mapping="reinhard", exposure=0.7, threshold=0.2, smoothing=0.1, levels=8),
    Case((64, 36), threshold=0.0, smoothing=0.3, radius=1.0, levels=5),
]
COMPAT_CASES = [
    # 6.37.6: the old luminance formula; 6.38.2: the new one with the old outer weight
    *(Case(ODD, threshold=0.5, smoothing=0.5, postprocessing=pp) for pp in ("6.37.6", "6.38.2")),
    Case(EVEN, threshold=0.0, smoothing=0.0, levels=8, postprocessing="6.37.2"),
]
ALL_CASES = TONE_CASES + BLOOM_CASES + THRESHOLD_CASES + EVEN_CASES + COMPAT_CASES


def hdr_image(size: tuple[int, int], seed: int) -> npt.NDArray[np.float32]:
    """Dim noise (0..0.4, below the default threshold) plus a few gaussian blobs peaking 1.5..10."""
    width, height = size
    rng = np.random.default_rng(seed)
    image = rng.uniform(0.0, 0.4, (height, width, 3))
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(4):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        sigma = rng.uniform(1.5, 4.0) * max(1.0, width / 40)
        peak = rng.uniform(1.5, 10.0)
        colour = rng.uniform(0.3, 1.0, 3)
        blob = peak * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
        image += blob[..., None] * colour
    return image.astype(np.float32)


@pytest.fixture
def renderer_for(gl_context: moderngl.Context) -> Iterator[Any]:
    made: list[FrameRenderer] = []

    def make(case: Case) -> FrameRenderer:
        renderer = FrameRenderer(gl_context, case.project(), *case.size, samples=0)
        made.append(renderer)
        return renderer

    yield make
    for renderer in made:
        renderer.release()


def assert_bytes_close(actual: npt.NDArray[np.uint8], expected: npt.NDArray[np.uint8]) -> None:
    assert actual.shape == expected.shape
    off = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    worst = np.unravel_index(int(off.argmax()), off.shape)
    assert off.max() <= MAX_LEVELS_OFF, (
        f"max {off.max()} levels off at (row, column, channel) {worst}: "
        f"GL {actual[worst[:2]]} vs reference {expected[worst[:2]]}"
    )
    assert (off > 1).mean() <= SHARE_MORE_THAN_ONE_OFF, f"{(off > 1).mean():.2%} > 1 level off"


def read_rgba16f(texture: moderngl.Texture) -> npt.NDArray[np.float32]:
    """An RGBA float target (half or single precision) as float32."""
    dtype = np.float16 if texture.dtype == "f2" else np.float32
    data = np.frombuffer(texture.read(), dtype=dtype)
    return data.reshape(texture.height, texture.width, 4).astype(np.float32)


@pytest.mark.parametrize("case", [c.param() for c in ALL_CASES])
def test_post_process_matches_reference(
    gl_context: moderngl.Context, renderer_for: Any, case: Case
) -> None:
    image = hdr_image(case.size, seed=sum(case.size))
    renderer = renderer_for(case)
    source = upload_hdr(gl_context, image)
    try:
        frame = np.frombuffer(renderer.post_process(source), dtype=np.uint8)
    finally:
        source.release()
    width, height = case.size
    expected = reference.post_process(image, case.project().visualizer, formulas=case.formulas)
    assert_bytes_close(frame.reshape(height, width, 3), expected)
    assert gl_context.error == "GL_NO_ERROR"


@pytest.mark.parametrize(
    "case", [c.param() for c in BLOOM_CASES + THRESHOLD_CASES + EVEN_CASES + COMPAT_CASES]
)
def test_bloom_texture_matches_reference(
    gl_context: moderngl.Context, renderer_for: Any, case: Case
) -> None:
    """The half-resolution texture MipmapBloom.render returns, within half-float rounding."""
    image = hdr_image(case.size, seed=sum(case.size))
    renderer = renderer_for(case)
    assert isinstance(renderer.bloom, MipmapBloom)
    source = upload_hdr(gl_context, image)
    try:
        actual = read_rgba16f(renderer.bloom.render(source))
    finally:
        source.release()
    settings = case.project().visualizer.bloom
    assert isinstance(settings, PmndrsBloom)
    expected = reference.bloom_texture(image, settings, formulas=case.formulas)
    assert actual.shape == expected.shape
    assert expected[..., :3].max() > 0.05, "the case should produce some bloom"
    error = np.abs(actual - expected) - (BLOOM_ATOL + BLOOM_RTOL * np.abs(expected))
    worst = np.unravel_index(int(error.argmax()), error.shape)
    assert error.max() <= 0, (
        f"bloom texel {worst} is {actual[worst]} on the GPU, {expected[worst]} in the reference"
    )


def render_both(
    gl_context: moderngl.Context, renderer: FrameRenderer, image: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """The final frame (top row first) and the bloom texture of one HDR image."""
    assert isinstance(renderer.bloom, MipmapBloom)
    source = upload_hdr(gl_context, image)
    try:
        frame = np.frombuffer(renderer.post_process(source), dtype=np.uint8)
        bloom = read_rgba16f(renderer.bloom.render(source))
    finally:
        source.release()
    return frame.reshape(renderer.height, renderer.width, 3), bloom


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in EVEN_CASES])
def test_even_sizes_lie_between_dropping_and_keeping_border_ties(
    gl_context: moderngl.Context, renderer_for: Any, case: Case
) -> None:
    """Whatever the driver does with taps exactly on the border, nothing else may be off."""
    assert reference.border_ties(case.size, case.levels)
    image = hdr_image(case.size, seed=sum(case.size))
    frame, bloom = render_both(gl_context, renderer_for(case), image)
    visualizer = case.project().visualizer
    settings = visualizer.bloom
    assert isinstance(settings, PmndrsBloom)
    low = reference.bloom_texture(image, settings, ties="out")
    high = reference.bloom_texture(image, settings, ties="in")
    assert (high >= low).all()
    slack = BLOOM_ATOL + BLOOM_RTOL * high
    assert (bloom >= low - slack).all(), f"bloom below the no-ties bound by {(low - bloom).max()}"
    assert (bloom <= high + slack).all(), f"bloom above the ties bound by {(bloom - high).max()}"
    if visualizer.tone_mapping in ("none", "reinhard"):  # monotone per channel
        below = reference.post_process(image, visualizer, ties="out").astype(np.int16)
        above = reference.post_process(image, visualizer, ties="in").astype(np.int16)
        actual = frame.astype(np.int16)
        assert (actual >= below - MAX_LEVELS_OFF).all()
        assert (actual <= above + MAX_LEVELS_OFF).all()


@pytest.mark.parametrize("release", [CURRENT_POSTPROCESSING, "6.37.7", "6.37.6"])
def test_luminance_pass_matches_reference(
    gl_context: moderngl.Context, renderer_for: Any, release: str
) -> None:
    """Step 1 alone. From 6.37.7: texel * smoothstep(t, t + s, L). Before: rgb * clamp(l, 0, 1)
    and alpha l, with l = smoothstep(t, t + s, L) * L."""
    case = Case(ODD, threshold=0.5, smoothing=0.5, levels=1, postprocessing=release)
    image = hdr_image(case.size, seed=5)
    bloom = renderer_for(case).bloom
    source = upload_hdr(gl_context, image)
    try:
        bloom.render(source)
    finally:
        source.release()
    actual = read_rgba16f(bloom.luminance_target.texture)
    legacy = case.formulas.legacy_luminance
    assert legacy == (release == "6.37.6")
    expected = reference.luminance_pass(reference.half(image), 0.5, 0.5, legacy=legacy)
    np.testing.assert_allclose(actual, expected, rtol=2**-10, atol=2**-14)
    if legacy:
        assert (expected[..., 3] > 1).any(), "alpha is the unclamped l"
    else:
        assert (expected[..., :3] > 1).any(), "bright texels pass unscaled"


def test_mip_chain_sizes_follow_math_round(renderer_for: Any) -> None:
    """MipmapBlurPass: levels downsamples of Math.round(size / 2), max(levels - 1, 1) upsamples."""
    bloom = renderer_for(Case((33, 17), levels=8)).bloom
    assert [t.size for t in bloom.down] == [
        (17, 9),
        (9, 5),
        (5, 3),
        (3, 2),
        (2, 1),
        (1, 1),
        (1, 1),
        (1, 1),
    ]
    assert [t.size for t in bloom.up] == [t.size for t in bloom.down[:7]]
    single = renderer_for(Case((33, 17), levels=1)).bloom
    assert [t.size for t in single.up] == [(17, 9)]


def test_downsample_keeps_taps_exactly_on_the_border(
    gl_context: moderngl.Context, renderer_for: Any
) -> None:
    """An even-sized source puts the (+-1, +-1) taps of edge pixels exactly on uv = 0 or 1.

    ``clampToBorder`` keeps them (``uv >= 0.0 && uv <= 1.0``), so with light only in the outer
    ring of texels every edge pixel of the first mip gets the two inner taps on that side. The
    GL shader computes ``vUv + texelSize * offset`` in float32 from an interpolated ``vUv``, so
    whether such a tap lands on 0 or just below it is up to the rasteriser: on llvmpipe the
    bottom row of a 40x30 source loses both taps (0.25 of its light) while the top row keeps
    them. A fix that follows the sources exactly: decide the test in integers, inside when
    ``0 <= (2i + 1) * Ws + 2k * Wd <= 2 * Wd * Ws`` with ``i = ivec2(gl_FragCoord.xy)``,
    ``Ws = textureSize(inputBuffer, 0)``, ``Wd = (Ws + 1) / 2`` and offset ``k``.
    """
    width, height = EVEN
    image = np.zeros((height, width, 3), dtype=np.float32)
    image[0, :] = image[-1, :] = image[:, 0] = image[:, -1] = 0.8  # luminance 0.8, no threshold
    case = Case(EVEN, threshold=0.0, smoothing=0.0, levels=1)
    bloom = renderer_for(case).bloom
    source = upload_hdr(gl_context, image)
    try:
        bloom.render(source)
    finally:
        source.release()
    actual = read_rgba16f(bloom.down[0].texture)[..., 0]
    luminance = reference.luminance_pass(image, 0.0, 0.0)
    expected = reference.downsample(luminance, bloom.down[0].size)[..., 0]
    wrong = ~np.isclose(actual, expected, rtol=2**-9, atol=2**-12)
    assert not wrong.any(), (
        f"first mip of {EVEN}: (row, column) {np.argwhere(wrong).tolist()} (row 0 = bottom) are "
        f"{actual[wrong]} on the GPU, {expected[wrong]} with the border taps kept"
    )
