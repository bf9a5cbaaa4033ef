"""The import graph runs downhill: no package imports one that sits above it, and the two worker
packages (render, stitch) never import each other. docs/architecture.md draws the same picture.

Imports under ``if TYPE_CHECKING:`` are left out: they name types, they load nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS: dict[str, int] = {
    # common/, bottom to top
    "common": 0,  # its __init__ (a docstring); every module of it has a sub-unit below
    "common.errors": 0,
    "common.logcontext": 0,
    "common.config": 1,
    "common.timing": 2,
    "common.format": 3,
    "common.scene": 4,
    "common.audio": 5,
    "common.jobs": 6,
    "common.adapters": 7,
    "common.cache": 8,
    # the components
    "farm_worker": 10,
    "stitcher": 10,
    "coordinator": 20,
    "framefarm": 30,
    "sandbox": 40,
    "bench": 50,
}
"""Each unit's height: a module may import its own unit and any unit strictly lower. Peers (the
same height, another unit) may not import each other."""


def unit_of(module: str) -> str | None:
    """The longest LAYERS key that is ``module`` or a package above it."""
    parts = module.split(".")
    for size in range(len(parts), 0, -1):
        name = ".".join(parts[:size])
        if name in LAYERS:
            return name
    return None


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def runtime_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import that runs, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module_name(path).rsplit(".", 1)[0]
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                )
            yield node.lineno, base.strip(".")
            for alias in node.names:  # ``from common import audio`` imports common.audio
                yield node.lineno, f"{base.strip('.')}.{alias.name}"


def sources() -> list[Path]:
    return sorted(
        path
        for package in {name.split(".")[0] for name in LAYERS}
        for path in (ROOT / package).rglob("*.py")
    )


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [
        str(p.relative_to(ROOT))
        for p in sources()
        if unit_of(module_name(p)) in (None, "common") and module_name(p) != "common"
    ]
    assert unplaced == [], "give these a layer in LAYERS (and in docs/architecture.md)"


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_go_down(path: Path) -> None:
    here = unit_of(module_name(path))
    assert here is not None
    uphill = []
    for line, imported in runtime_imports(path):
        there = unit_of(imported)
        if there is None or there == here:
            continue
        if LAYERS[there] >= LAYERS[here]:
            uphill.append(
                f"line {line}: {here} (layer {LAYERS[here]}) imports {imported} "
                f"(layer {LAYERS[there]})"
            )
    assert uphill == []


def test_the_checker_sees_uphill_imports_and_skips_type_only_ones(tmp_path: Path) -> None:
    """The rule itself can fail: a runtime import is seen, a TYPE_CHECKING one is not."""
    module = tmp_path / "fake.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from framefarm.farm import Farm\n"
        "import coordinator.app\n"
        "if TYPE_CHECKING:\n"
        "    from bench.run import main\n"
    )
    seen = {name for _, name in runtime_imports(module)}
    assert {"framefarm.farm", "coordinator.app"} <= seen
    assert not any(name.startswith("bench") for name in seen)
    assert unit_of("common.jobs.state") == "common.jobs"
    assert LAYERS["framefarm"] > LAYERS["coordinator"] > LAYERS["farm_worker"]
    assert LAYERS["farm_worker"] == LAYERS["stitcher"]  # peers: neither may import the other
