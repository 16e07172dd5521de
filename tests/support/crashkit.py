"""Killing exactlink with SIGKILL in the middle of a token refresh, many times, quickly.

A *zygote*: one Python process that imports the CLI once and then forks a real child process for
each run (``exactlink exact api current/Me`` as from a shell, through the CLI's own ``main``), so
a test can make fifty runs in seconds and kill each one, by pid, at a moment of its choosing. A
child may be told to kill itself just before the n-th write to the secret store, or just before
the connection's row is updated (``kill_at``): the deterministic kill points.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

ZYGOTE = r"""
import json, os, signal, sys
import typer.main
from exactlink.cli.app import app
import exactlink.cli.context, exactlink.adapters.exact.tokens, exactlink.adapters.secrets
import exactlink.adapters.store, exactlink.adapters.exact.client
import requests, keyring, filelock, keyring.backends.SecretService

command = typer.main.get_command(app)


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at(point):
    # "write:N": just before the N-th set/delete of the secret store; "db": just before the
    # connection's row records the refresh.
    from functools import cached_property
    from exactlink.adapters.store.connections import ConnectionRepository
    from exactlink.cli import context

    kind, _sep, number = point.partition(":")
    if kind == "db":
        real_update = ConnectionRepository.set_tokens_refreshed

        def update(self, *args, **kwargs):
            die()
            return real_update(self, *args, **kwargs)

        ConnectionRepository.set_tokens_refreshed = update
        return
    limit = int(number)
    real = context.AppContext.__dict__["secrets"].func

    class Killing:
        def __init__(self, inner):
            self.inner, self.writes = inner, 0
            self.backend_name, self.secure = inner.backend_name, inner.secure

        def _write(self):
            self.writes += 1
            if self.writes == limit:
                die()

        def get(self, key):
            return self.inner.get(key)

        def set(self, key, value):
            self._write()
            self.inner.set(key, value)

        def delete(self, key):
            self._write()
            self.inner.delete(key)

    prop = cached_property(lambda self: Killing(real(self)))
    prop.__set_name__(context.AppContext, "secrets")
    context.AppContext.secrets = prop


null = os.open(os.devnull, os.O_RDWR)
for line in sys.stdin:
    job = json.loads(line)
    if "wait" in job:
        # Reaped only when the test says so: until then an ended child stays a zombie, so its
        # pid cannot be handed to another process while the test may still kill it.
        _pid, status = os.waitpid(job["wait"], 0)
        killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        print(json.dumps({"signal": killed, "code": code}), flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err, 2)
        code = 1
        try:
            if job.get("kill_at"):
                kill_at(job["kill_at"])
            command.main(job["args"], prog_name="exactlink")
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        finally:
            sys.stderr.flush()
            os._exit(code)
    print(pid, flush=True)
"""


@dataclass
class Outcome:
    signal: int | None
    code: int | None
    stderr: str


class Zygote:
    """``with Zygote(env) as z: pid = z.start(args); ...; z.finish()``."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.runs = 0

    def __enter__(self) -> Zygote:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def start(self, *args: str, kill_at: str | None = None) -> int:
        """Fork one run; its pid."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.runs += 1
        self._stderr = self.folder / f"run-{self.runs}.stderr"
        job = {"args": list(args), "kill_at": kill_at, "stderr": str(self._stderr)}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        self.pid = int(self.proc.stdout.readline())
        return self.pid

    def kill(self) -> None:
        """SIGKILL the current run (our child: not yet reaped, so its pid is still its own)."""
        os.kill(self.pid, signal.SIGKILL)

    def finish(self) -> Outcome:
        """Wait for the run to end (by itself or killed)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"wait": self.pid}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        status = json.loads(line)
        text = self._stderr.read_text("utf-8", "replace") if self._stderr.exists() else ""
        return Outcome(status["signal"], status["code"], text)

    def run(self, *args: str, kill_at: str | None = None) -> Outcome:
        self.start(*args, kill_at=kill_at)
        return self.finish()


def secret_store(home: Path, *, insecure: bool):
    from exactlink.adapters.secrets import open_secret_store
    from exactlink.paths import Paths

    return open_secret_store(Paths.resolve(home), insecure=insecure)


def make_stale(home: Path, *, insecure: bool, chain: str = "connection-1") -> None:
    """Our side believes the access token expired 5 s ago, issued 605 s ago (the row, and the
    pair's own expiry): the next run refreshes."""
    now = time.time()
    db = sqlite3.connect(home / "state.db")
    db.execute(
        "UPDATE connections SET access_expires_at = ?, last_token_call_at = ?", (now - 5, now - 605)
    )
    db.commit()
    db.close()
    store = secret_store(home, insecure=insecure)
    if store.get(f"{chain}/tokens") is None:
        return  # the two-entry scheme from before issue 15: the expiry is in the row only
    _expire_pair(store, chain, now)


def _expire_pair(store, chain: str, now: float) -> None:
    """Commit the chain's pair again, expired 5 s before ``now`` and issued 605 s before."""
    from exactlink.adapters.exact.token_store import TokenPairStore

    pairs = TokenPairStore(store)
    pair = pairs.read(chain)
    assert pair is not None
    pairs.commit(chain, replace(pair, access_expires_at=now - 5, obtained_at=now - 605))


def make_team_stale(url: str, key: bytes | str, *, chain: str = "connection-1") -> None:
    """``make_stale`` for a team store: the row, and the sealed pair's own expiry, say the
    access token expired 5 s ago (issued 605 s ago), so the next run refreshes instead of
    sending a token Exact refuses (each refusal counts towards its error block, §5.1)."""
    from exactlink.adapters import crypto
    from exactlink.adapters.store.postgres import open_database
    from exactlink.adapters.store.team_secrets import TeamSecretStore

    now = time.time()
    db = open_database(url, migrate=False)
    try:
        db.execute(
            "UPDATE connections SET access_expires_at = ?, last_token_call_at = ?",
            (now - 5, now - 605),
        )
        raw = crypto.decode_key(key) if isinstance(key, str) else key
        _expire_pair(TeamSecretStore(db, raw), chain, now)
    finally:
        db.close()


def current_refresh_token(sb) -> str | None:
    """The one refresh token of the firm login's chain that Exact (the sandbox) accepts now."""
    key = (sb.seed["app"]["client_id"], sb.seed["logins"][0]["user_id"])
    with sb.engine.lock:
        chain = sb.engine.chains.get(key)
        return chain.current if chain else None


def _tcp_sockets():
    """(local port, state, receive queue) of every TCP socket of this network namespace."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    port = int(fields[1].rsplit(":", 1)[1], 16)
                    yield port, fields[3], int(fields[4].split(":")[1], 16)
        except FileNotFoundError:
            continue


LISTEN, CLOSE_WAIT = "0A", "08"


def sandbox_settled(sb) -> bool:
    """Whether the sandbox has nothing left of a process that was just killed: no connection
    waiting to be accepted (a listening socket's receive queue is its accept queue) and none
    whose peer has closed (``CLOSE_WAIT``: a handler is still reading or answering it).

    A process killed while it waits for Exact's answer has sent its request; Exact (the
    sandbox) carries it out all the same, rotating the chain a moment after the kill. What
    Exact accepts is known only once that is done."""
    port = sb.port
    return not any(
        local == port and (state == CLOSE_WAIT or (state == LISTEN and queued))
        for local, state, queued in _tcp_sockets()
    )


def token_successes(sb) -> int:
    with sb.engine.lock:
        return sum(sb.engine.token_successes.values())


def files_with(home: Path, values: list[str], *, skip: tuple[str, ...] = ()) -> list[str]:
    """Files under ``home`` (besides ``skip``) holding any of ``values``."""
    found = []
    for path in home.rglob("*"):
        if not path.is_file() or path.name in skip:
            continue
        data = path.read_bytes()
        if any(value.encode() in data for value in values if value):
            found.append(str(path.relative_to(home)))
    return found


def wait_until(predicate, timeout: float = 10.0, step: float = 0.0005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "EXACTLINK_HOME": str(home)}
