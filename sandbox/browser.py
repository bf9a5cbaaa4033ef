"""Debian's Chromium as the page and fidelity tests launch it: headless, quiet, never a
downloaded browser. Each user adds the flags of its own (GPU off, SwiftShader, autoplay)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
HEADLESS_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
