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
