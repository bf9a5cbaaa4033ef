"""A numpy model of the renderer's post-processing, written from the sources, not from the GLSL.

It follows pmndrs/postprocessing (luminance.frag, MipmapBlurPass.js,
convolution.downsampling/upsampling.frag, bloom.frag with BlendFunction.ADD; 6.39.6 by default,
the formulas of an older release through ``PostprocessingFormulas``) and three.js
(tonemapping_pars_fragment, colorspace_pars_fragment's sRGBTransferOETF), as quoted in
/work/shared/RENDERING.md and the bloom research notes. It mirrors what the GPU does with the
data: float32 arithmetic, RGBA16F render targets (every intermediate image is rounded to
float16), GL ``texture()`` with LINEAR filtering and CLAMP_TO_EDGE, sample positions at pixel
centres ``vUv = (pixel + 0.5) / size``, and the final 8-bit rounding ``floor(c * 255 + 0.5)``.

Images are float32 arrays ``(height, width, channels)`` in GL row order (row 0 is the bottom),
except the final 8-bit frame, which is top row first like ``FrameRenderer``'s bytes.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from common.format.compat import CURRENT_POSTPROCESSING, parse_release
from common.format.project import PmndrsBloom, Visualizer
from farm_worker.bloom import PostprocessingFormulas, mip_sizes

Image = npt.NDArray[np.float32]
ToneMapping = Literal["none", "aces", "agx", "neutral", "reinhard", "cineon", "linear"]
Ties = Literal["in", "out"]

F32 = np.float32
LUMINANCE_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], dtype=F32)  # three's luminance(), sRGB
CURRENT = PostprocessingFormulas.of(parse_release(CURRENT_POSTPROCESSING))
WEIGHT_INNER = F32(0.125)
INNER_TAPS = ((-1.0, 1.0), (1.0, 1.0), (-1.0, -1.0), (1.0, -1.0))
OUTER_TAPS: tuple[tuple[float, float], ...] = (
    (-2.0, 2.0),
    (0.0, 2.0),
    (2.0, 2.0),
    (-2.0, 0.0),
    (2.0, 0.0),
    (-2.0, -2.0),
    (0.0, -2.0),
    (2.0, -2.0),
)


def downsample_taps(weight_outer: np.float32) -> tuple[tuple[float, float, np.float32], ...]:
    """(dx, dy, weight) in texels of the source, in convolution.downsampling.frag's order."""
    inner = tuple((dx, dy, WEIGHT_INNER) for dx, dy in INNER_TAPS)
    return inner + tuple((dx, dy, weight_outer) for dx, dy in OUTER_TAPS)


UPSAMPLE_TAPS: tuple[tuple[float, float, np.float32], ...] = (
    # convolution.upsampling.frag: a 3x3 tent in texels of the (smaller) input
    (-1.0, 1.0, F32(0.0625)),
    (0.0, 1.0, F32(0.125)),
    (1.0, 1.0, F32(0.0625)),
    (-1.0, 0.0, F32(0.125)),
    (0.0, 0.0, F32(0.25)),
    (1.0, 0.0, F32(0.125)),
    (-1.0, -1.0, F32(0.0625)),
    (0.0, -1.0, F32(0.125)),
    (1.0, -1.0, F32(0.0625)),
)


def f32(values: Any) -> Image:
    """``values`` as a float32 array (also pins numpy's loosely typed results for mypy)."""
    return np.asarray(values, dtype=F32)


def half(image: npt.NDArray[np.floating]) -> Image:
    """What an RGBA16F render target stores: each value rounded to float16."""
    return image.astype(np.float16).astype(F32)


def pixel_centres(size: tuple[int, int]) -> tuple[Image, Image]:
    """``vUv`` at every pixel centre of a ``(width, height)`` target, as (u, v) grids (h, w)."""
    width, height = size
    u = (np.arange(width, dtype=F32) + F32(0.5)) / F32(width)
    v = (np.arange(height, dtype=F32) + F32(0.5)) / F32(height)
    return np.broadcast_to(u[None, :], (height, width)), np.broadcast_to(
        v[:, None], (height, width)
    )


def sample(texture: Image, u: Image, v: Image) -> Image:
    """GL ``texture()`` with LINEAR min/mag filter and CLAMP_TO_EDGE (no mipmaps)."""
    height, width = texture.shape[:2]
    x = u * F32(width) - F32(0.5)
    y = v * F32(height) - F32(0.5)
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    i0 = np.clip(x0.astype(np.int64), 0, width - 1)
    i1 = np.clip(x0.astype(np.int64) + 1, 0, width - 1)
    j0 = np.clip(y0.astype(np.int64), 0, height - 1)
    j1 = np.clip(y0.astype(np.int64) + 1, 0, height - 1)
    one = F32(1.0)
    bottom = texture[j0, i0] * (one - fx) + texture[j0, i1] * fx
    top = texture[j1, i0] * (one - fx) + texture[j1, i1] * fx
    return f32(bottom * (one - fy) + top * fy)


def smoothstep(edge0: float, edge1: float, x: Image) -> Image:
    t = np.clip((x - F32(edge0)) / F32(edge1 - edge0), 0.0, 1.0).astype(F32)
    return f32(t * t * (F32(3.0) - F32(2.0) * t))


def luminance_pass(
    image: Image, threshold: float, smoothing: float, *, legacy: bool = False
) -> Image:
    """luminance.frag with COLOR (and THRESHOLD when threshold or smoothing > 0): RGBA16F.

    6.37.7+: ``texel * mask``; ``legacy`` (6.37.2-6.37.6):
    ``vec4(rgb * clamp(mask * L), mask * L)``.
    """
    rgba = np.ones((*image.shape[:2], 4), dtype=F32)
    rgba[..., : image.shape[2]] = image[..., :4]
    rgb = rgba[..., :3]
    lum = (rgb @ LUMINANCE_WEIGHTS).astype(F32)
    mask = np.ones_like(lum)
    if threshold > 0 or smoothing > 0:
        mask = smoothstep(threshold, threshold + smoothing, lum)
    if not legacy:
        return half(rgba * mask[..., None])
    lum = mask * lum
    out = np.empty((*image.shape[:2], 4), dtype=F32)
    out[..., :3] = rgb * np.clip(lum, 0.0, 1.0)[..., None]
    out[..., 3] = lum
    return half(out)


def _convolve(
    source: Image,
    size: tuple[int, int],
    taps: tuple[tuple[float, float, np.float32], ...],
    border: Ties | None,
) -> Image:
    """Sum of weighted taps at ``vUv + texelSize * offset``; texelSize is 1 / source size.

    ``border`` (the downsample's clampToBorder) zeroes taps outside [0, 1]; None keeps all.
    """
    u, v = pixel_centres(size)
    texel_u = F32(1.0 / source.shape[1])
    texel_v = F32(1.0 / source.shape[0])
    total = np.zeros((size[1], size[0], source.shape[2]), dtype=F32)
    for dx, dy, weight in taps:
        tu = (u + texel_u * F32(dx)).astype(F32)
        tv = (v + texel_v * F32(dy)).astype(F32)
        w = np.full(tu.shape, weight, dtype=F32)
        if border is not None:  # no renormalisation of the taps left
            w = w * inside(size, (source.shape[1], source.shape[0]), (dx, dy), border)
        total += w[..., None] * sample(source, tu, tv)
    return total


def inside(
    size: tuple[int, int], source: tuple[int, int], offset: tuple[float, float], ties: Ties
) -> npt.NDArray[np.bool_]:
    """clampToBorder(vUv + offset / source) for every pixel of a ``size`` target, exactly.

    ``(i + 0.5) / Wd + k / Ws`` lies in [0, 1] exactly when ``0 <= (2i + 1) Ws + 2k Wd <= 2 Wd Ws``
    (integers). The shader's ``uv >= 0.0 && uv <= 1.0`` keeps taps that land exactly on the border
    (``ties="in"``, the sources' meaning); ``ties="out"`` drops them, for bounding what a driver
    that rounds ``vUv`` the other way computes.
    """
    (wd, hd), (ws, hs) = size, source
    x = (2 * np.arange(wd, dtype=np.int64) + 1) * ws + 2 * int(offset[0]) * wd
    y = (2 * np.arange(hd, dtype=np.int64) + 1) * hs + 2 * int(offset[1]) * hd
    if ties == "in":
        ok_x, ok_y = (x >= 0) & (x <= 2 * wd * ws), (y >= 0) & (y <= 2 * hd * hs)
    else:
        ok_x, ok_y = (x > 0) & (x < 2 * wd * ws), (y > 0) & (y < 2 * hd * hs)
    return ok_y[:, None] & ok_x[None, :]


def border_ties(size: tuple[int, int], levels: int) -> bool:
    """Whether a mip chain has downsample taps exactly on the border: an even source size.

    With an odd source size ``(2i + 1) Ws + 2k Wd`` is odd, never 0 nor ``2 Wd Ws``; with an even
    one the (+-1) taps of the edge pixels land exactly on uv = 0 or 1.
    """
    sources = [size, *mip_sizes(size, levels)[:-1]]
    return any(w % 2 == 0 or h % 2 == 0 for w, h in sources)


def downsample(
    source: Image,
    size: tuple[int, int],
    ties: Ties = "in",
    formulas: PostprocessingFormulas = CURRENT,
) -> Image:
    """convolution.downsampling.frag (13 taps, clampToBorder) into a ``size`` RGBA16F target."""
    weight_outer = F32(float(formulas.weight_outer))
    total = _convolve(source, size, downsample_taps(weight_outer), border=ties)
    u, v = pixel_centres(size)
    total += weight_outer * sample(source, u, v)  # the centre tap, never outside
    return half(total)


def upsample(previous: Image, support: Image, radius: float) -> Image:
    """convolution.upsampling.frag: mix(support, tent(previous), radius), at the support's size."""
    size = (support.shape[1], support.shape[0])
    tent = _convolve(previous, size, UPSAMPLE_TAPS, border=None)
    u, v = pixel_centres(size)
    base = sample(support, u, v)
    r = F32(radius)
    return half(base * (F32(1.0) - r) + tent * r)


def mipmap_blur(
    luminance: Image,
    levels: int,
    radius: float,
    ties: Ties = "in",
    formulas: PostprocessingFormulas = CURRENT,
) -> Image:
    """MipmapBlurPass.render: ``levels`` downsamples, then max(levels - 1, 1) upsamples."""
    sizes = mip_sizes((luminance.shape[1], luminance.shape[0]), levels)
    down = []
    previous = luminance
    for size in sizes:
        previous = downsample(previous, size, ties, formulas)
        down.append(previous)
    # up[i] = mix(down[i], tent(previous), radius) for i = len(up) - 1 .. 0, starting from the
    # smallest mip; len(up) = max(levels - 1, 1) (the output target up[0] always exists)
    for index in range(max(levels - 1, 1) - 1, -1, -1):
        previous = upsample(previous, down[index], radius)
    return previous  # up[0], half resolution


def bloom_texture(
    image: Image,
    bloom: PmndrsBloom,
    ties: Ties = "in",
    formulas: PostprocessingFormulas = CURRENT,
) -> Image:
    """The half-resolution RGBA texture ``MipmapBloom.render`` returns for an HDR ``image``.

    Every weight is >= 0, so for an image >= 0 the result only grows with each tap kept: whatever
    a driver does with border ties lies between ``ties="out"`` and ``ties="in"``.
    """
    luminance = luminance_pass(
        half(image),
        bloom.luminance_threshold,
        bloom.luminance_smoothing,
        legacy=formulas.legacy_luminance,
    )
    return mipmap_blur(luminance, bloom.levels, bloom.radius, ties, formulas)


def _matrix(*columns: tuple[float, float, float]) -> Image:
    """GLSL ``mat3(c0, c1, c2)`` (column-major) as the matrix M with ``rgb_row @ M == M * rgb``."""
    return np.array(columns, dtype=F32)


ACES_INPUT = _matrix(
    (0.59719, 0.07600, 0.02840), (0.35458, 0.90834, 0.13383), (0.04823, 0.01566, 0.83777)
)
ACES_OUTPUT = _matrix(
    (1.60475, -0.10208, -0.00327), (-0.53108, 1.10813, -0.07276), (-0.07367, -0.00605, 1.07602)
)
REC2020_TO_SRGB = _matrix(
    (1.6605, -0.1246, -0.0182), (-0.5876, 1.1329, -0.1006), (-0.0728, -0.0083, 1.1187)
)
SRGB_TO_REC2020 = _matrix(
    (0.6274, 0.0691, 0.0164), (0.3293, 0.9195, 0.0880), (0.0433, 0.0113, 0.8956)
)
AGX_INSET = _matrix(
    (0.856627153315983, 0.137318972929847, 0.11189821299995),
    (0.0951212405381588, 0.761241990602591, 0.0767994186031903),
    (0.0482516061458583, 0.101439036467562, 0.811302368396859),
)
AGX_OUTSET = _matrix(
    (1.1271005818144368, -0.1413297634984383, -0.14132976349843826),
    (-0.11060664309660323, 1.157823702216272, -0.11060664309660294),
    (-0.016493938717834573, -0.016493938717834257, 1.2519364065950405),
)
AGX_MIN_EV = -12.47393
AGX_MAX_EV = 4.026069


def _rrt_and_odt_fit(v: Image) -> Image:
    a = v * (v + F32(0.0245786)) - F32(0.000090537)
    b = v * (F32(0.983729) * v + F32(0.4329510)) + F32(0.238081)
    return (a / b).astype(F32)


def _agx_contrast(x: Image) -> Image:
    x2 = x * x
    x4 = x2 * x2
    return f32(
        F32(15.5) * x4 * x2
        - F32(40.14) * x4 * x
        + F32(31.96) * x4
        - F32(6.868) * x2 * x
        + F32(0.4298) * x2
        + F32(0.1191) * x
        - F32(0.00232)
    )


def _neutral(color: Image) -> Image:
    start = F32(0.8 - 0.04)
    desaturation = F32(0.15)
    x = color.min(axis=-1, keepdims=True)
    offset = np.where(x < F32(0.08), x - F32(6.25) * x * x, F32(0.04))
    color = color - offset
    peak = color.max(axis=-1, keepdims=True)
    d = F32(1.0) - start
    safe_peak = np.where(peak < start, F32(1.0), peak)  # the early return, without 0 / 0
    new_peak = F32(1.0) - d * d / (safe_peak + d - start)
    compressed = color * (new_peak / safe_peak)
    g = F32(1.0) - F32(1.0) / (desaturation * (safe_peak - new_peak) + F32(1.0))
    mixed = compressed * (F32(1.0) - g) + new_peak * g
    return np.where(peak < start, color, mixed).astype(F32)


def tone_map(color: Image, mode: ToneMapping, exposure: float) -> Image:
    """three.js tonemapping_pars_fragment (r166+) for the modes a project can ask for."""
    c = color.astype(F32)
    e = F32(exposure)
    if mode == "none":
        return c
    if mode == "linear":
        return f32(np.clip(e * c, 0.0, 1.0))
    if mode == "cineon":
        c = np.maximum(F32(0.0), c * e - F32(0.004))
        return f32(
            np.power(
                (c * (F32(6.2) * c + F32(0.5))) / (c * (F32(6.2) * c + F32(1.7)) + F32(0.06)),
                F32(2.2),
            )
        )
    if mode == "reinhard":
        c = c * e
        return np.clip(c / (F32(1.0) + c), 0.0, 1.0).astype(F32)
    if mode == "aces":
        c = c * (e / F32(0.6))
        c = _rrt_and_odt_fit((c @ ACES_INPUT).astype(F32))
        return f32(np.clip(c @ ACES_OUTPUT, 0.0, 1.0))
    if mode == "agx":
        c = f32((c * e) @ SRGB_TO_REC2020)
        c = np.maximum(c @ AGX_INSET, F32(1e-10))
        c = np.log2(c).astype(F32)
        c = (c - F32(AGX_MIN_EV)) / F32(AGX_MAX_EV - AGX_MIN_EV)
        c = _agx_contrast(np.clip(c, 0.0, 1.0).astype(F32))
        c = np.power(np.maximum(c @ AGX_OUTSET, F32(0.0)), F32(2.2))
        return f32(np.clip(c @ REC2020_TO_SRGB, 0.0, 1.0))
    if mode == "neutral":
        return _neutral(c * e)
    raise ValueError(mode)


def srgb_oetf(color: Image) -> Image:
    """three's sRGBTransferOETF, with its 0.41666 exponent (not 1 / 2.4)."""
    c = color.astype(F32)
    curve = np.power(np.maximum(c, F32(0.0)), F32(0.41666)) * F32(1.055) - F32(0.055)
    return np.where(c <= F32(0.0031308), c * F32(12.92), curve).astype(F32)


def quantise(color: Image) -> npt.NDArray[np.uint8]:
    """Clamp, then ``floor(c * 255 + 0.5)``: the 8-bit value the output pass writes."""
    return np.asarray(np.floor(np.clip(color, 0.0, 1.0) * F32(255.0) + F32(0.5)), dtype=np.uint8)


def composite(scene: Image, bloom: Image | None, intensity: float) -> Image:
    """bloom.frag + BlendFunction.ADD at opacity 1: scene + texture(bloom, uv).rgb * intensity."""
    rgb = half(scene)[..., :3]
    if bloom is None:
        return rgb
    u, v = pixel_centres((scene.shape[1], scene.shape[0]))
    return (rgb + sample(bloom, u, v)[..., :3] * F32(intensity)).astype(F32)


def encode(color: Image, visualizer: Visualizer) -> npt.NDArray[np.uint8]:
    """Tone mapping, sRGB, 8 bits, rows flipped to top-first: (height, width, 3) uint8."""
    mapped = tone_map(color, visualizer.tone_mapping, visualizer.exposure)
    srgb = np.clip(srgb_oetf(np.maximum(mapped, F32(0.0))), 0.0, 1.0)
    return quantise(srgb)[::-1].copy()


def post_process(
    image: Image,
    visualizer: Visualizer,
    ties: Ties = "in",
    formulas: PostprocessingFormulas = CURRENT,
) -> npt.NDArray[np.uint8]:
    """What ``FrameRenderer.post_process`` returns for an HDR image (GL row order), as an array."""
    settings = visualizer.bloom
    if not isinstance(settings, PmndrsBloom):
        raise TypeError("the reference models the pmndrs mipmap bloom only")
    bloom = bloom_texture(image, settings, ties, formulas) if settings.intensity > 0 else None
    return encode(composite(image, bloom, settings.intensity), visualizer)
