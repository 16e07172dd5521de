"""Maintain exactlink's message catalogues with Babel.

    python tests/tools/i18n.py extract   # source → src/exactlink/locale/exactlink.pot
    python tests/tools/i18n.py update    # .pot → merge into <lang>/LC_MESSAGES/exactlink.po
    python tests/tools/i18n.py compile   # .po → .mo (the .mo files are committed: they ship in the wheel)
    python tests/tools/i18n.py check     # fail on a missing, fuzzy or broken translation
    python tests/tools/i18n.py all       # extract, update, compile, check

The usual round after changing messages: ``all``, translate what ``check`` lists in the .po
(fuzzy entries are Babel's guesses: fix the text and delete the ``#, fuzzy`` line), ``compile``,
and commit the .pot, .po and .mo together. tests/test_i18n.py runs the same check against the
current source, so a message without a Dutch translation fails the suite.

The output is kept stable (no line numbers, no creation date), so a run that changes no message
changes no file.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
# What to extract: every module of the package except the sandbox, a simulator of Exact Online
# that speaks English and imports nothing of ours. Every message a person reads is wrapped in
# ``_()`` or ``ngettext()``, or marked with ``N_()`` when it is fixed at import time (``--help``
# texts); commands' docstrings (their ``--help``) are added by ``command_docstrings``. (The same
# map as a babel.cfg for ``pybabel extract``, which would miss the docstrings.)
METHOD_MAP = [("src/exactlink_sandbox/**", "ignore"), ("src/exactlink/**.py", "python")]
PACKAGE = ROOT / "src" / "exactlink"
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "exactlink"
POT = LOCALE_DIR / f"{DOMAIN}.pot"
LANGUAGES = ("nl",)
# A fixed date keeps the files unchanged by a run that changes no message.
STABLE_DATE = datetime(2026, 1, 1, tzinfo=UTC)

HEADER = """\
# {what} for exactlink's messages.
# Maintained with tests/tools/i18n.py; the .mo next to a .po is compiled from it and committed.
# This file is distributed under the same license as the exactlink project (MIT)."""

PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)?(?:[!:][^{}]*)?\}(?!\})")
BACKTICKED = re.compile(r"`([^`]+)`")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def po_file(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_file(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


# -- extract ------------------------------------------------------------------------------------
CLI = PACKAGE / "cli"


def _is_command_decorator(node: ast.expr) -> bool:
    """``@app.command(...)`` (or ``@app.command`` bare): Typer shows the function's docstring
    as the command's help unless the decorator passes ``help=``."""
    call = node if isinstance(node, ast.Call) else None
    target = call.func if call else node
    if not (isinstance(target, ast.Attribute) and target.attr == "command"):
        return False
    return call is None or not any(keyword.arg == "help" for keyword in call.keywords)


def _single_commands() -> dict[str, set[str]]:
    """cli.app.COMMANDS' single commands: module path → function names (their docstrings are
    their help too)."""
    tree = ast.parse((CLI / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and "COMMANDS" in ast.unparse(node)[:20]:
            found: dict[str, set[str]] = {}
            for module, attribute in ast.literal_eval(node.value).values():  # type: ignore[arg-type]
                path = str(ROOT / "src" / Path(*module.split("."))) + ".py"
                found.setdefault(path, set()).add(attribute)
            return found
    raise LookupError("cli/app.py has no COMMANDS")


def command_docstrings() -> list[tuple[Path, int, str]]:
    """(file, line, text) of every docstring Typer shows as a command's ``--help``, cleaned as
    Typer cleans it (``inspect.getdoc``): found in the code, so no command can be missed."""
    singles = _single_commands()
    found = []
    for path in sorted(CLI.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if any(map(_is_command_decorator, node.decorator_list)) or node.name in singles.get(
                str(path), ()
            ):
                text = ast.get_docstring(node, clean=True)
                if text:
                    found.append((path, node.lineno, text))
    return found


def extract() -> Catalog:
    """Every ``_()`` / ``ngettext()`` / ``N_()`` message in the package and every command's
    docstring (its ``--help``), as a template catalogue."""
    catalog = Catalog(
        project="exactlink",
        domain=DOMAIN,
        creation_date=STABLE_DATE,
        revision_date=STABLE_DATE,
        msgid_bugs_address="",
        copyright_holder="exactlink developers",
        fuzzy=False,
        header_comment=HEADER.format(what="Message template"),
    )
    # The map's patterns are relative to the repository root.
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT,
        METHOD_MAP,
        {},
        keywords=DEFAULT_KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        catalog.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
        )
    for path, lineno, text in command_docstrings():
        catalog.add(text, None, [(str(path.relative_to(ROOT)), lineno)])
    return catalog


def _write_po(path: Path, catalog: Catalog) -> bool:
    """Write ``catalog``; return True when the file changed."""
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        width=100,
        omit_header=False,
        sort_output=True,
        include_lineno=False,
        ignore_obsolete=True,
    )
    data = buffer.getvalue()
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def write_template() -> Catalog:
    template = extract()
    changed = _write_po(POT, template)
    print(f"{POT.relative_to(ROOT)}: {len(template)} messages{' (changed)' if changed else ''}")
    return template


# -- update -------------------------------------------------------------------------------------
def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def update(template: Catalog | None = None) -> None:
    """Merge the template into each language's .po (new messages empty, changed ones fuzzy)."""
    if template is None:
        template = read_catalog(POT)
    for language in LANGUAGES:
        path = po_file(language)
        if path.exists():
            catalog = read_catalog(path, locale=language)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, project="exactlink")
        catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
        catalog.header_comment = HEADER.format(what=f"Translations ({language})")
        catalog.fuzzy = False  # the header entry: a fuzzy one would drop Plural-Forms from the .mo
        catalog.msgid_bugs_address = ""
        catalog.creation_date = STABLE_DATE
        catalog.revision_date = STABLE_DATE
        catalog.last_translator = "exactlink developers"
        catalog.language_team = f"{language} <exactlink developers>"
        changed = _write_po(path, catalog)
        todo = len(list(problems(catalog, template)))
        print(
            f"{path.relative_to(ROOT)}: {len(catalog)} messages, {todo} to translate or fix"
            f"{' (changed)' if changed else ''}"
        )


# -- compile ------------------------------------------------------------------------------------
def compiled(catalog: Catalog) -> bytes:
    """The .mo bytes of ``catalog`` (fuzzy entries left out, so English shows instead)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> None:
    for language in LANGUAGES:
        catalog = read_catalog(po_file(language), locale=language)
        data = compiled(catalog)
        path = mo_file(language)
        changed = not path.exists() or path.read_bytes() != data
        if changed:
            path.write_bytes(data)
        print(f"{path.relative_to(ROOT)}: compiled{' (changed)' if changed else ''}")


# -- check --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    language: str
    msgid: str
    what: str

    def __str__(self) -> str:
        return f"[{self.language}] {self.what}: {self.msgid!r}"


def _ids(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, tuple | list):
        return tuple(message.string)
    return (message.string or "",)


def _tokens(pattern: re.Pattern[str], text: str) -> list[str]:
    return sorted(match.group(0) for match in pattern.finditer(text))


def compare(msgid: str, msgstr: str) -> list[str]:
    """What a translation must keep from its original: ``{placeholders}`` (else ``.format``
    raises), commands in backticks (a translated command does not run) and ``--options``."""
    found = []
    if _tokens(PLACEHOLDER, msgid) != _tokens(PLACEHOLDER, msgstr):
        found.append("placeholders differ")
    if _tokens(BACKTICKED, msgid) != _tokens(BACKTICKED, msgstr):
        found.append("`commands` differ")
    if _tokens(OPTION, msgid) != _tokens(OPTION, msgstr):
        found.append("--options differ")
    return found


def problems(catalog: Catalog, template: Catalog) -> Iterable[Problem]:
    """Every message of ``template`` that ``catalog`` does not translate well."""
    language = str(catalog.locale or "?")
    for wanted in template:
        if not wanted.id:
            continue
        key = wanted.id[0] if isinstance(wanted.id, tuple) else wanted.id
        have = catalog.get(key, context=wanted.context)
        if have is None:
            yield Problem(language, key, "missing (run `update`)")
            continue
        if have.fuzzy:
            yield Problem(language, key, "fuzzy (check the translation, drop the flag)")
            continue
        strings = _strings(have)
        if not all(strings):
            yield Problem(language, key, "not translated")
            continue
        ids = _ids(wanted)
        for index, text in enumerate(strings):
            original = ids[min(index, len(ids) - 1)]
            # In a plural entry, the singular may spell out the count instead of using it.
            for what in compare(original, text):
                if index == 0 and len(ids) > 1 and what == "placeholders differ":
                    continue
                yield Problem(language, key, what)
    for have in catalog:  # obsolete (#~) entries are kept apart by Babel and not listed here
        key = have.id[0] if isinstance(have.id, tuple) else have.id
        if key and template.get(key, context=have.context) is None:
            yield Problem(language, key, "stale: no longer in the source (run `update`)")


def check(template: Catalog | None = None) -> list[Problem]:
    """All problems of all languages, against ``template`` (default: the current source)."""
    if template is None:
        template = extract()
    found: list[Problem] = []
    for language in LANGUAGES:
        path = po_file(language)
        if not path.exists():
            found.append(Problem(language, str(path), "no catalogue (run `update`)"))
            continue
        catalog = read_catalog(path, locale=language)
        found += problems(catalog, template)
        mo = mo_file(language)
        if not mo.exists() or mo.read_bytes() != compiled(catalog):
            found.append(
                Problem(language, str(mo.relative_to(ROOT)), "out of date (run `compile`)")
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["extract", "update", "compile", "check", "all"])
    step = parser.parse_args(argv).step
    template = None
    if step in ("extract", "all"):
        template = write_template()
    if step in ("update", "all"):
        update(template)
    if step in ("compile", "all"):
        compile_all()
    if step in ("check", "all"):
        found = check(template)
        for problem in found:
            print(problem, file=sys.stderr)
        print(f"{len(found)} problem(s)", file=sys.stderr)
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
