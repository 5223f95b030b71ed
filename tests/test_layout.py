"""The package's imports point inward, as DESIGN.md draws them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"

# A module may import modules of its own rank or lower; cli and web are imported by no one else.
RANKS = {
    "errors": 0,
    "config": 0,
    "files": 0,
    "content": 1,
    "store": 1,
    "render": 2,
    "audience": 3,
    "delivery": 4,
    "tracking": 4,
    "testing": 5,
    "schedule": 5,
    "services": 6,
    "app": 7,
    "workspace": 7,
    "preview": 7,
    "web": 8,
    "cli": 8,
}
OUTERMOST = {"web", "cli"}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("newsletter.")}


def test_imports_point_inward() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(PACKAGE)
        here = relative.parts[0].removesuffix(".py")
        if here in ("__init__", "__main__"):
            continue
        assert here in RANKS, f"{relative}: add its package to RANKS in this test"
        for imported in _imports(path):
            there = _part(imported)
            if there == here or there == "__init__":
                continue
            assert there in RANKS, f"{relative} imports unknown {imported}"
            if there in OUTERMOST or RANKS[there] > RANKS[here]:
                wrong.append(f"{relative} imports {imported}")
    assert wrong == []
