"""Output pass: add the bloom, tone-map, encode sRGB, quantise to 8 bits and read back RGB rows."""

from __future__ import annotations

import moderngl

from common.format.project import Visualizer
from farm_worker.gl import program, uniform
from farm_worker.targets import Target

TONE_MAPPING_IDS = {
    "none": 0,
    "aces": 1,
    "agx": 2,
    "neutral": 3,
    "reinhard": 4,
    "cineon": 5,
    "linear": 6,
}


class OutputPass:
    """Writes an RGBA8 image whose rows are already top-first; ``read`` returns packed RGB."""

    def __init__(
        self, ctx: moderngl.Context, size: tuple[int, int], visualizer: Visualizer, bloom: bool
    ) -> None:
        self.ctx = ctx
        self.size = size
        defines = {
            "TONE_MAPPING": str(TONE_MAPPING_IDS[visualizer.tone_mapping]),
            "BLOOM": str(int(bloom)),
        }
        self.prog = program(ctx, "output", defines)
        self.vao = ctx.vertex_array(self.prog, [])
        self.target = Target(ctx, size, dtype="f1")
        uniform(self.prog, "scene").value = 0
        if bloom:
            uniform(self.prog, "bloom").value = 1
        if visualizer.tone_mapping != "none":
            uniform(self.prog, "toneMappingExposure").value = visualizer.exposure

    def render(self, scene: Target, bloom: moderngl.Texture | None, bloom_scale: float) -> Target:
        with self.target:
            self.ctx.viewport = (0, 0, *self.size)
            scene.texture.use(0)
            if bloom is not None:
                bloom.use(1)
                uniform(self.prog, "bloom_scale").value = bloom_scale
            self.vao.render(moderngl.TRIANGLES, vertices=3)
        return self.target

    def read(self) -> bytes:
        """Packed 8-bit RGB, ``width * 3`` bytes per row, top row first."""
        return self.target.framebuffer.read(components=3, alignment=1)

    def release(self) -> None:
        self.target.release()
        self.vao.release()
        self.prog.release()
