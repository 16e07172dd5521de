"""The team store for a command that only reads: its reads through libpq itself, anything else
through psycopg.

Why: on a team store, ``client list --json`` spent more time importing psycopg (1.6 ×
``python -c "import typer"``) than on everything else together, and a command that only reads
needs none of psycopg's Python layer. Such a command (it says so: ``Store(quick_reads=True)``)
gets this connection. It runs each plain ``SELECT`` on libpq (libpq.py: the same library psycopg
runs on, so the same settings apply) and turns into a full psycopg connection
(postgres.PostgresDatabase) the first time it meets anything else: a write, a transaction, an
advisory lock, a parameter or a result type libpq.py does not read, or a server error. From
then on psycopg does all the work, so a "read-only" command that writes after all still works,
only slower, and the errors a user sees are psycopg's road's errors. Two are answered here, so
nothing waits twice: a server that cannot be reached, and a statement the server cancelled.

Opening checks what ``postgres.open_database`` checks: the schema is this exactlink's, at its
version. Otherwise psycopg opens the store, and migrates or refuses as always.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from exactlink.adapters.store import libpq
from exactlink.adapters.store.postgres_shared import (
    CONNECT_TIMEOUT,
    bind,
    cancelled,
    location_of,
    numbered,
    row_class,
    statement_timeout,
    unavailable,
)

QUERY_CANCELED = "57014"

# A SELECT that reads and nothing else: no lock, no sequence, no setting, no row lock.
_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_NOT_ONLY_READ = re.compile(
    r"\b(?:pg_advisory\w*|nextval|setval|set_config|FOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)"
    r"|FOR\s+KEY\s+SHARE|INTO)\b",
    re.IGNORECASE,
)


def only_reads(sql: str) -> bool:
    """Whether ``sql`` is a plain SELECT that libpq may answer."""
    return bool(_READ.match(sql)) and not _NOT_ONLY_READ.search(sql)


class QuickCursor:
    """The part of ``sqlite3.Cursor`` the repositories use, over rows already read."""

    row_factory: Any = None  # accepted and ignored, as in postgres.Cursor
    lastrowid = None

    def __init__(self, names: tuple[str, ...], rows: list[tuple]) -> None:
        cls = row_class(names)
        self.rowcount = len(rows)
        self._rows = iter([cls(row) for row in rows])
        # DB-API's column descriptions: the name first, the rest unknown (as sqlite3 gives).
        self.description = tuple((name, *(None,) * 6) for name in names) or None

    def fetchone(self) -> Any:
        return next(self._rows, None)

    def fetchall(self) -> list[Any]:
        return list(self._rows)

    def __iter__(self) -> Iterator[Any]:
        return self._rows


class ReadFirstDatabase:
    """A team store connection that reads through libpq until it needs psycopg (see the
    module's docstring); the same interface as ``postgres.PostgresDatabase``."""

    dialect = "postgresql"

    def __init__(
        self, url: str, where: str, conn: libpq.Connection, open_full: Callable[[str], Any]
    ) -> None:
        self.url = url
        self.location = where
        self._quick = conn
        self._open_full = open_full
        self._full: Any = None
        self._lock = threading.RLock()  # execute holds it while _psycopg takes it again

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        with self._lock:
            if self._full is None and only_reads(sql):
                text, order = numbered(sql)
                try:
                    return QuickCursor(*self._quick.query(text, bind(order, params)))
                except libpq.Unsupported:
                    pass  # psycopg reads it
                except libpq.ServerError as exc:
                    if exc.sqlstate == QUERY_CANCELED:
                        raise cancelled(self.location, exc) from None
                    # Anything else psycopg runs again and reports (or, reconnected, answers).
            full = self._psycopg()
        return full.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> Any:
        return self._psycopg().executemany(sql, rows)

    def run_script(self, script: str) -> None:
        self._psycopg().run_script(script)

    @property
    def in_transaction(self) -> bool:
        return self._full is not None and bool(self._full.in_transaction)

    @property
    def reads_through_libpq(self) -> bool:
        """Whether every statement so far went through libpq (psycopg not needed yet)."""
        return self._full is None

    def transaction(self) -> Any:
        return self._psycopg().transaction()

    def advisory_lock(self, namespace: int, key: int, timeout: float) -> Any:
        return self._psycopg().advisory_lock(namespace, key, timeout)

    def close(self) -> None:
        self._quick.close()
        if self._full is not None:
            self._full.close()

    def _psycopg(self) -> Any:
        """The psycopg connection, opened (and the libpq one closed) the first time."""
        with self._lock:
            if self._full is None:
                self._quick.close()
                self._full = self._open_full(self.url)
            return self._full


def open_for_reads(url: str, open_full: Callable[[str], Any]) -> ReadFirstDatabase | None:
    """The read-first connection to the team store at ``url``, or None when psycopg should
    open it: no libpq of psycopg_binary's here, a URL libpq does not parse (psycopg says why),
    or a schema that is not this exactlink's at its version (psycopg migrates or refuses).

    Raises ``StoreUnavailable`` when the server cannot be reached or refuses the login.
    """
    lib = libpq.load()
    if lib is None:
        return None
    params = lib.parse(url)
    if params is None:
        return None
    where = location_of(params)
    settings = {
        "connect_timeout": str(CONNECT_TIMEOUT),
        "application_name": "exactlink",
        "client_encoding": "UTF8",
    }
    try:
        conn = lib.connect(url, settings)
    except libpq.ConnectFailed as exc:
        raise unavailable(where, exc) from None
    from exactlink.adapters.store.postgres_migrations import MIGRATIONS

    try:
        # One round trip: the statement timeout psycopg's road sets, bytea in the one text form
        # libpq.py reads (the sealed secrets), and the schema's version.
        _names, rows = conn.run(
            f"SET statement_timeout = {int(statement_timeout() * 1000)};"
            " SET bytea_output = hex; SELECT version FROM exactlink_schema"
        )
    except (libpq.ServerError, libpq.Unsupported):
        rows = []
    if rows != [(len(MIGRATIONS),)]:
        conn.close()
        return None
    return ReadFirstDatabase(url, where, conn, open_full)
