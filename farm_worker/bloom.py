"""Bloom passes: pmndrs postprocessing's mipmap-blur BloomEffect, and three.js UnrealBloomPass.

``MipmapBloom`` follows pmndrs/postprocessing (current: 6.39.6): src/effects/BloomEffect.js
wiring, src/passes/MipmapBlurPass.js sizes and loops, and the luminance / downsampling /
upsampling shaders cited in shaders/*.glsl. Two formulas changed between the releases a project
may select (``compat.postprocessing``): the luminance mask (6.37.7) and the downsample's outer
weight (6.38.3); ``PostprocessingFormulas`` picks them. Each pass takes the resolved HDR scene and
returns a texture to add to it, scaled by ``scale`` (``intensity`` here; UnrealBloomPass's
composite is pre-scaled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import moderngl

from common.format.compat import Release
from common.format.project import PmndrsBloom
from farm_worker.gl import program, uniform
from farm_worker.targets import Target


class BloomPass(Protocol):
    scale: float

    def render(self, source: Target) -> moderngl.Texture: ...

    def release(self) -> None: ...


MASK_LUMINANCE_SINCE: Release = (6, 37, 7)
"""luminance.frag outputs ``texel * mask`` from here; before, ``rgb * clamp(mask * L, 0, 1)``."""
INTERMEDIATE_DTYPE = "f4"
"""RGBA32F luminance and mip targets where postprocessing's are RGBA16F (HalfFloatType): llvmpipe
rounds float16 writes toward zero, which left our bloom a fraction of a level darker than the
browser's (57-61 dB against 6.39.6 in tests/fidelity; 68-78 dB with float32). No slower on
llvmpipe (no conversion); the half-size mips cost little memory on a GPU."""
OUTER_WEIGHT_ROUNDED_SINCE: Release = (6, 38, 3)
"""convolution.downsampling.frag's WEIGHT_OUTER is 0.05556 from here; 0.0555555 before."""


@dataclass(frozen=True)
class PostprocessingFormulas:
    """The bloom formulas of one postprocessing release (checked against the npm builds)."""

    legacy_luminance: bool
    weight_outer: str  # as the release's shader spells it, so GL and the references agree

    @classmethod
    def of(cls, release: Release) -> PostprocessingFormulas:
        return cls(
            legacy_luminance=release < MASK_LUMINANCE_SINCE,
            weight_outer="0.05556" if release >= OUTER_WEIGHT_ROUNDED_SINCE else "0.0555555",
        )


def mip_sizes(size: tuple[int, int], levels: int) -> list[tuple[int, int]]:
    """MipmapBlurPass.setSize: each level is Math.round(previous * 0.5) of the full size."""
    sizes = []
    width, height = size
    for _ in range(levels):
        width, height = _js_round(width * 0.5), _js_round(height * 0.5)
        sizes.append((max(width, 1), max(height, 1)))
    return sizes


def _js_round(value: float) -> int:
    """JavaScript's Math.round: halves go up (Python's round goes to even)."""
    return math.floor(value + 0.5)


class MipmapBloom:
    """Luminance (full resolution) -> ``levels`` downsamples -> ``levels - 1`` upsamples."""

    def __init__(
        self,
        ctx: moderngl.Context,
        size: tuple[int, int],
        settings: PmndrsBloom,
        formulas: PostprocessingFormulas,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.scale = settings.intensity
        self.luminance = program(
            ctx, "luminance", {"LEGACY_LUMINANCE": str(int(formulas.legacy_luminance))}
        )
        self.downsample = program(ctx, "downsample", {"WEIGHT_OUTER": formulas.weight_outer})
        self.upsample = program(ctx, "upsample")
        self.vao = ctx.vertex_array(self.luminance, [])
        self.down_vao = ctx.vertex_array(self.downsample, [])
        self.up_vao = ctx.vertex_array(self.upsample, [])
        self.luminance_target = Target(ctx, size, dtype=INTERMEDIATE_DTYPE)
        sizes = mip_sizes(size, settings.levels)
        self.down = [Target(ctx, s, dtype=INTERMEDIATE_DTYPE) for s in sizes]
        # MipmapBlurPass always has the output target up[0], then levels - 2 more.
        self.up = [
            Target(ctx, s, dtype=INTERMEDIATE_DTYPE) for s in sizes[: max(settings.levels - 1, 1)]
        ]
        uniform(self.luminance, "threshold").value = settings.luminance_threshold
        uniform(self.luminance, "smoothing").value = settings.luminance_smoothing
        uniform(self.luminance, "use_threshold").value = (
            settings.luminance_threshold > 0 or settings.luminance_smoothing > 0
        )
        uniform(self.upsample, "radius").value = settings.radius
        uniform(self.luminance, "inputBuffer").value = 0
        uniform(self.downsample, "inputBuffer").value = 0
        uniform(self.upsample, "inputBuffer").value = 0
        uniform(self.upsample, "supportBuffer").value = 1

    def render(self, source: Target) -> moderngl.Texture:
        with self.luminance_target:
            self._viewport(self.luminance_target)
            source.texture.use(0)
            self.vao.render(moderngl.TRIANGLES, vertices=3)
        previous = self.luminance_target
        for mip in self.down:
            uniform(self.downsample, "texelSize").value = (
                1 / previous.size[0],
                1 / previous.size[1],
            )
            uniform(self.downsample, "targetSize").value = mip.size
            with mip:
                self._viewport(mip)
                previous.texture.use(0)
                self.down_vao.render(moderngl.TRIANGLES, vertices=3)
            previous = mip
        for index in range(len(self.up) - 1, -1, -1):
            mip = self.up[index]
            uniform(self.upsample, "texelSize").value = (1 / previous.size[0], 1 / previous.size[1])
            with mip:
                self._viewport(mip)
                previous.texture.use(0)
                self.down[index].texture.use(1)
                self.up_vao.render(moderngl.TRIANGLES, vertices=3)
            previous = mip
        return previous.texture  # up[0], half resolution

    def _viewport(self, target: Target) -> None:
        self.ctx.viewport = (0, 0, *target.size)

    def release(self) -> None:
        for target in [self.luminance_target, *self.down, *self.up]:
            target.release()
        for vao in (self.vao, self.down_vao, self.up_vao):
            vao.release()
        for prog in (self.luminance, self.downsample, self.upsample):
            prog.release()
