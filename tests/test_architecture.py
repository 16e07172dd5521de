"""The layout's rules, checked: imports point one way (cli → services → adapters), the leaves
import nothing of ours, the sandbox stands alone, and only the CLI touches typer or rich."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import exactlink

PACKAGE = Path(exactlink.__file__).parent
LEAVES = {"errors", "models", "paths", "i18n"}
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
