"""Every string shown to a person is in the catalogue: found in the code, not listed by hand.

The code is read with ``ast``; a string literal is *shown to a person* when it is

- the ``help=`` (and a ``metavar=`` in words) of anything (typer.Typer, Option, Argument, a
  command);
- a docstring Typer shows as a command's ``--help`` (tests/tools/i18n.py, command_docstrings);
- the text of a message: an argument of ``echo``/``secho``/``print``, of the Output methods
  (``info``, ``success``, ``warn``, ``hint``, ``error``, ``line``, ``check_line``), of
  ``prompt``/``confirm``/``Confirm.ask``, or the message and ``hint=`` of an ExactlinkError
  (any subclass, found by following the class tree) or of typer's/click's ``BadParameter``;
- a table's column header (``table([...])``), or a label of ``fields([(label, value), ...])``.

Such a literal must be wrapped in ``_()``, ``ngettext()`` or ``N_()`` (and so be in
exactlink.pot, which this test reads too); an f-string cannot be translated and is refused
outright. A few strings are not for a person to read, and are listed in ``NOT_FOR_PEOPLE``
with the reason.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.real import missing

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "exactlink"
MARKERS = {"_", "N_", "ngettext"}

# Calls whose (first, or every positional) string argument a person reads.
MESSAGE_CALLS = {
    "echo",
    "secho",
    "print",
    "info",
    "success",
    "warn",
    "hint",
    "error",
    "line",
    "prompt",
    "confirm",
    "ask",
    "BadParameter",
}
# ... and those where only one argument is the text: name → its position
TEXT_AT = {"check_line": 2}

# (file relative to src/exactlink, the literal): why it needs no translation.
NOT_FOR_PEOPLE: dict[tuple[str, str], str] = {
    ("cli/app.py", "exactlink "): "`--version`: the program's name and version, in any language",
}


@dataclass(frozen=True)
class Shown:
    path: str
    line: int
    what: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}: {self.text!r}"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """ExactlinkError and every class below it, in any module."""
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(b) for b in node.bases)
    found = {"ExactlinkError"}
    grew = True
    while grew:
        grew = False
        for name, parents in bases.items():
            if name not in found and parents & found:
                found.add(name)
                grew = True
    return found


def _has_words(text: str) -> bool:
    """A literal with at least two letters in a row: something a person reads as words."""
    return any(a.isalpha() and b.isalpha() for a, b in itertools.pairwise(text))


class _Finder(ast.NodeVisitor):
    def __init__(self, path: Path, errors: set[str]) -> None:
        self.path = str(path.relative_to(PACKAGE))
        self.errors = errors
        self.unwrapped: list[Shown] = []
        self.wrapped: list[Shown] = []

    # what is shown
    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node.func)
        for keyword in node.keywords:
            if keyword.arg in ("help", "metavar"):
                self._check(keyword.value, f"{keyword.arg}=")
        if name in MESSAGE_CALLS or name in self.errors:
            self._message(name, node)
        if name in TEXT_AT and len(node.args) > TEXT_AT[name]:
            self._check(node.args[TEXT_AT[name]], f"{name}()")
        if name == "table" and node.args:
            self._check_each(node.args[0], "table header")
        if name == "fields" and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            for pair in node.args[0].elts:
                if isinstance(pair, ast.Tuple) and pair.elts:
                    self._check(pair.elts[0], "fields label")
        if name in MARKERS:
            for arg in node.args[: 2 if name == "ngettext" else 1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    self.wrapped.append(Shown(self.path, node.lineno, name, arg.value))
        self.generic_visit(node)

    def _message(self, name: str, node: ast.Call) -> None:
        """A message call's text: an error's first argument, every argument of the others,
        and the ``hint=``/``message=``/``text=`` keywords."""
        for arg in node.args[:1] if name in self.errors else node.args:
            self._check(arg, f"{name}()")
        for keyword in node.keywords:
            if keyword.arg in ("hint", "message", "text"):
                self._check(keyword.value, f"{name}({keyword.arg}=)")

    def _check_each(self, node: ast.expr, what: str) -> None:
        if isinstance(node, ast.List | ast.Tuple):
            for element in node.elts:
                self._check(element, what)
        else:
            self._check(node, what)

    def _check(self, node: ast.expr, what: str) -> None:
        """Refuse a bare literal (or f-string) with words; follow ``a if c else b``, ``a + b``
        and ``"...".format()``, where the literal is what counts."""
        if isinstance(node, ast.IfExp):
            self._check(node.body, what)
            self._check(node.orelse, what)
        elif isinstance(node, ast.BinOp):
            self._check(node.left, what)
            self._check(node.right, what)
        elif isinstance(node, ast.Call) and _name(node.func) == "format":
            if isinstance(node.func, ast.Attribute):
                self._check(node.func.value, what)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _has_words(node.value):
                self.unwrapped.append(Shown(self.path, node.lineno, what, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if _has_words(text):
                self.unwrapped.append(Shown(self.path, node.lineno, f"{what} f-string", text))


def scan() -> tuple[list[Shown], list[Shown]]:
    """(unwrapped literals shown to a person, wrapped ones) across the package."""
    trees = {path: ast.parse(path.read_text("utf-8"), str(path)) for path in _modules()}
    errors = _error_classes(trees)
    unwrapped: list[Shown] = []
    wrapped: list[Shown] = []
    for path, tree in trees.items():
        finder = _Finder(path, errors)
        finder.visit(tree)
        unwrapped += finder.unwrapped
        wrapped += finder.wrapped
    return unwrapped, wrapped


def test_every_string_shown_to_a_person_is_wrapped():
    unwrapped, _wrapped = scan()
    found = [s for s in unwrapped if (s.path, s.text) not in NOT_FOR_PEOPLE]
    assert not found, (
        "Strings shown to a person but not in the catalogue: wrap each in _() (or N_() for a "
        "help= fixed at import time), then `python tests/tools/i18n.py all` and translate:\n"
        + "\n".join(map(str, found))
    )


def test_the_allow_list_is_still_needed():
    unwrapped, _wrapped = scan()
    seen = {(s.path, s.text) for s in unwrapped}
    stale = set(NOT_FOR_PEOPLE) - seen
    assert not stale, f"no longer in the code, drop from NOT_FOR_PEOPLE: {sorted(stale)}"


@pytest.fixture(scope="module")
def pot_ids() -> set[str]:
    try:
        from babel.messages.pofile import read_po
    except ImportError:
        missing("Babel, from the test extra (pip install '.[test]')")
    with (PACKAGE / "locale" / "exactlink.pot").open("rb") as handle:
        catalog = read_po(handle)
    ids: set[str] = set()
    for message in catalog:
        ids.update(message.id if isinstance(message.id, tuple) else (message.id,))
    return ids


def test_every_wrapped_string_is_in_the_template(pot_ids):
    """The committed exactlink.pot holds every wrapped literal (it is not stale)."""
    _unwrapped, wrapped = scan()
    assert len(wrapped) > 300, "the scan found suspiciously few messages"
    absent = [s for s in wrapped if s.text not in pot_ids]
    assert not absent, "run `python tests/tools/i18n.py all`:\n" + "\n".join(map(str, absent))


def test_every_help_docstring_is_in_the_template(pot_ids):
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tests" / "tools" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    docstrings = module.command_docstrings()
    assert len(docstrings) > 30
    absent = [f"{path.name}:{line}" for path, line, text in docstrings if text not in pot_ids]
    assert not absent, "run `python tests/tools/i18n.py all`: " + ", ".join(absent)


def test_the_scan_sees_what_it_should():
    """The finder flags a bare help=, message, error, table header and f-string, and accepts
    the wrapped ones."""
    code = """
class NotFound(ExactlinkError): ...
class Gone(NotFound): ...
app = typer.Typer(help="Manage things.")
opt = typer.Option("--x", help=N_("Fine."))
out.info("Plain words.")
out.info(_("Wrapped {n}.").format(n=1))
out.hint("---")
raise Gone(f"Client {name} is gone.", hint=_("Add it."))
raise Gone(_("Gone."), hint="Add it again.")
out.table(["name", _("status")], rows)
out.fields([("created", 1), (_("updated"), 2)])
"""
    tree = ast.parse(code)
    finder = _Finder(PACKAGE / "example.py", _error_classes({Path("x"): tree}))
    finder.visit(tree)
    assert [(s.what, s.text) for s in finder.unwrapped] == [
        ("help=", "Manage things."),
        ("info()", "Plain words."),
        ("Gone() f-string", "Client  is gone."),
        ("Gone(hint=)", "Add it again."),
        ("table header", "name"),
        ("fields label", "created"),
    ]
    assert {s.text for s in finder.wrapped} >= {"Fine.", "Wrapped {n}.", "Add it.", "Gone."}
