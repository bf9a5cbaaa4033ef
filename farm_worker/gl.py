"""The one place that creates OpenGL contexts and loads shader programs.

Headless through EGL: the NVIDIA driver on GPU machines, Mesa's llvmpipe on CPUs. Pass the
context explicitly; nothing here is global.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import moderngl

from common.errors import RenderError

GL_REQUIRED = 330
SNIPPETS = ("fullscreen_vertex",)
"""Shader files other programs pull in with ``#include "name"``."""


def create_context() -> moderngl.Context:
    """A standalone EGL context (OpenGL >= 3.3 core), or a RenderError saying what is missing."""
    try:
        options: dict[str, Any] = {"standalone": True, "backend": "egl", "require": GL_REQUIRED}
        ctx = moderngl.create_context(**options)
    except Exception as error:  # moderngl/glcontext raise bare Exceptions
        raise RenderError(
            "cannot create a headless OpenGL context through EGL "
            f"({error}); install Mesa's EGL (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri) or "
            "an NVIDIA driver with EGL, or run scripts/bootstrap"
        ) from error
    # No garbage collection of GL objects: their owners (passes, targets) call release().
    ctx.gc_mode = None  # type: ignore[assignment]  # the stubs omit None, moderngl's default
    return ctx


def describe(ctx: moderngl.Context) -> str:
    info = ctx.info
    return f"{info['GL_RENDERER']} ({info['GL_VENDOR']}, GL {ctx.version_code})"


@cache
def shader_source(name: str) -> str:
    return resources.files("farm_worker.shaders").joinpath(f"{name}.glsl").read_text("utf-8")


def program(
    ctx: moderngl.Context, name: str, defines: dict[str, str] | None = None
) -> moderngl.Program:
    """Compile ``shaders/<name>.glsl``: one file, split by VERTEX_SHADER / FRAGMENT_SHADER."""
    source = shader_source(name)
    for snippet in SNIPPETS:
        if snippet not in ctx.includes:
            ctx.includes[snippet] = shader_source(snippet)
    extra = "".join(f"#define {key} {value}\n" for key, value in (defines or {}).items())
    head = f"#version {GL_REQUIRED} core\n{extra}"
    try:
        return ctx.program(
            vertex_shader=f"{head}#define VERTEX_SHADER\n{source}",
            fragment_shader=f"{head}#define FRAGMENT_SHADER\n{source}",
        )
    except moderngl.Error as error:
        raise RenderError(f"shader {name}.glsl failed to compile: {error}") from error


def uniform(prog: moderngl.Program, name: str) -> moderngl.Uniform:
    """A program's uniform by name; a RenderError if the shader has no such active uniform."""
    member = prog.get(name, None)
    if not isinstance(member, moderngl.Uniform):
        raise RenderError(f"shader has no active uniform {name!r}")
    return member


def set_uniforms(prog: moderngl.Program, **values: Any) -> None:
    for name, value in values.items():
        uniform(prog, name).value = value
