"""The import graph of our own packages, read from the source with `ast` (nothing is imported).

Every import counts, function-local ones included, except those under `if TYPE_CHECKING:`: they never
run, so they can neither form a runtime cycle nor load a layer above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mappings", "sync", "app", "sandbox")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((REPO_ROOT / package).rglob("*.py"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, package: str) -> Iterator[tuple[str, int, bool]]:
    """(imported module or attribute path, line, at module level) for every runtime import."""
    def visit(node: ast.AST, top: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                yield from (item for stmt in child.orelse for item in visit_stmt(stmt, top))
                continue
            yield from visit_stmt(child, top)

    def visit_stmt(child: ast.AST, top: bool) -> Iterator[tuple[str, int, bool]]:
        if isinstance(child, ast.Import):
            for alias in child.names:
                yield alias.name, child.lineno, top
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in child.names:
                yield f"{base}.{alias.name}", child.lineno, top
        nested = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from visit(child, nested)

    yield from visit(tree, True)


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, int, str]]]:
    """Edges module → our modules it imports, and every function-local import of our modules."""
    paths = {module_name(p): p for p in source_files()}
    known = set(paths)
    edges: dict[str, set[str]] = {name: set() for name in known}
    local: list[tuple[str, int, str]] = []
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for target, line, top in _imports(ast.parse(path.read_text(encoding="utf-8")), package):
            # `from a.b import c` names module a.b.c when it exists, else attribute c of a.b.
            resolved = target if target in known else target.rpartition(".")[0]
            if resolved not in known or resolved == name:
                continue
            edges[name].add(resolved)
            if not top:
                local.append((name, line, resolved))
    return edges, local


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found
