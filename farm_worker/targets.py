"""Render targets: a texture with its framebuffer, bound on ``with`` and released explicitly."""

from __future__ import annotations

import moderngl


class Target:
    """A colour texture (RGBA16F by default, linear filtering, clamp to edge, no mipmaps) + FBO."""

    def __init__(
        self, ctx: moderngl.Context, size: tuple[int, int], dtype: str = "f2", components: int = 4
    ) -> None:
        self.ctx = ctx
        self.size = size
        self.texture = ctx.texture(size, components, dtype=dtype)
        self.texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.texture.repeat_x = False
        self.texture.repeat_y = False
        self.framebuffer = ctx.framebuffer(color_attachments=[self.texture])

    def __enter__(self) -> Target:
        self.framebuffer.use()
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def release(self) -> None:
        unbind_if_current(self.ctx, self.framebuffer)
        self.framebuffer.release()
        self.texture.release()


class MultisampleTarget:
    """An MSAA HDR colour + depth framebuffer that resolves into a single-sample Target on exit."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], samples: int) -> None:
        self.ctx = ctx
        self.size = size
        self.samples = samples
        self.colour = ctx.renderbuffer(size, 4, samples=samples, dtype="f2")
        self.depth = ctx.depth_renderbuffer(size, samples=samples)
        self.framebuffer = ctx.framebuffer(
            color_attachments=[self.colour], depth_attachment=self.depth
        )
        self.resolved = Target(ctx, size)

    def __enter__(self) -> MultisampleTarget:
        self.framebuffer.use()
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:  # resolve only what was drawn without an error
            self.ctx.copy_framebuffer(self.resolved.framebuffer, self.framebuffer)

    def release(self) -> None:
        unbind_if_current(self.ctx, self.framebuffer)
        self.framebuffer.release()
        self.colour.release()
        self.depth.release()
        self.resolved.release()


def unbind_if_current(ctx: moderngl.Context, framebuffer: moderngl.Framebuffer) -> None:
    """Bind framebuffer 0 before deleting the bound one.

    moderngl keeps using a deleted bound framebuffer, and the next framebuffer created then
    fails with GL_INVALID_OPERATION.
    """
    if ctx.fbo is framebuffer:
        ctx.detect_framebuffer(0).use()
