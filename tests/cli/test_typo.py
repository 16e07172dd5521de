"""A mistyped command or option gets one "Did you mean ...?" (issue 14): it was printed twice
for a subcommand (click and Typer both added it) and never for a top-level command (the root
loads its groups lazily). Plain, with --json, and on a terminal (Rich's error panel)."""

from __future__ import annotations

import os
import re
import sys

import pytest

TYPOS = [
    (["clinet", "list"], "No such command 'clinet'. Did you mean 'client'?"),
    (["client", "lisst"], "No such command 'lisst'. Did you mean 'list'?"),
    (["exact", "app", "shwo"], "No such command 'shwo'. Did you mean 'show'?"),
    (["client", "list", "--stauts", "x"], "No such option '--stauts'. Did you mean '--status'?"),
    (["client", "list", "--jsno"], "No such option '--jsno'. Did you mean '--json'?"),
    (["--portl", "K", "client", "list"], "No such option '--portl'. Did you mean '--portal'?"),
]


@pytest.mark.parametrize(("argv", "message"), TYPOS)
def test_a_typo_is_suggested_once(run_exactlink, argv, message):
    result = run_exactlink(*argv)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("Did you mean") == 1, result.stderr


@pytest.mark.parametrize(("argv", "message"), TYPOS[:3])
def test_a_typo_is_suggested_once_in_the_json_envelope(cli, argv, message):
    result = cli("--json", *argv)
    assert result.exit_code == 2
    assert result.json()["errors"] == [{"code": "usage", "message": message}]
    assert result.stderr.count("Did you mean") == 1, result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals only")
@pytest.mark.parametrize(("argv", "message"), TYPOS)
def test_a_typo_is_suggested_once_on_a_terminal(argv, message):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "exactlink", *argv],
        env=dict(os.environ, NO_COLOR="1", TERM="xterm", EXACTLINK_LANG="en"),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 200),
    )
    child.expect(pexpect.EOF)
    child.close()
    shown = re.sub(r"\x1b\[[0-9;]*m", "", child.before)  # Rich keeps bold without colour
    assert child.exitstatus == 2
    assert "Error" in shown and message.split(".")[0] in shown
    assert shown.count("Did you mean") == 1, shown
