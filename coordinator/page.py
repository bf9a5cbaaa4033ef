"""Where the export page's files live (served at / and /static/)."""

from __future__ import annotations

import sys
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
CHECKOUT_EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
INSTALLED_EXAMPLES = Path(sys.prefix) / "share" / "framefarm" / "examples"
"""Where the wheel puts the example projects (its data files)."""


def examples_dir() -> Path:
    """The example projects offered on the page: the checkout's, else the installed wheel's."""
    if (CHECKOUT_EXAMPLES / "demo.json").is_file():
        return CHECKOUT_EXAMPLES
    return INSTALLED_EXAMPLES


EXAMPLES_DIR = examples_dir()
