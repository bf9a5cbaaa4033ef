"""The score per module of the last ``scripts/mutation`` run, from ``mutmut results --all true``.

Killed (a test failed) and timeout count as caught; a mutant listed in
``tests/mutation_equivalent.toml`` is equivalent (no test can tell it apart: the reason is written
beside it) and leaves the count. Exit status 1 when a module scores under the target.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

TARGET_PERCENT = 85.0
EQUIVALENT = Path("tests/mutation_equivalent.toml")
CAUGHT = {"killed", "timeout"}
_LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


def module_of(mutant: str) -> str:
    """``common.jobs.state.x_advance__mutmut_3`` → ``common/jobs/state.py``."""
    dotted = re.split(r"\.(?:x_|xǁ)", mutant, maxsplit=1)[0]
    return dotted.replace(".", "/") + ".py"


def read_results() -> dict[str, str]:
    out = subprocess.run(
        ["mutmut", "results", "--all", "true"], check=True, capture_output=True, text=True
    ).stdout
    return {m["name"]: m["status"].strip() for m in map(_LINE.match, out.splitlines()) if m}


def equivalents() -> dict[str, str]:
    if not EQUIVALENT.exists():
        return {}
    return {name: str(reason) for name, reason in tomllib.loads(EQUIVALENT.read_text()).items()}


def main() -> int:
    results, equivalent = read_results(), equivalents()
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in results.items():
        by_module[module_of(name)]["equivalent" if name in equivalent else status] += 1
    stale = sorted(set(equivalent) - set(results))
    failing = False
    print(f"{'module':40} {'mutants':>8} {'caught':>7} {'equiv':>6} {'survived':>9} {'score':>7}")
    for module, counts in sorted(by_module.items()):
        counted = sum(n for status, n in counts.items() if status != "equivalent")
        caught = sum(counts[status] for status in CAUGHT)
        score = 100.0 * caught / counted if counted else 100.0
        failing |= score < TARGET_PERCENT
        print(
            f"{module:40} {sum(counts.values()):8} {caught:7} {counts['equivalent']:6} "
            f"{counted - caught:9} {score:6.1f}%"
        )
    for name, status in sorted(results.items()):
        if status not in CAUGHT and name not in equivalent:
            print(f"  {status}: {name}   (mutmut show {name})")
    for name in stale:
        print(f"  listed as equivalent but no longer generated: {name}", file=sys.stderr)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
