"""The server's import graph: no cycles, no modules loaded by a name in a string.

Every import counts, also those inside a function: an import moved into a
function to dodge a cycle still ties the two modules together.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SERVER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(SERVER.rglob("*.py"))
        if "migrations" not in path.relative_to(SERVER).parts
    }


def _imported(name: str, tree: ast.Module, known: set[str]) -> Iterator[str]:
    """The server modules a module imports, anywhere in its body."""
    package = name if (SERVER.parent / name.replace(".", "/") / "__init__.py").exists() else ""
    package = package or name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from server.x import y` is an edge to server.x.y when y is a module.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "server":
                yield target


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: set(_imported(name, tree, known)) for name, tree in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_reader_sees_imports_inside_functions() -> None:
    tree = ast.parse("def f():\n    from server.a import b\n")
    assert set(_imported("server.c", tree, {"server.a", "server.a.b", "server.c"})) == {
        "server.a",
        "server.a.b",
    }
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_in_server() -> None:
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles (each line one cycle):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles
    )


def test_no_module_is_loaded_by_a_name_in_a_string() -> None:
    """Registries of "module:attribute" strings hide edges from readers and mypy."""
    loaders = {"import_module", "__import__"}
    users = [
        name
        for name, tree in _modules().items()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id in loaders)
        or (isinstance(node, ast.Attribute) and node.attr in loaders)
    ]
    assert users == []
