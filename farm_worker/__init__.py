"""Render workers: turn frame ranges of a project into images, headless (moderngl over EGL)."""
