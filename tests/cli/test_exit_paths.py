"""The ways a command ends that no command chooses: a bug (an unexpected exception), Ctrl-C and a
reader that goes away (`| head -1`). The first in-process, where a bug can be planted; Ctrl-C
and the closed pipe as a person meets them: a real process, a real signal, a real shell."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys

import pytest

from support.exactkit import make_world, stats


def _plant_bug(monkeypatch, error: BaseException) -> None:
    """`portal list` raises ``error`` from inside its service, with a secret in a local."""

    def list_portals(store, config):
        secret = "".join(reversed("!TERCES-LACOL"))  # a local: tracebacks never show locals
        if secret:
            raise error
        return []

    monkeypatch.setattr("exactlink.services.portals.list_portals", list_portals)


def test_an_unexpected_exception_is_one_line_and_exit_1(cli, monkeypatch):
    _plant_bug(monkeypatch, RuntimeError("the planted bug"))
    result = cli("portal", "list")
    assert result.exit_code == 1
    assert "Error: Unexpected error: RuntimeError: the planted bug" in result.stderr
    assert "--debug" in result.stderr  # the hint says how to see more
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_an_unexpected_exception_in_json_mode_is_an_internal_error_envelope(cli, monkeypatch):
    _plant_bug(monkeypatch, KeyError("portal"))
    result = cli("--json", "portal", "list")
    assert result.exit_code == 1
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "error"
    assert envelope["errors"] == [{"code": "internal", "message": "'portal'"}]
    assert "Unexpected error: KeyError" in result.stderr


def test_debug_shows_the_traceback_without_locals(cli, monkeypatch):
    _plant_bug(monkeypatch, RuntimeError("the planted bug"))
    result = cli("--debug", "portal", "list")
    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert "in list_portals" in result.stderr  # down to the frame that raised
    assert "RuntimeError: the planted bug" in result.stderr
    assert "Unexpected error: RuntimeError: the planted bug" in result.stderr
    assert "LOCAL-SECRET" not in result.stderr


def test_keyboard_interrupt_inside_a_command_exits_130(cli, monkeypatch):
    _plant_bug(monkeypatch, KeyboardInterrupt())
    result = cli("--json", "portal", "list")
    assert result.exit_code == 130
    assert "Interrupted." in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["errors"][0]["code"] == "cancelled"


# ----------------------------------------------------------------------------- Ctrl-C for real


def test_ctrl_c_while_waiting_for_the_browser_exits_130(sandbox_factory, cli, isolated_home):
    """SIGINT to a real `exact connect` waiting on its loopback listener: 130, one line."""
    world = make_world(sandbox_factory, cli)
    proc = subprocess.Popen(
        [sys.executable, "-m", "exactlink", "exact", "connect", "--timeout", "120"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EXACTLINK_HOME": str(isolated_home), "BROWSER": "true"},
    )
    try:
        seen = []
        while not (line := proc.stderr.readline()).startswith("Waiting for the browser"):
            assert line, "stderr closed early: " + "".join(seen)
            seen.append(line)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Interrupted." in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert out == ""
    # Nothing was made: no token asked for, no connection stored.
    assert stats(world.sb)["token_calls"] == 0
    assert cli("--json", "exact", "status").json()["status"] != "connected"


def test_ctrl_c_at_the_paste_prompt_of_a_terminal_exits_130(sandbox_factory, cli, isolated_home):
    """Ctrl-C typed on a real pseudo-terminal (the tty sends SIGINT to the foreground group)."""
    pexpect = pytest.importorskip("pexpect")
    make_world(sandbox_factory, cli)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "exactlink", "exact", "connect", "--no-browser", "--timeout", "120"],
        env={**os.environ, "EXACTLINK_HOME": str(isolated_home), "TERM": "xterm"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    child.expect_exact("paste the address the browser landed on:")
    child.sendintr()  # the terminal's interrupt character, ^C
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, child.before
    assert child.signalstatus is None
    assert "Traceback" not in child.before and "KeyboardInterrupt" not in child.before


# ---------------------------------------------------------------------------- the closed pipe


CLIENTS = 3000


@pytest.fixture(scope="module")
def many_clients(tmp_path_factory) -> str:
    """A home with a portal of 3,000 clients: `client list` writes some 360 KB, far more than a
    pipe holds (64 KiB) and a reader takes in one read, so the writer meets the closed pipe for
    sure. Made once for the module: the tests only read it (through ``--home``)."""
    from typer.testing import CliRunner

    from exactlink.cli.app import app

    home = str(tmp_path_factory.mktemp("many-clients") / "home")
    rows = ["name;email"] + [
        f"Klant {i:04d} Administratiekantoor en Belastingadvies B.V.;"
        f"administratie.klant{i}@voorbeeld-kantoor.nl"
        for i in range(CLIENTS)
    ]
    for args, stdin in (
        (["portal", "create", "Kantoor Peeters", "--email", "info@kantoor.be"], None),
        (["client", "import", "-", "--format", "csv"], "\n".join(rows) + "\n"),
    ):
        done = CliRunner().invoke(app, ["--home", home, *args], input=stdin)
        assert done.exit_code == 0, done.output
    return home


def _shell(command: str, home: str) -> subprocess.CompletedProcess:
    """``command`` in a real bash, exactlink being this Python on ``home``; then the exit status
    of the pipeline's first part (``exit=N``)."""
    exactlink = f"{shlex.quote(sys.executable)} -m exactlink --home {shlex.quote(home)}"
    script = command.replace("exactlink", exactlink, 1) + '; echo "exit=${PIPESTATUS[0]}"'
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )


@pytest.mark.parametrize(
    ("command", "first"),
    [
        ("exactlink client list | head -1", "NAME"),
        ("exactlink client list --json | head -c 1", "["),
    ],
)
def test_a_closed_pipe_ends_quietly(many_clients, command, first):
    done = _shell(command, many_clients)
    out, _, status = done.stdout.rpartition("exit=")
    assert out.startswith(first)
    assert done.stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
    # 141 (128 + SIGPIPE, as other Unix tools end) when the write fails; 0 when Python's buffered
    # writer takes a short write as the end (it drops the rest without an error).
    assert int(status) in (0, 141)


def test_a_reader_that_reads_everything_gets_everything(many_clients):
    """The same command with a patient reader: every client, exit 0 (the pipe is no excuse)."""
    done = _shell("exactlink client list --json | cat", many_clients)
    out, _, status = done.stdout.rpartition("exit=")
    assert int(status) == 0, done.stderr
    assert len(json.loads(out)) == CLIENTS
