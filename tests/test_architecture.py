"""The layout's rules, checked: imports point one way (cli → services → adapters), the leaves
import nothing of ours, the sandbox stands alone, and only the CLI touches typer or rich."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import exactlink

PACKAGE = Path(exactlink.__file__).parent
LEAVES = {"errors", "models", "paths", "i18n", "exact_records"}
FRAMEWORKS = {"typer", "rich", "click"}
IO_LIBRARIES = {"requests", "keyring", "sqlite3"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(layer: str) -> list[Path]:
    root = PACKAGE / layer
    return sorted(root.rglob("*.py")) if root.is_dir() else [PACKAGE / f"{layer}.py"]


def ours(name: str) -> str | None:
    """The first part below ``exactlink`` of an import of ours, e.g. ``services``."""
    parts = name.split(".")
    if parts[0] != "exactlink":
        return None
    return parts[1] if len(parts) > 1 else ""


def rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_nothing_of_ours(leaf):
    for path in modules(leaf):
        bad = {name for name in imports_of(path) if ours(name) not in (None, *LEAVES - {leaf})}
        # a leaf may not even import another leaf, except i18n (messages are translated anywhere)
        bad -= {"exactlink.i18n"}
        assert not bad, f"{rel(path)} imports {bad}"


def test_services_import_no_cli_and_no_io_libraries():
    for path in modules("services"):
        names = imports_of(path)
        assert not {n for n in names if ours(n) == "cli"}, rel(path)
        top = {n.split(".")[0] for n in names}
        assert not top & (FRAMEWORKS | IO_LIBRARIES), (
            f"{rel(path)} imports {top & (FRAMEWORKS | IO_LIBRARIES)}"
        )


def test_adapters_import_neither_cli_nor_services():
    for path in modules("adapters"):
        bad = {n for n in imports_of(path) if ours(n) in {"cli", "services"}}
        assert not bad, f"{rel(path)} imports {bad}"


def test_only_the_cli_imports_typer_or_rich():
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        top = {n.split(".")[0] for n in imports_of(path)}
        assert not top & FRAMEWORKS, f"{rel(path)} imports {top & FRAMEWORKS}"


SANDBOX = PACKAGE.parent / "exactlink_sandbox"


def test_the_sandbox_imports_nothing_of_exactlink():
    paths = sorted(SANDBOX.rglob("*.py"))
    assert paths, f"no sandbox package at {SANDBOX}"
    for path in paths:
        bad = {n for n in imports_of(path) if ours(n) is not None}
        assert not bad, f"{rel(path)} imports {bad}"


# -- no import circles -------------------------------------------------------------------------
def module_names(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """``{"exactlink.adapters.exact.client": path, ...}`` for every module under ``root``."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def import_edges(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that ``name`` imports: every import statement, at the top, inside a
    function or under ``if TYPE_CHECKING`` (a type-only circle is still a circle for the next
    engineer), relative ones resolved. ``from pkg import mod`` counts as an import of
    ``pkg.mod`` when that is a module, of ``pkg`` otherwise."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                if f"{module}.{alias.name}" in known:
                    edges.add(f"{module}.{alias.name}")
                elif module in known:
                    edges.add(module)
    edges.discard(name)
    return edges


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    known = module_names(root, packages)
    return {name: import_edges(name, path, known) for name, path in known.items()}


def test_no_import_circles_anywhere():
    graph = import_graph(PACKAGE.parent, ("exactlink", "exactlink_sandbox"))
    assert len(graph) > 40 and graph["exactlink.adapters.exact.tokens"], "the graph is empty"
    assert import_cycles(graph) == []


def test_the_circle_check_finds_circles(tmp_path):
    """The check above can fail: a package with a circle through a function-level import, a
    relative import and a TYPE_CHECKING import is caught."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from .. import c\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n"
    )
    (pkg / "d.py").write_text("from pkg import a\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.d"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.c", "pkg.sub.b"]]


# The only product modules that may import the sandbox: the two commands that launch it.
SANDBOX_LAUNCHERS = {"cli/commands/sandbox.py", "cli/commands/demo.py"}


def _sandbox_imports(tree: ast.AST) -> list[tuple[ast.AST, bool]]:
    """Every import of ``exactlink_sandbox`` in ``tree``, and whether it sits inside a function."""
    found: list[tuple[ast.AST, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names = [child.module]
            if any(n == "exactlink_sandbox" or n.startswith("exactlink_sandbox.") for n in names):
                found.append((child, inside))
            visit(child, inside)

    visit(tree, False)
    return found


def test_only_the_two_launching_commands_import_the_sandbox_and_only_lazily():
    launchers_seen = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        hits = _sandbox_imports(ast.parse(path.read_text("utf-8")))
        if not hits:
            continue
        assert name in SANDBOX_LAUNCHERS, f"{rel(path)} imports exactlink_sandbox"
        eager = [node.lineno for node, inside in hits if not inside]
        assert not eager, f"{rel(path)} imports exactlink_sandbox at module level (line {eager})"
        launchers_seen.add(name)
    # The test would pass vacuously if the commands stopped launching the sandbox.
    assert launchers_seen == SANDBOX_LAUNCHERS


def test_the_architecture_check_catches_an_eager_sandbox_import():
    eager = ast.parse("from exactlink_sandbox import Sandbox\n")
    lazy = ast.parse("def f():\n    from exactlink_sandbox import Sandbox\n")
    assert [inside for _node, inside in _sandbox_imports(eager)] == [False]
    assert [inside for _node, inside in _sandbox_imports(lazy)] == [True]
