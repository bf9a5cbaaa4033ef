"""How every benchmark ends: the table on stdout, the numbers as JSON on disk."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def publish(table: str, result: dict[str, Any], path: Path) -> None:
    print(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {path}", file=sys.stderr)
