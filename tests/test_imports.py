"""Start-up stays light: local commands import neither requests nor keyring (nor Rich when
stdout is not a terminal, nor python-stdnum when nothing is validated). Checked in a fresh
subprocess, the way a user's shell runs exactlink."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("requests", "keyring", "rich", "stdnum", "platformdirs", "psycopg", "cryptography")

PROBE = """
import runpy, sys
sys.argv = ["exactlink", *sys.argv[2:]]
code = None
try:
    runpy.run_module("exactlink", run_name="__main__")
except SystemExit as exit:
    code = exit.code
found = [m for m in {heavy!r} if m in sys.modules]  # before this probe imports json itself
import json
with open({path!r}, "w") as handle:
    json.dump({{"exit": code, "modules": found}}, handle)
"""


def loaded(tmp_path, *args):
    """Run exactlink ARGS in a fresh interpreter; the heavy modules it imported."""
    out = tmp_path / "modules.json"
    code = PROBE.format(path=str(out), heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", code, "-", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["exit"] in (0, None), proc.stderr
    return set(result["modules"])


@pytest.fixture
def home_with_clients(cli):
    """A portal with two clients, made in-process (only the probes need a fresh interpreter)."""
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    rows = "name,vat\nA,BE0403170701\nB,\n"
    assert cli("client", "import", "-", input=rows).exit_code == 0


def test_help_imports_neither_requests_nor_keyring(tmp_path):
    modules = loaded(tmp_path, "--help")
    assert not modules & {"requests", "keyring", "stdnum", "platformdirs"}


def test_client_list_stays_light(tmp_path, home_with_clients):
    # stdout is a pipe here: plain text, so not even Rich
    assert loaded(tmp_path, "client", "list") == set()
    assert loaded(tmp_path, "client", "list", "--json") == set()


def test_portal_list_stays_light(tmp_path, home_with_clients):
    assert loaded(tmp_path, "portal", "list") == set()
    assert loaded(tmp_path, "portal", "show", "--json") == set()


def test_version_stays_light(tmp_path):
    assert loaded(tmp_path, "--version") == set()


def imported(tmp_path, args, watch, *, terminal=False):
    """Run exactlink ARGS in a fresh interpreter (on a pseudo-terminal when ``terminal``);
    the exit code, the output, and which of the ``watch`` modules it imported."""
    out = tmp_path / "watched.json"
    code = PROBE.format(path=str(out), heavy=tuple(watch))
    command = [sys.executable, "-c", code, "-", *args]
    if not terminal:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
        output = proc.stdout + proc.stderr
    else:
        import os
        import pty

        # as a person's shell: colour allowed, and no TYPER_USE_RICH=0 that an earlier test's
        # import of exactlink.cli.app left in this process (a pipe turns Typer's Rich off)
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TYPER_USE_RICH")}
        env["TERM"] = "xterm-256color"
        main, child = pty.openpty()
        proc = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env)
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
        os.close(main)
        output = b"".join(chunks).decode("utf-8", "replace")
    result = json.loads(out.read_text())
    return result["exit"], output, set(result["modules"])


COMMAND_MODULES = [
    f"exactlink.cli.commands.{name}"
    for name in (
        *("portal", "client", "exact", "exact_group", "exact_connect", "activation"),
        *("doctor", "log", "support", "demo", "docs", "store"),
    )
]


def test_help_does_not_import_the_demo_or_the_connect_flow(tmp_path):
    watch = ["exactlink.services.demo", "exactlink.services.connect", *COMMAND_MODULES]
    code, output, modules = imported(tmp_path, ["--help"], watch)
    assert code in (0, None) and "demo" in output
    # the root's listing comes from cli.app.SUMMARIES: no command is imported to list it
    assert modules == set()
    code, output, modules = imported(tmp_path, ["client", "--help"], watch)
    assert code in (0, None) and "import" in output
    assert modules == {"exactlink.cli.commands.client"}


def test_exact_status_does_not_import_the_connect_flow(tmp_path, home_with_clients):
    watch = ["exactlink.services.connect", *HEAVY]
    code, output, modules = imported(tmp_path, ["exact", "status"], watch)
    assert code == 5 and "not connected" in output  # it got as far as looking
    assert modules == set()


def test_help_on_a_terminal_skips_rich_markdown_and_pygments(tmp_path):
    """Typer renders the help with Rich on a terminal; the Markdown and traceback renderers it
    imports are never used, and stay unimported (exactlink.cli.richhelp)."""
    watch = ["markdown_it", "pygments", "rich.markdown", "rich.traceback", "typer.rich_utils"]
    code, output, modules = imported(tmp_path, ["--help"], watch, terminal=True)
    assert code in (0, None), output
    assert "\x1b[" in output and "╭" in output, output  # Rich drew it, in colour
    assert "portal" in output and "doctor" in output, output  # the command list
    assert modules == {"typer.rich_utils"}, output
    code, output, modules = imported(tmp_path, ["portal", "nosuch"], watch, terminal=True)
    assert code == 2 and "No such command" in output, output  # Rich's error panel works too
    assert modules == {"typer.rich_utils"}, output


def test_the_deferred_rich_classes_still_work():
    """A stand-in behaves as the real class when something does use it."""
    from rich.console import Console

    from exactlink.cli.richhelp import stand_in

    markdown = stand_in("rich.markdown", "Markdown")
    console = Console(width=40, record=True, color_system=None)
    console.print(markdown("# Title\n\n*text*"))
    assert "Title" in console.export_text()
    traceback = stand_in("rich.traceback", "Traceback")
    try:
        raise ValueError("boom")
    except ValueError as exc:
        rendered = traceback.from_exception(type(exc), exc, exc.__traceback__)
    console.print(rendered)
    assert "boom" in console.export_text()


def test_opening_the_store_does_not_import_json(tmp_path, home_with_clients):
    """Every local command opens the store; json is only for --json output and the one
    migration that writes an audit line."""
    code, output, modules = imported(tmp_path, ["portal", "list"], ["json"])
    assert code in (0, None) and "K" in output
    assert modules == set()


READING = (
    ("client", "list", "--json"),
    ("client", "list"),
    ("client", "show", "A"),
    ("client", "export"),
    ("portal", "list"),
    ("portal", "show", "--json"),
    ("log",),
)


@pytest.mark.parametrize("store_backend", ["postgresql"], indirect=True)
def test_reading_a_team_store_skips_psycopg(tmp_path, store_backend, home_with_clients):
    """The commands that only read take the team store through libpq (postgres_reads.py);
    a command that writes takes psycopg."""
    for args in READING:
        assert loaded(tmp_path, *args) == set(), args
    assert "psycopg" in loaded(tmp_path, "client", "add", "C")


@pytest.mark.parametrize("store_backend", ["postgresql"], indirect=True)
def test_reading_the_exact_state_of_a_team_store_skips_psycopg(
    tmp_path, store_backend, sandbox_factory, cli, monkeypatch
):
    """`exact divisions` (the cached list), `exact status` without --check and `exact app
    show`, the commands support staff run most, read the team store through libpq too, the
    sealed client secret included; --refresh, which writes the list, takes psycopg."""
    from support.exactkit import connect_inprocess, make_world

    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    for args in (("exact", "divisions", "--json"), ("exact", "status", "--json")):
        assert "psycopg" not in loaded(tmp_path, *args), args
    shown = loaded(tmp_path, "exact", "app", "show", "--json")
    assert "psycopg" not in shown and "cryptography" in shown  # the secret was opened
    assert cli("--json", "exact", "app", "show").json()["secret_stored"] is True
    assert "psycopg" in loaded(tmp_path, "exact", "divisions", "--refresh")
