"""How every benchmark ends: the table on stdout, the numbers as JSON on disk."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def publish(table: str, result: dict[str, Any], path: Path) -> None:
    print(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {path}", file=sys.stderr)


def run_benchmark(
    parse_args: Callable[[list[str] | None], Any],
    run: Callable[[Any], dict[str, Any]],
    markdown: Callable[[dict[str, Any]], str],
    argv: list[str] | None = None,
) -> None:
    """Every benchmark's main: its arguments, its run, its table and JSON (at ``args.json``)."""
    args = parse_args(argv)
    result = run(args)
    publish(markdown(result), result, args.json)
