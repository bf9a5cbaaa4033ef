"""What a frame's pixels depend on besides its scene and look: the renderer's own code (passes,
shaders, PNG encoder), its MSAA samples, and the GL driver (another driver gives other bytes)."""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata

import moderngl

from common.cache.identity import package_digest
from common.format.validation import Export
from common.jobs.cache_keys import look_key
from farm_worker.png import ENCODER
from farm_worker.renderer import FrameRenderer


@functools.cache
def _renderer_code() -> str:
    shaders = package_digest("farm_worker.shaders", (".glsl",))
    modules = package_digest("farm_worker", (".py",))
    libraries = "|".join(_version(name) for name in ("fpng", "pillow", "moderngl", "numpy"))
    return hashlib.sha256(f"{shaders}|{modules}|{ENCODER}|{libraries}".encode()).hexdigest()


def _version(distribution: str) -> str:
    try:
        return f"{distribution}={metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return f"{distribution}=none"


def renderer_identity(ctx: moderngl.Context, samples: int) -> str:
    """The renderer's code, its MSAA samples and the driver's GL_RENDERER, GL_VERSION and
    GL_VENDOR strings."""
    info = ctx.info
    driver = f"{info['GL_RENDERER']}|{info['GL_VERSION']}|{info['GL_VENDOR']}"
    return f"{_renderer_code()}|samples={samples}|{driver}"


def export_look(renderer: FrameRenderer, export: Export) -> str:
    """The look key of ``export``'s frames drawn by ``renderer``."""
    identity = renderer_identity(renderer.ctx, renderer.scene_pass.samples)
    return look_key(export.project, renderer.width, renderer.height, identity)
