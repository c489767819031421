"""No import cycles among `danet` modules, counting deferred (in-function) and type-only imports too.

Standard library only: every module under danet/ is parsed, each import statement becomes an edge to
the danet module it loads (``from package import submodule`` points at the submodule, not at the
package being initialised), and any strongly connected group of two or more modules fails the test,
named with one cycle through it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_files(package: str = "danet") -> dict[str, Path]:
    """Dotted module name -> file, for every module of `package` (packages by their __init__)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, list[str]]]:
    """(module named by an import statement, names it takes from it) for every import in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            yield base, [alias.name for alias in node.names]


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The danet module that `name` lives in (the longest known prefix)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the danet modules its import statements load."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for base, names in _imported_names(tree, module, path.name == "__init__.py"):
            submodules = [f"{base}.{name}" for name in names if f"{base}.{name}" in modules]
            edges.update(submodules)
            if len(submodules) < len(names) or not names:
                target = _owner(base, modules)
                if target is not None:
                    edges.add(target)
        edges.discard(module)
        graph[module] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path) through each strongly connected group of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A closed path start -> ... -> start inside a strongly connected `group` (breadth-first)."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    return sorted(group)  # pragma: no cover - a strongly connected group always has a cycle


def test_the_danet_package_has_no_import_cycles() -> None:
    cycles = find_cycles(import_graph(module_files()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_the_checker_finds_a_cycle_and_ignores_submodule_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg.a import f\n")
    (package / "a.py").write_text("from pkg import b\n\ndef f():\n    from pkg.c import g\n")
    (package / "b.py").write_text("X = 1\n")
    type_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import f\n"
    (package / "c.py").write_text(type_only)
    modules = {"pkg": package / "__init__.py", **{f"pkg.{n}": package / f"{n}.py" for n in "abc"}}
    graph = import_graph(modules)
    assert graph["pkg.a"] == {"pkg.b", "pkg.c"}  # `from pkg import b` loads pkg.b, not pkg's __init__
    assert find_cycles(graph) == [["pkg.a", "pkg.c", "pkg.a"]]
