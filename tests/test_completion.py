"""Shell completion for bash and zsh (Typer's own mechanism, docs/completion.md).

Three levels: the scripts `--show-completion` and `_EXACTLINK_COMPLETE=source_{bash,zsh}` print;
the protocol those scripts speak with exactlink (`complete_bash` / `complete_zsh`); and a real
interactive bash and zsh in tmux where pressing Tab after `exactlink cl` gives `exactlink client`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.real import missing


@pytest.fixture
def shell_env(tmp_path):
    """An environment whose PATH has an `exactlink` that runs this checkout's Python."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    launcher = bindir / "exactlink"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m exactlink "$@"\n')
    launcher.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path)
    for name in list(env):
        if name.startswith("_EXACTLINK_COMPLETE") or name.startswith("_TYPER_"):
            del env[name]
    return env


def _run(command: str, env: dict, shell: str = "bash") -> subprocess.CompletedProcess:
    return subprocess.run(
        [shell, "-c", command], env=env, capture_output=True, text=True, timeout=30
    )


# -- the scripts ------------------------------------------------------------------------------------
def test_show_completion_prints_the_script_for_the_running_shell(shell_env):
    # A second command keeps bash from exec-ing exactlink, so bash stays its parent: the
    # running shell that Typer detects (it walks up the process tree).
    done = _run("exactlink --show-completion; exit $?", shell_env)
    assert done.returncode == 0, done.stderr
    assert "complete -o default -F _exactlink_completion exactlink" in done.stdout
    assert "_EXACTLINK_COMPLETE=complete_bash" in done.stdout


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("bash", "complete -o default -F _exactlink_completion exactlink"),
        ("zsh", "compdef _exactlink_completion exactlink"),
    ],
)
def test_source_script_for_each_shell(shell_env, shell, expected):
    done = _run(f"_EXACTLINK_COMPLETE=source_{shell} exactlink", shell_env)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout


# -- the protocol the scripts speak -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("exactlink cl", 1, "client"),
        ("exactlink ex", 1, "exact"),
        ("exactlink --la", 1, "--lang"),
        ("exactlink exact ac", 2, "activate"),
        ("exactlink client im", 2, "import"),
        ("exactlink exact activate --ov", 3, "--overwrite"),
    ],
)
def test_bash_protocol_completes_commands_and_options(shell_env, words, cword, expected):
    env = dict(shell_env, _EXACTLINK_COMPLETE="complete_bash", COMP_WORDS=words)
    env["COMP_CWORD"] = str(cword)
    done = subprocess.run(
        [sys.executable, "-m", "exactlink"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [expected]


def test_zsh_protocol_completes_commands_with_their_help(shell_env):
    env = dict(shell_env, _EXACTLINK_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="exactlink cl")
    done = subprocess.run(
        [sys.executable, "-m", "exactlink"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert '"client"' in done.stdout and done.stdout.startswith("_arguments")


def test_completion_touches_no_state(shell_env, isolated_home):
    env = dict(shell_env, _EXACTLINK_COMPLETE="complete_bash", COMP_WORDS="exactlink cl")
    env["COMP_CWORD"] = "1"
    subprocess.run([sys.executable, "-m", "exactlink"], env=env, capture_output=True, timeout=30)
    assert not Path(isolated_home).exists()


# -- a real interactive shell in tmux -----------------------------------------------------------------
class Tmux:
    """One private tmux server (its own socket) running one shell; killed at the end."""

    def __init__(self, socket: Path, env: dict, command: list[str]) -> None:
        self.socket = str(socket)
        self.env = env
        self._tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "30", *command)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear; the screen:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=15)


SHELLS = {
    "bash": (
        ["bash", "--norc", "--noprofile", "-i"],
        "source <(_EXACTLINK_COMPLETE=source_bash exactlink) && echo loaded-$((40+2))",
    ),
    "zsh": (
        ["zsh", "-f", "-i"],
        'autoload -U compinit && compinit -u && eval "$(_EXACTLINK_COMPLETE=source_zsh exactlink)"'
        " && echo loaded-$((40+2))",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_tab_completes_in_a_real_shell(shell_env, tmp_path, shell):
    command, setup = SHELLS[shell]
    for program in ("tmux", command[0]):
        if not shutil.which(program, path=shell_env["PATH"]):
            missing(f"{program} (CI installs it)")
    env = dict(shell_env, PS1="$ ", PROMPT="$ ", TERM="xterm")
    env.pop("TMUX", None)
    tmux = Tmux(tmp_path / "tmux.sock", env, command)
    try:
        tmux.send(setup, "Enter")
        tmux.wait_for("loaded-42")  # the arithmetic proves the shell ran it, not just echoed it
        tmux.send("exactlink cl", "Tab")
        tmux.wait_for("exactlink client")
    finally:
        tmux.kill()
