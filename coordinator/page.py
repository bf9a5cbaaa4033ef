"""Where the export page's files live (served at / and /static/)."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
"""The example projects, offered on the page when running from a checkout."""
