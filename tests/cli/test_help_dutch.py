"""Every command's --help, and the usage errors, in Dutch with --lang nl (or the locale).

The English words that must not survive are taken from the catalogue itself: the words of the
English messages (msgids) that no Dutch translation uses, plus a core of common English words
that Dutch never needs. Names a person types as they are (commands, options, arguments, choice
values) and code (`backticks`, paths, placeholders) are left out of both the list and the text.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer.main

from exactlink.cli.app import COMMANDS as TOP_COMMANDS
from exactlink.cli.app import SUMMARIES, app

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "src" / "exactlink" / "locale" / "nl" / "LC_MESSAGES" / "exactlink.po"

# Common English words Dutch never needs, checked even if some translation quotes them.
CORE_ENGLISH = {
    *("the", "and", "with", "for", "this", "that", "from", "when", "which", "are", "was", "by"),
    *("to", "your", "you", "not", "its", "it's", "options", "usage", "commands", "arguments"),
    *("default", "required", "message", "error", "missing", "such", "try", "help", "invalid"),
    *("value", "got", "unexpected"),
}
# Code and names kept as they are: `backticks`, --options and -o, {placeholders}, [a|b] choices,
# anything with / _ = @ (paths, URLs, identifiers, env vars).
CODE = re.compile(
    r"`[^`]*`|(?<![\w-])--?[A-Za-z][\w-]*|\{[^{}]*\}|\[[^\]\s|]*(?:\|[^\]\s|]*)+\]"
    r"|\S*[/_=@\\]\S*"
)
WORD = re.compile(r"[A-Za-z][A-Za-z']*[A-Za-z]")


def words(text: str) -> set[str]:
    return {w.lower().removesuffix("'") for w in WORD.findall(CODE.sub(" ", text))}


def _all_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    root = typer.main.get_command(app)
    found = []

    def walk(path, group, ctx):
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            found.append(((*path, name), command))
            if isinstance(command, click.Group):
                walk((*path, name), command, click.Context(command, parent=ctx, info_name=name))

    walk((), root, click.Context(root, info_name="exactlink"))
    return [((), root), *found]


COMMANDS = _all_commands()


def _names_typed_as_they_are() -> set[str]:
    """Command names, argument names and choice values: the same in every language."""
    names: set[str] = {"exactlink"}
    for path, command in COMMANDS:
        names.update(path)
        for param in command.params:
            if isinstance(param, click.Argument) and param.name:
                names.add(param.name.lower())
            names.update(str(c).lower() for c in getattr(param.type, "choices", ()) or ())
    return {w for name in names for w in WORD.findall(name.lower())} | names


@functools.cache
def english_words() -> frozenset[str]:
    """The catalogue's English-only words, and the core, less names typed as they are."""
    from babel.messages.pofile import read_po

    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="nl")
    english: set[str] = set()
    dutch: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for text in ids:
            english |= words(text)
        for text in strings:
            dutch |= words(text or "")
    return frozenset(((english - dutch) | CORE_ENGLISH) - _names_typed_as_they_are())


def english_left(text: str) -> list[str]:
    found = words(text) & english_words()
    return sorted(found)


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    from exactlink.i18n import set_language

    set_language("en")


def test_the_word_list_is_built_from_the_catalogue():
    found = english_words()
    assert len(found) > 300, "suspiciously few English words in the catalogue"
    assert {"client's", "show", "portal", "activate"}.isdisjoint(found - {"client's"})
    assert {"client's", "the", "options", "usage", "message", "firm's"} <= found
    # a sample of what it catches
    assert english_left("Usage: exactlink client add [OPTIONS] NAME") == ["options", "usage"]
    assert english_left("  -h, --help  Show this message and exit.") == ["and", "message", "this"]
    assert english_left("Gebruik: exactlink client add [OPTIES] NAME  `client list --all`") == []


PATHS = [path for path, _command in COMMANDS]


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "exactlink" for p in PATHS])
def test_every_help_is_in_dutch(cli, path):
    result = cli("--lang", "nl", *path, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Gebruik:" in result.stdout and "Opties" in result.stdout
    assert english_left(result.stdout) == [], result.stdout


def test_every_help_is_in_dutch_in_rich_on_a_terminal(tmp_path):
    """Typer's Rich help (what a terminal shows): every command, rendered in one process."""
    script = """
import json, sys
from typer.testing import CliRunner
from exactlink.cli.app import app
out = {}
for path in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, ["--lang", "nl", *path, "--help"])
    out[" ".join(path)] = [result.exit_code, result.output]
print(json.dumps(out))
"""
    env = {**os.environ, "TYPER_USE_RICH": "1", "COLUMNS": "100", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(PATHS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    pages = json.loads(done.stdout)
    assert len(pages) == len(PATHS)
    for path, (code, text) in pages.items():
        assert code == 0, text
        assert "╭─ Opties" in text, f"{path or 'exactlink'} is not Rich's help:\n{text}"
        assert english_left(text) == [], f"{path or 'exactlink'}:\n{text}"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--lang", "nl", "client", "add", "--help"], None),
        (["client", "add", "--help", "--lang", "nl"], None),
        (["client", "add", "--help", "--lang=nl"], None),
        (["client", "add", "--help"], {"EXACTLINK_LANG": "nl"}),
        (["client", "add", "--help"], {"LANG": "nl_NL.UTF-8", "EXACTLINK_LANG": ""}),
        (["client", "add", "--help"], {"LANG": "nl_BE.UTF-8", "EXACTLINK_LANG": ""}),
        (["--help", "--lang", "nl"], None),
        ([], {"EXACTLINK_LANG": "nl"}),  # no command: the root's help
    ],
)
def test_the_language_is_known_before_the_help(cli, args, env):
    clean = {"LC_ALL": "", "LC_MESSAGES": "", **(env or {})}
    result = cli(*args, env=clean)
    text = result.stdout + result.stderr
    assert "Gebruik:" in text and "Deze hulp tonen en stoppen." in text, text
    assert english_left(text) == [], text


def test_english_stays_english_after_a_dutch_run(cli):
    """The process-wide routing of Click's words follows the language of each run."""
    assert cli("--lang", "nl", "client", "add", "--help").exit_code == 0
    result = cli("--lang", "en", "client", "add", "--help")
    assert "Usage:" in result.stdout and "Show this message and exit." in result.stdout
    assert "Add a client account to the portal." in result.stdout
    assert "Gebruik" not in result.stdout and "TEKST" not in result.stdout


USAGE_ERRORS = [
    (["client", "nosuch"], "Opdracht 'nosuch' bestaat niet."),
    (["client", "add"], "Ontbrekend argument 'NAME'."),
    (["client", "list", "--nosuch"], "Optie '--nosuch' bestaat niet."),
    (["log", "--limit", "x"], "'x' is geen geldig getal."),
    (["log", "--limit", "0"], "ligt niet in het bereik"),
    (["client", "list", "--status", "xyz"], "is niet een van"),
    (["portal", "show", "a", "b"], "Onverwacht extra argument (b)"),
]


@pytest.mark.parametrize(
    ("args", "dutch"), USAGE_ERRORS, ids=[" ".join(a) for a, _d in USAGE_ERRORS]
)
def test_usage_errors_are_in_dutch(cli, args, dutch):
    result = cli("--lang", "nl", *args)
    assert result.exit_code == 2
    assert dutch in result.stderr, result.stderr
    # plain ("Fout: ...") or Rich's panel ("╭─ Fout ─"), as Typer was imported in this process
    assert "Fout:" in result.stderr or "─ Fout ─" in result.stderr, result.stderr
    assert "Probeer 'exactlink" in result.stderr
    assert english_left(result.stderr) == [], result.stderr


def test_dutch_summaries_fit_the_listing_and_match_each_help():
    """In Dutch too, a command's first line is its whole entry in its group's listing (not cut
    off), and the root listing (cli.app.SUMMARIES) says what the command's own help says."""
    from exactlink.cli.helptext import install_framework_translation
    from exactlink.i18n import _, set_language

    set_language("nl")
    install_framework_translation()
    root = typer.main.get_command(app)
    context = click.Context(root, info_name="exactlink")

    def walk(group, ctx):
        names = group.list_commands(ctx)
        width = 78 - 6 - max(len(name) for name in names)
        for name in names:
            command = group.get_command(ctx, name)
            summary = (command.help or "").partition("\n\n")[0]
            assert "TODO" not in summary and summary.endswith("."), name
            assert command.get_short_help_str(width) == summary, (
                f"{name}: {summary!r} ({len(summary)} characters) is cut off at {width}"
            )
            if group is root and name in SUMMARIES:
                assert _(SUMMARIES[name]) == summary, name
            if isinstance(command, click.Group):
                walk(command, click.Context(command, parent=ctx, info_name=name))

    walk(root, context)
    assert set(SUMMARIES) == set(TOP_COMMANDS)


def test_click_and_typer_still_have_the_words_we_translate():
    """cli/framework_messages.py copies Click's and Typer's messages exactly: a new release that
    rewords one must show up here, not as English in a Dutch help."""
    import ast

    source = "".join(
        path.read_text("utf-8")
        for package in (click, typer)
        for path in Path(package.__file__).parent.glob("*.py")
    )
    tree = ast.parse((ROOT / "src/exactlink/cli/framework_messages.py").read_text("utf-8"))
    texts = [
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("N_", "ngettext")
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    ]
    assert len(texts) > 60
    missing = [text for text in texts if repr(text)[1:-1] not in source and text not in source]
    assert not missing, missing


def test_rich_help_words_follow_the_language_of_each_run():
    """typer.rich_utils keeps its words in constants: set for Dutch, set back for English."""
    import typer.rich_utils

    from exactlink.cli.helptext import prepare

    prepare(["--lang", "nl", "client", "list"])
    assert typer.rich_utils.OPTIONS_PANEL_TITLE == "Opties"
    assert typer.rich_utils.REQUIRED_LONG_STRING == "[verplicht]"
    prepare(["--lang", "en", "client", "list"])
    assert typer.rich_utils.OPTIONS_PANEL_TITLE == "Options"
    assert typer.rich_utils.REQUIRED_LONG_STRING == "[required]"
