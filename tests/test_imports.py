"""The package's imports point one way: no module imports another that imports it back,
except the lazy hooks docs/design.md names (imports inside a function, made on first use)."""

from __future__ import annotations

import ast
from typing import Dict, Set, Tuple

from conftest import ROOT

PACKAGE = ROOT / "netlang"

# (importer, imported): each is a function-level import that points back on purpose.
LAZY_HOOKS = {
    ("nodes", "ast_json"),  # Program.to_json
    ("runtime", "diagram"),  # the Jupyter display of a Network
    ("runtime", "arrays"),  # net(X) on another library's arrays
}


def _imports() -> Dict[str, Dict[str, bool]]:
    """module -> {module it imports: whether only inside functions}."""
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    edges: Dict[str, Dict[str, bool]] = {}
    for path in PACKAGE.glob("*.py"):
        found: Dict[str, bool] = {}

        def visit(node: ast.AST, lazy: bool) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue  # for mypy only, never run
                if isinstance(child, ast.ImportFrom) and child.level == 1:
                    names = [child.module] if child.module else [alias.name for alias in child.names]
                    for name in names:
                        target = name.split(".")[0]
                        if target in modules and target != path.stem:
                            found[target] = found.get(target, True) and lazy
                visit(child, lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
        edges[path.stem] = found
    return edges


def _back_edges(edges: Dict[str, Dict[str, bool]]) -> Set[Tuple[str, str]]:
    """Every import (a, b) from which a can be reached again."""

    def reaches(start: str, goal: str) -> bool:
        seen: Set[str] = set()
        stack = [start]
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                stack.extend(edges.get(current, {}))
        return False

    return {(a, b) for a, targets in edges.items() for b in targets if reaches(b, a)}


def test_imports_point_one_way_but_for_the_lazy_hooks():
    edges = _imports()
    cycles = _back_edges({a: {b: lazy for b, lazy in targets.items() if (a, b) not in LAZY_HOOKS} for a, targets in edges.items()})
    assert cycles == set(), f"imports that point back: {sorted(cycles)}"
    for importer, imported in LAZY_HOOKS:
        assert edges[importer].get(imported) is True, f"{importer} -> {imported} must be imported lazily (inside a function)"


def test_the_pipeline_imports_no_tool():
    edges = _imports()
    pipeline = {"pipeline", "files", "lexer", "parser", "nodes", "checker", "values", "dependencies", "forms", "params", "weights", "compiler", "cache", "runtime"}
    tools = {"cli", "launcher", "lint", "expectations", "formatter", "truthtable", "explain", "display", "boundary", "onnx_export", "pygments_lexer"}
    for module in pipeline:
        eager = {target for target, lazy in edges[module].items() if not lazy}
        assert not eager & tools, f"{module} imports {sorted(eager & tools)}"
