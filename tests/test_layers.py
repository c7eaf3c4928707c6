"""Data flows forward: a module imports only from its own package or a lower layer (GUIDE.md, 'How data flows').

Every `import smepulse.X` and `from smepulse.X import ...` counts, at module level and inside functions, so a
deferred import cannot hide an arrow that points up.
"""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "smepulse"

# Lowest first. A package may import any package on a lower line, never one on its own line or above.
LAYERS = [
    ["errors", "spreadsheet"],
    ["periods"],
    ["methodology"],
    ["survey", "seasonal"],
    ["index"],
    ["store", "sim"],
    ["credit"],
    ["decision", "release"],
    ["monitoring", "pipeline", "engines"],
    ["web"],
    ["cli"],
    ["__main__"],  # `python -m smepulse`: only calls cli
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "smepulse" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_package_has_a_layer():
    packages = {_package(p) for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC}
    packages.discard("__init__")
    assert packages <= set(RANK), f"add these packages to LAYERS: {sorted(packages - set(RANK))}"


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        if path.parent == SRC and path.name == "__init__.py":
            continue
        own = _package(path)
        for target in _imported_packages(path) - {own}:
            if RANK.get(target, -1) >= RANK[own]:
                upward.append(f"{path.relative_to(SRC)} imports smepulse.{target}")
    assert not upward, "imports that point up or sideways:\n" + "\n".join(upward)


def test_the_checker_sees_a_deferred_upward_import(tmp_path):
    bad = tmp_path / "mod.py"
    bad.write_text("def f():\n    from smepulse.release.report import x\n    import smepulse.web.app\n")
    assert _imported_packages(bad) == {"release", "web"}
