"""Shared domain of framefarm: project format, beat clock, instruments, scene model, settings.

Pure code only: nothing in here imports moderngl, starlette or a broker client.
"""
