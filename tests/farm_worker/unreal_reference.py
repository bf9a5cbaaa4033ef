"""A numpy UnrealBloomPass to check the GL one against, written from the three.js source directly.

three.js examples/jsm/postprocessing/UnrealBloomPass.js and
examples/jsm/shaders/LuminosityHighPassShader.js of r182 and later (PR #31528's kernels, r181+, and
the ``3 * strength`` composite, r182+). r186+ merges taps i, i + 1 into one bilinear fetch at
their weighted offset, which in exact arithmetic is the same sum; this model takes every tap
exactly. Images are
(height, width, channels) arrays with rows bottom-first (GL order). ``texture()`` is modelled as GL
bilinear filtering with clamp to edge: x = u * width - 0.5, the two texels floor(x) and
floor(x) + 1 clamped to [0, width - 1], weighted by the fraction of x. Bilinear filtering is
separable, so each full-screen pass here is a pair of matrix products. Every pass's result is
rounded to float16, as the GL pass stores it in an RGBA16F target.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]

KERNEL_SIZES = (6, 10, 14, 18, 22)
BLOOM_FACTORS = (1.0, 0.8, 0.6, 0.4, 0.2)
REC709 = np.array([0.2126, 0.7152, 0.0722])


def js_round(value: float) -> int:
    """JavaScript Math.round: halves round up."""
    return math.floor(value + 0.5)


def sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The five mips: Math.round(size / 2), then Math.round(previous / 2)."""
    out = []
    for _ in KERNEL_SIZES:
        width, height = js_round(width / 2), js_round(height / 2)
        out.append((width, height))
    return out


def bilinear(coords: npt.NDArray[np.float64], size: int) -> Matrix:
    """Weights (len(coords), size) of GL linear filtering with clamp to edge at ``coords``."""
    x = coords * size - 0.5
    x0 = np.floor(x)
    frac = x - x0
    left = np.clip(x0.astype(np.int64), 0, size - 1)
    right = np.clip(x0.astype(np.int64) + 1, 0, size - 1)
    weights = np.zeros((len(coords), size))
    rows = np.arange(len(coords))
    np.add.at(weights, (rows, left), 1.0 - frac)
    np.add.at(weights, (rows, right), frac)
    return weights


def centres(count: int) -> npt.NDArray[np.float64]:
    """vUv at the pixel centres of a ``count``-pixel target."""
    return (np.arange(count) + 0.5) / count


def apply(image: Image, rows: Matrix, columns: Matrix) -> Image:
    """out[r, c] = sum rows[r, y] * columns[c, x] * image[y, x], per channel."""
    return np.asarray(np.einsum("ry,yxk,cx->rck", rows, image, columns), dtype=np.float64)


def half(image: Image) -> Image:
    """What an RGBA16F target stores."""
    return image.astype(np.float16).astype(np.float64)


def smoothstep(edge0: float, edge1: float, x: Image) -> Image:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def coefficients(kernel_radius: int) -> list[float]:
    sigma = kernel_radius / 3
    return [
        0.39894 * math.exp(-0.5 * i * i / (sigma * sigma)) / sigma for i in range(kernel_radius)
    ]


def high_pass(source: Image, size: tuple[int, int], threshold: float) -> Image:
    """LuminosityHighPassShader at ``size``: mix(vec4(0), texel, smoothstep(t, t + 0.01, L))."""
    width, height = size
    texel = apply(
        source,
        bilinear(centres(height), source.shape[0]),
        bilinear(centres(width), source.shape[1]),
    )
    luminance = texel[..., :3] @ REC709
    alpha = smoothstep(threshold, threshold + 0.01, luminance)
    return half(texel * alpha[..., None])


def blur_matrix(count: int, source_count: int, kernel_radius: int) -> Matrix:
    """One direction of the separable blur: taps at vUv +- i / count, weights not renormalised."""
    weights = coefficients(kernel_radius)
    uv = centres(count)
    matrix = weights[0] * bilinear(uv, source_count)
    for i in range(1, kernel_radius):
        offset = i / count  # direction * invSize * x, invSize = 1 / this mip's size
        matrix += weights[i] * (
            bilinear(uv + offset, source_count) + bilinear(uv - offset, source_count)
        )
    return matrix


def blur(source: Image, size: tuple[int, int], kernel_radius: int) -> Image:
    """Horizontal pass into h[i] then vertical pass into v[i], both of ``size``."""
    width, height = size
    horizontal = half(
        apply(
            source,
            bilinear(centres(height), source.shape[0]),
            blur_matrix(width, source.shape[1], kernel_radius),
        )
    )
    return half(
        apply(
            horizontal,
            blur_matrix(height, height, kernel_radius),
            bilinear(centres(width), width),
        )
    )


def unreal_bloom(image: npt.ArrayLike, strength: float, radius: float, threshold: float) -> Image:
    """The half-resolution composite UnrealBloomPass adds to ``image`` (RGB, rows bottom-first)."""
    source = half(np.asarray(image, dtype=np.float64)[..., :3])
    mips = sizes(source.shape[1], source.shape[0])
    previous = high_pass(source, mips[0], threshold)
    blurred = []
    for size, kernel in zip(mips, KERNEL_SIZES, strict=True):
        previous = blur(previous, size, kernel)
        blurred.append(previous)
    width, height = mips[0]
    total = np.zeros((height, width, 3))
    for factor, mip in zip(BLOOM_FACTORS, blurred, strict=True):
        weight = factor + (1.2 - factor - factor) * radius  # mix(f, 1.2 - f, radius)
        total += weight * apply(
            mip, bilinear(centres(height), mip.shape[0]), bilinear(centres(width), mip.shape[1])
        )
    return half(3.0 * strength * total)
