"""A real PostgreSQL server for the tests, started by the tests themselves.

One server per pytest worker (session scope), run from Debian's binaries as the ``postgres`` user
when the tests run as root (``initdb`` and ``postgres`` refuse root), its data folder in a
``tempfile.mkdtemp()`` folder (pytest's own tmp folder is 0700 root: the server could not enter
it). ``PR_SET_PDEATHSIG`` makes it die with a killed pytest. Each test gets a database of its
own, so the suite stays parallel and isolated.

No binaries: skip locally, fail in CI (``EXACTLINK_REQUIRE_REAL=1``, tests/support/real.py).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.real import missing

PR_SET_PDEATHSIG = 1


def server_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` (Debian keeps them off PATH), or PATH's."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: [int(x) for x in Path(p).parent.parent.name.split(".") if x.isdigit()],
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class PostgresServer:
    """A running throwaway server: ``dsn(dbname)``, ``create_database()``, ``stop()``."""

    bindir: Path
    root: Path
    port: int
    user_kwargs: dict
    process: subprocess.Popen | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def init(self) -> None:
        """The data folder: a copy of this process's one ``initdb`` (``_template``), which
        costs a second of CPU that a copy does not (a worker starts about a dozen servers)."""
        template = _template(self.bindir, self.user_kwargs)
        # cp -a keeps the owner (the server's user) and the 0700 the server insists on
        subprocess.run(["cp", "-a", str(template), str(self.data)], check=True)

    def start(self) -> None:
        log = open(self.root / "log", "ab")  # noqa: SIM115 - kept open for the server's life
        self.process = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=log,
            stderr=log,
            cwd=self.root,
            preexec_fn=_die_with_parent,
            **self.user_kwargs,
        )
        log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        pidfile = self.data / "postmaster.pid"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError((self.root / "log").read_text(errors="replace"))
            with contextlib.suppress(OSError):
                lines = pidfile.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(0.02)
        raise RuntimeError("PostgreSQL did not become ready")

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT), as a crash or a pulled cable would look to clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(timeout=30)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A fresh database (empty, or a copy of ``template``); returns its DSN."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.dsn(name)

    def create_schema(self) -> str:
        """A fresh empty schema in the ``postgres`` database; returns a DSN whose search_path
        is that schema (cheaper than a database per test: CREATE DATABASE copies files)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return self.dsn() + f"?options=-csearch_path%3D{name}"

    def execute(self, sql: str, dbname: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def dump(self, dsn: str) -> str:
        """``pg_dump`` of one database, as text."""
        return subprocess.run(
            [str(self.bindir / "pg_dump"), "--no-owner", dsn],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


_TEMPLATES: dict[Path, Path] = {}


def _template(bindir: Path, user_kwargs: dict) -> Path:
    """A data folder made by ``initdb`` once per test process, removed when it ends."""
    if bindir not in _TEMPLATES:
        root = Path(tempfile.mkdtemp(prefix="exactlink-pg-template-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        if "user" in user_kwargs:
            os.chown(root, user_kwargs["user"], user_kwargs["group"])
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            cwd=root,
            **user_kwargs,
        )
        _TEMPLATES[bindir] = root / "data"
    return _TEMPLATES[bindir]


def start_server() -> PostgresServer:
    bindir = server_bin()
    if bindir is None:
        missing("PostgreSQL server binaries (Debian's postgresql package)")
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="exactlink-pg-"))
    user_kwargs: dict = {}
    if os.geteuid() == 0:
        import pwd

        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            entry = pwd.getpwnam("nobody")
        os.chown(root, entry.pw_uid, entry.pw_gid)
        user_kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    server = PostgresServer(bindir=bindir, root=root, port=free_port(), user_kwargs=user_kwargs)
    server.init()
    server.start()
    return server


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server per test worker (skips without binaries, fails in CI)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg (pip install 'psycopg[binary]')")
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def postgres_server_private():
    """A server of the test's own, for the faults tests that stop or restart it."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg (pip install 'psycopg[binary]')")
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_server):
    """The DSN of a fresh empty database on the worker's server."""
    return postgres_server.create_database()


# The store key of every team store the tests make through ``store_backend`` (32 bytes).
TEST_STORE_KEY = b"exactlink-test-store-key-32bytes"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request, monkeypatch):
    """Run the test against both stores: the local SQLite file and a team store on a real
    PostgreSQL server (a fresh database, initialised, the key in ``EXACTLINK_STORE_KEY``).

    Returns the backend's name; ``EXACTLINK_STORE`` is set for the PostgreSQL case.
    """
    if request.param == "sqlite":
        monkeypatch.delenv("EXACTLINK_STORE", raising=False)
        return "sqlite"
    server = request.getfixturevalue("postgres_server")
    from exactlink.adapters import crypto
    from exactlink.services import team_store

    key = TEST_STORE_KEY
    dsn = server.create_schema()
    team_store.create_schema(dsn, key)
    monkeypatch.setenv("EXACTLINK_STORE", dsn)
    monkeypatch.setenv("EXACTLINK_STORE_KEY", crypto.encode_key(key))
    return "postgresql"


def open_store(home):
    """The store of ``home`` through the product's own adapter, whichever the backend (tests
    that set up or inspect rows directly)."""
    from exactlink.adapters.store import Store

    return Store(home / "state.db", os.environ.get("EXACTLINK_STORE"))


def query_store(home, sql: str, *args) -> list[tuple]:
    """``SELECT`` rows from the store of ``home`` as plain tuples (SQLite or PostgreSQL)."""
    store = open_store(home)
    try:
        return [tuple(row) for row in store.db.execute(sql, args).fetchall()]
    finally:
        store.close()


def secret_names(home) -> set[str]:
    """The names of the secrets stored for ``home``: the insecure file's keys on the local store,
    the sealed ``secrets`` rows on a team store."""
    import json

    if os.environ.get("EXACTLINK_STORE"):
        return {row[0] for row in query_store(home, "SELECT name FROM secrets")}
    return set(json.loads((home / "secrets-insecure.json").read_text()))


def secret_values(home) -> dict[str, str]:
    """Every stored secret of ``home`` in plain text (the insecure file on the local store; the
    sealed rows opened with the test key on a team store)."""
    import json

    if os.environ.get("EXACTLINK_STORE"):
        from exactlink.adapters.store.team_secrets import TeamSecretStore

        store = open_store(home)
        try:
            sealed = TeamSecretStore(store.db, TEST_STORE_KEY)
            return {name: sealed.get(name) or "" for name in sealed.names()}
        finally:
            store.close()
    return dict(json.loads((home / "secrets-insecure.json").read_text()))
