"""Fixtures for the renderer tests: one headless GL context (EGL) for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import moderngl
import pytest

from farm_worker.gl import create_context


@pytest.fixture(scope="session")
def gl_context() -> Iterator[moderngl.Context]:
    """The EGL context every renderer test draws with (llvmpipe on CPU machines)."""
    ctx = create_context()
    yield ctx
    ctx.release()
