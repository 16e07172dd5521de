"""The docs stay true: the CLI reference matches the commands, the README's first commands are
the ones CI runs, and every exit code is documented."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_cli_docs():
    spec = importlib.util.spec_from_file_location(
        "cli_docs", ROOT / "tests" / "tools" / "cli_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_matches_the_commands():
    expected = _load_cli_docs().render()
    actual = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert actual == expected, "docs/cli.md is stale: python tests/tools/cli_docs.py > docs/cli.md"


def test_every_command_is_in_the_reference():
    import typer.main

    from exactlink.cli.app import app

    text = (ROOT / "docs" / "cli.md").read_text("utf-8")

    subcommands = _load_cli_docs().subcommands

    def walk(path, command):
        for name, sub in subcommands(command):
            yield [*path, name]
            yield from walk([*path, name], sub)

    for path in walk([], typer.main.get_command(app)):
        assert f"`exactlink {' '.join(path)}`" in text


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    lines = (ROOT / "README.md").read_text("utf-8").splitlines()
    block = "\n".join(lines[:8])
    assert "pip install . && exactlink demo" in block
    match = re.search(r"^pip install '\.\[test\]' && (.+?)\s*(#.*)?$", block, re.M)
    assert match, "README's first lines must hold the test command"
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "README.md" in ci and "with-keyring" in ci and "EXACTLINK_REQUIRE_REAL=1" in ci


@pytest.mark.parametrize(
    "name",
    [
        "UsageError",
        "NotFound",
        "Conflict",
        "NotConnected",
        "ExactRefused",
        "RateLimited",
        "ExactUnreachable",
        "SecureStorageUnavailable",
        "DoctorProblems",
        "Cancelled",
    ],
)
def test_every_exit_code_is_documented(name):
    import exactlink.errors as errors

    code = getattr(errors, name).exit_code
    text = (ROOT / "docs" / "exit-codes.md").read_text("utf-8")
    assert re.search(rf"^\| {code} \|", text, re.M), f"exit code {code} ({name}) not in docs"


def _commands_in(text: str) -> list[str]:
    """``exactlink …`` in inline code and in the lines of code blocks."""
    found = re.findall(r"`(exactlink [^`]*)`", text)
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for line in block.splitlines():
            code = line.split(" #", 1)[0].strip().removeprefix("$ ")  # without the comment
            for part in re.split(r"\|\||&&|\||;", code):
                if part.strip().startswith("exactlink "):
                    found.append(part.strip())
    return found


def _command_words(command: str) -> list[str]:
    """The group and command of ``exactlink [GLOBAL OPTIONS] GROUP COMMAND ...``."""
    words: list[str] = []
    tokens = iter(command.split()[1:])
    for token in tokens:
        if token in ("--home", "--portal", "--lang"):
            next(tokens, None)
        elif not token.startswith("-"):
            words.append(token)
        if len(words) == 2:
            break
    return words


def test_every_command_the_docs_show_exists():
    import typer.main

    from exactlink.cli.app import app

    subcommands = _load_cli_docs().subcommands
    root = typer.main.get_command(app)
    partial = {"cl"}  # docs/completion.md shows Tab completing `exactlink cl`
    wrong = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if path.name == "cli.md":  # generated, checked above
            continue
        for command in _commands_in(path.read_text("utf-8")):
            node = root
            for word in _command_words(command):
                children = dict(subcommands(node))
                if not children or word in partial:
                    break
                if word not in children:
                    wrong.append(f"{path.name}: {command}")
                    break
                node = children[word]
    assert not wrong, "commands in the docs that exactlink does not have:\n" + "\n".join(wrong)
