"""The score per module of the last ``scripts/mutation`` run, from ``mutmut results --all true``.

Killed (a test failed) and timeout count as caught; a mutant listed in
``tests/mutation_equivalent.toml`` is equivalent (no test can tell it apart: the reason is written
beside it) and leaves the count; "no tests" (no test runs the mutated function) counts as a
survivor. A mutant not run yet (an interrupted or partial run) is shown apart, not scored: the
score is over the mutants run, and a module with any not run fails (it is not measured). Exit
status 1 when a module scores under the target or is not measured in full.
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
NOT_RUN = "not checked"
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
        counted_as = status if status == NOT_RUN or name not in equivalent else "equivalent"
        by_module[module_of(name)][counted_as] += 1
    stale = sorted(set(equivalent) - set(results))
    failing = False
    print(
        f"{'module':32} {'mutants':>8} {'not run':>8} {'caught':>7} {'equiv':>6} "
        f"{'survived':>9} {'score':>7}"
    )
    for module, counts in sorted(by_module.items()):
        run = sum(counts.values()) - counts[NOT_RUN]
        counted = run - counts["equivalent"]
        caught = sum(counts[status] for status in CAUGHT)
        score = 100.0 * caught / counted if counted else 100.0
        failing |= score < TARGET_PERCENT or counts[NOT_RUN] > 0
        print(
            f"{module:32} {sum(counts.values()):8} {counts[NOT_RUN]:8} {caught:7} "
            f"{counts['equivalent']:6} {counted - caught:9} {score:6.1f}%"
        )
    for name, status in sorted(results.items()):
        if status not in CAUGHT and status != NOT_RUN and name not in equivalent:
            print(f"  {status}: {name}   (mutmut show {name})")
    for name in stale:
        print(f"  listed as equivalent but no longer generated: {name}", file=sys.stderr)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
