"""The frame renderer: scene state at a time -> the 8-bit RGB image the app would show.

Scene pass (MSAA, half float) -> bloom -> output (tone mapping, sRGB, 8 bits, rows top-first).
Every GL object is created once per renderer and reused; rendering a frame allocates nothing on
the GPU unless a frame has more objects of a kind than any frame before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

import moderngl
import numpy as np
import numpy.typing as npt

from common.errors import Issue, LimitExceeded
from common.format.project import PmndrsBloom, Project
from common.scene.visuals import Scene, SceneModel
from common.timing.exact import Rational
from farm_worker.bloom import BloomPass, MipmapBloom, PostprocessingFormulas
from farm_worker.output_pass import OutputPass
from farm_worker.scene_pass import ScenePass
from farm_worker.targets import Target


def gl_size_issues(ctx: moderngl.Context, width: int, height: int) -> list[Issue]:
    """Sizes this GL implementation cannot render, named like the export settings fields."""
    limit = min(int(ctx.info["GL_MAX_TEXTURE_SIZE"]), int(ctx.info["GL_MAX_RENDERBUFFER_SIZE"]))
    issues = []
    for name, value in (("width", width), ("height", height)):
        if value < 1 or value > limit:
            issues.append(
                Issue(name, f"expected 1..{limit} (this GPU's largest render target)", value)
            )
    return issues


def make_bloom(ctx: moderngl.Context, size: tuple[int, int], project: Project) -> BloomPass | None:
    """The project's bloom pass, or None when it adds nothing (intensity or strength 0)."""
    settings = project.visualizer.bloom
    if isinstance(settings, PmndrsBloom):
        if settings.intensity <= 0:
            return None
        formulas = PostprocessingFormulas.of(project.compat.postprocessing_release)
        return MipmapBloom(ctx, size, settings, formulas)
    from farm_worker.unreal_bloom import UnrealBloom

    return UnrealBloom(ctx, size, settings) if settings.strength > 0 else None


class FrameRenderer:
    """Renders one project at one size, frame after frame, in any order."""

    def __init__(
        self,
        ctx: moderngl.Context,
        project: Project,
        width: int,
        height: int,
        *,
        samples: int | None = None,
        model: SceneModel | None = None,
    ) -> None:
        issues = gl_size_issues(ctx, width, height)
        if issues:
            raise LimitExceeded(issues, "frame size")
        self.ctx = ctx
        self.size = (width, height)
        self.model = model or SceneModel.from_project(project)
        self.scene_pass = ScenePass(ctx, self.size, samples)
        self.bloom = make_bloom(ctx, self.size, project)
        self.output = OutputPass(ctx, self.size, project.visualizer, bloom=self.bloom is not None)

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def render_at(self, seconds: Rational) -> bytes:
        """The frame showing the song ``seconds`` after beat 0, as packed RGB rows (top first)."""
        return self.render_scene(self.model.at(seconds))

    def render_scene(self, scene: Scene) -> bytes:
        return self.post_process(self.scene_pass.render(scene))

    def post_process(self, hdr: Target) -> bytes:
        """Bloom and output of an HDR image already on the GPU (the scene pass's, or a test's)."""
        bloom = self.bloom.render(hdr) if self.bloom is not None else None
        scale = self.bloom.scale if self.bloom is not None else 0.0
        self.output.render(hdr, bloom, scale)
        return self.output.read()

    def render_times(self, times: Iterable[Fraction]) -> Iterator[bytes]:
        for seconds in times:
            yield self.render_at(seconds)

    def release(self) -> None:
        self.scene_pass.release()
        if self.bloom is not None:
            self.bloom.release()
        self.output.release()

    def __enter__(self) -> FrameRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def upload_hdr(ctx: moderngl.Context, image: npt.NDArray[np.float32]) -> Target:
    """A half-float target holding ``image`` (rows bottom-first, GL order), for tests and tools."""
    height, width = image.shape[:2]
    rgba = np.ones((height, width, 4), dtype=np.float16)
    rgba[..., : image.shape[2]] = image.astype(np.float16)
    target = Target(ctx, (width, height))
    target.texture.write(rgba.tobytes())
    return target


def as_image(rgb: bytes, width: int, height: int) -> npt.NDArray[np.uint8]:
    """Packed RGB bytes as a (height, width, 3) array, top row first."""
    return np.frombuffer(rgb, dtype=np.uint8).reshape(height, width, 3)
