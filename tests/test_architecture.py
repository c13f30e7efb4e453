"""The house rules of docs/ARCHITECTURE.md, enforced: the layers import downwards only, and nothing imports in a
circle. content -> descent_core -> descent_ui -> pages; descent_core never imports Streamlit or descent_ui."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("descent_core", "descent_ui")


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: pathlib.Path) -> set[str]:
    """Every module a file imports, top level or inside functions, with relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def our_modules() -> dict[str, pathlib.Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def test_descent_core_imports_neither_streamlit_nor_the_ui():
    for name, path in our_modules().items():
        if name.startswith("descent_core"):
            bad = {m for m in imports_of(path) if m.split(".")[0] in ("streamlit", "descent_ui")}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_the_app_never_imports_the_reference_packages():
    references = {"schedulefree", "pytorch_optimizer", "prodigyopt"}  # test dependencies only
    for name, path in our_modules().items():
        bad = {m for m in imports_of(path) if m.split(".")[0] in references}
        assert not bad, f"{name} imports {sorted(bad)}"


def test_no_import_cycles():
    modules = our_modules()
    graph = {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}
    for name in graph:  # a package __init__ re-exports its children: an edge into the package is not a cycle
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_page_files_stay_thin():
    for path in sorted((ROOT / "pages").glob("*.py")):
        code = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
        assert len(code) <= 6, f"{path.name} holds logic; move it to descent_ui"
        assert all(line.startswith(("from descent_ui", "import descent_ui")) or "(" in line for line in code)


def test_descent_core_runs_without_streamlit_installed_in_the_process():
    code = ("import importlib, pkgutil, sys, descent_core\n"
            "for m in pkgutil.walk_packages(descent_core.__path__, 'descent_core.'):\n"
            "    importlib.import_module(m.name)\n"
            "assert not [k for k in sys.modules if k.startswith('streamlit')]\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)
