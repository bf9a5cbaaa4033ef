"""three.js UnrealBloomPass as a BloomPass, so projects made with the seed's bloom render as it did.

Follows three.js examples/jsm/postprocessing/UnrealBloomPass.js and
examples/jsm/shaders/LuminosityHighPassShader.js of r186 and later (current: r187; checked against
the published npm builds): PR #31528's kernels (first published in r181; r179 still has the
older, renormalised kernels 3..11), r182's ``3 * strength`` composite, and r186's blur that
merges taps i and i + 1 into one bilinear fetch at their weighted offset. r182-r185 take every
tap separately: the same sum in exact arithmetic, but GPUs filter with reduced precision, and
matching the fetches matches the browser (tests/fidelity: 65-73 dB against r187; about 50 dB
with separate taps). A half-resolution high pass, five mips of separable, un-normalised
gaussian blur (kernel sizes 6..22, sigma = size / 3), and a half-resolution composite 3 * strength *
sum(lerpBloomFactor(f) * blur) that three adds onto the scene (AdditiveBlending, premultiplied:
ONE, ONE). Intermediate targets are RGBA32F where three's are RGBA16F: llvmpipe rounds float16
writes toward zero, which over twelve passes darkened the bloom by about half a level. The
composite is already scaled, so ``scale`` is 1 and the output pass adds it as it is.
"""

from __future__ import annotations

import math

import moderngl

from common.format.project import UnrealBloom as UnrealBloomSettings
from farm_worker.bloom import INTERMEDIATE_DTYPE, mip_sizes
from farm_worker.gl import program, set_uniforms, uniform
from farm_worker.targets import Target

N_MIPS = 5
KERNEL_SIZES = (6, 10, 14, 18, 22)
"""``kernelSizeArray``: KERNEL_RADIUS of each mip's blur (taps each side, centre included)."""
BLOOM_FACTORS = (1.0, 0.8, 0.6, 0.4, 0.2)
BLOOM_TINT = (1.0, 1.0, 1.0)
SMOOTH_WIDTH = 0.01
"""UnrealBloomPass sets the high pass's ``smoothWidth`` to 0.01, whatever the threshold."""


def gaussian_coefficients(kernel_radius: int) -> tuple[float, ...]:
    """``_getSeparableBlurMaterial``: 0.39894 * exp(-0.5 i^2 / sigma^2) / sigma, sigma = k / 3."""
    sigma = kernel_radius / 3
    return tuple(
        0.39894 * math.exp(-0.5 * i * i / (sigma * sigma)) / sigma for i in range(kernel_radius)
    )


def merged_taps(kernel_radius: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """r186+: taps i and i + 1 as one bilinear fetch: offsets (i wa + (i + 1) wb) / w, weights w."""
    coefficients = gaussian_coefficients(kernel_radius)
    offsets, weights = [], []
    for i in range(1, kernel_radius, 2):
        wa = coefficients[i]
        wb = coefficients[i + 1] if i + 1 < kernel_radius else 0.0
        offsets.append((i * wa + (i + 1) * wb) / (wa + wb))
        weights.append(wa + wb)
    return tuple(offsets), tuple(weights)


def unreal_mip_sizes(size: tuple[int, int]) -> list[tuple[int, int]]:
    """``setSize``: the bright target and mip 0 are Math.round(size / 2), each next mip halves."""
    return mip_sizes(size, N_MIPS)


class UnrealBloom:
    """High pass -> per mip horizontal then vertical blur -> composite, all at half resolution."""

    def __init__(
        self, ctx: moderngl.Context, size: tuple[int, int], settings: UnrealBloomSettings
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.scale = 1.0  # the composite already includes 3 * strength
        sizes = unreal_mip_sizes(size)
        self.bright = Target(ctx, sizes[0], dtype=INTERMEDIATE_DTYPE)
        self.horizontal = [Target(ctx, s, dtype=INTERMEDIATE_DTYPE) for s in sizes]
        self.vertical = [Target(ctx, s, dtype=INTERMEDIATE_DTYPE) for s in sizes]

        self.highpass = program(ctx, "unreal_highpass")
        self.blurs = [
            program(ctx, "unreal_blur", {"KERNEL_PAIRS": str(len(merged_taps(k)[0]))})
            for k in KERNEL_SIZES
        ]
        self.composite = program(ctx, "unreal_composite")
        self.highpass_vao = ctx.vertex_array(self.highpass, [])
        self.blur_vaos = [ctx.vertex_array(blur, []) for blur in self.blurs]
        self.composite_vao = ctx.vertex_array(self.composite, [])

        set_uniforms(
            self.highpass,
            tDiffuse=0,
            luminosityThreshold=settings.threshold,
            smoothWidth=SMOOTH_WIDTH,
        )
        for blur, kernel, (width, height) in zip(self.blurs, KERNEL_SIZES, sizes, strict=True):
            set_uniforms(
                blur,
                colorTexture=0,
                invSize=(1 / width, 1 / height),
                centerWeight=gaussian_coefficients(kernel)[0],
                gaussianOffsets=merged_taps(kernel)[0],
                gaussianWeights=merged_taps(kernel)[1],
            )
        set_uniforms(
            self.composite,
            bloomStrength=settings.strength,
            bloomRadius=settings.radius,
            bloomFactors=BLOOM_FACTORS,
            bloomTintColors=[BLOOM_TINT] * N_MIPS,
        )
        for index in range(N_MIPS):
            uniform(self.composite, f"blurTexture{index + 1}").value = index

    def render(self, source: Target) -> moderngl.Texture:
        """The half-resolution bloom to add to ``source`` (UnrealBloomPass.render's order)."""
        self._draw(self.highpass_vao, self.bright, source)
        previous = self.bright
        for blur, vao, horizontal, vertical in zip(
            self.blurs, self.blur_vaos, self.horizontal, self.vertical, strict=True
        ):
            uniform(blur, "direction").value = (1.0, 0.0)
            self._draw(vao, horizontal, previous)
            uniform(blur, "direction").value = (0.0, 1.0)
            self._draw(vao, vertical, horizontal)
            previous = vertical
        # three composites into renderTargetsHorizontal[0], free again once mip 0 is blurred.
        output = self.horizontal[0]
        for index, vertical in enumerate(self.vertical):
            vertical.texture.use(index)
        with output:
            self.ctx.viewport = (0, 0, *output.size)
            self.composite_vao.render(moderngl.TRIANGLES, vertices=3)
        return output.texture

    def _draw(self, vao: moderngl.VertexArray, target: Target, source: Target) -> None:
        with target:
            self.ctx.viewport = (0, 0, *target.size)
            source.texture.use(0)
            vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        for target in [self.bright, *self.horizontal, *self.vertical]:
            target.release()
        for vao in [self.highpass_vao, *self.blur_vaos, self.composite_vao]:
            vao.release()
        for prog in [self.highpass, *self.blurs, self.composite]:
            prog.release()
