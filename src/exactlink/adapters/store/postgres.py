"""The team store's connection: PostgreSQL through psycopg 3, behind the same small interface the
repositories use on SQLite (``execute``, ``executemany``, rows by index or by name, ``lastrowid``).

Why an adapter rather than a second set of repositories: one set of SQL, tested against both
stores by one parametrized fixture, so the two cannot drift. The SQL the repositories write is
the common subset of SQLite and PostgreSQL; this module only swaps the parameter style (``?`` and
``:name`` become ``%s`` and ``%(name)s``) and adds ``RETURNING id`` where SQLite would give
``lastrowid``. ``COLLATE NOCASE`` resolves to the ``nocase`` collation the first migration
creates (an ICU case-insensitive collation).

Concurrency matches SQLite's: every write transaction takes one advisory transaction lock first
(SQLite's ``BEGIN IMMEDIATE``), so a command's check-then-write cannot interleave with a
colleague's. Writes are short; reads never wait.

psycopg is imported here and only here, and this module only when the store is PostgreSQL
(local commands keep their start-up: tests/test_imports.py).

Passwords never leave libpq: the URL given is passed as is, messages name only host, port and
database (``location``), and libpq's own error text never carries the password.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from exactlink.adapters.store.db import StoreError

# Advisory locks (postgres_locks.py), importable from here as before.
from exactlink.adapters.store.postgres_locks import LOCK_NAMESPACE as LOCK_NAMESPACE
from exactlink.adapters.store.postgres_locks import MIGRATION_LOCK as MIGRATION_LOCK
from exactlink.adapters.store.postgres_locks import TOKEN_LOCK_NAMESPACE as TOKEN_LOCK_NAMESPACE
from exactlink.adapters.store.postgres_locks import WRITE_LOCK as WRITE_LOCK
from exactlink.adapters.store.postgres_shared import (
    CONNECT_TIMEOUT,
    cancelled,
    first_line,
    location_of,
    row_class,
    statement_timeout,
    translate,
    unavailable,
)
from exactlink.adapters.store.postgres_shared import StoreUnavailable as StoreUnavailable
from exactlink.i18n import _

# Tables whose INSERT gives ``lastrowid`` (an identity column ``id``).
_ID_TABLES = frozenset({"portals", "clients", "connections", "exact_errors", "events"})


def location(url: str) -> str:
    """``host:port/dbname`` of a libpq URL or keyword string, PG* variables filled in: what
    messages and ``store status`` show (never the user's password)."""
    try:
        return location_of(psycopg.conninfo.conninfo_to_dict(url))
    except psycopg.ProgrammingError:
        return "?"


def has_password(url: str) -> bool:
    """Whether the URL itself carries a password (refused in config: use ~/.pgpass)."""
    try:
        return bool(psycopg.conninfo.conninfo_to_dict(url).get("password"))
    except psycopg.ProgrammingError:
        return False


_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _returning_id(sql: str) -> bool:
    found = _INSERT.match(sql)
    return bool(found and found.group(1).lower() in _ID_TABLES and "RETURNING" not in sql.upper())


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    cls = row_class(tuple(column.name for column in description))
    return cls


class Cursor:
    """The part of ``sqlite3.Cursor`` the repositories use."""

    row_factory: Any = None  # accepted and ignored: rows already read by index and by name

    def __init__(self, cursor: psycopg.Cursor[Any], lastrowid: int | None = None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PostgresDatabase:
    """One psycopg connection (autocommit; explicit transactions through ``transaction()``)."""

    dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any], url: str) -> None:
        self._conn = conn
        self.url = url
        self.location = location(url)

    # -- the sqlite3.Connection subset -------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        returning = _returning_id(sql)
        query = translate(sql) + (" RETURNING id" if returning else "")
        with self._errors():
            cursor = self._conn.cursor(row_factory=_row_factory)
            cursor.execute(query, params)  # always params, so %% always means %
            lastrowid = None
            if returning:
                row = cursor.fetchone()
                lastrowid = int(row[0]) if row else None
            return Cursor(cursor, lastrowid)

    def executemany(self, sql: str, rows: Any) -> Cursor:
        with self._errors():
            cursor = self._conn.cursor(row_factory=_row_factory)
            cursor.executemany(translate(sql), list(rows))
            return Cursor(cursor)

    def run_script(self, script: str) -> None:
        """Several statements as they are (DDL; no parameters, no translation)."""
        with self._errors():
            self._conn.execute(script.encode("utf-8"))

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()

    # -- transactions and locks --------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[PostgresDatabase]:
        """One write transaction holding the store's write lock (see the module's docstring)."""
        if self.in_transaction:
            yield self
            return
        with self._errors(), self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, WRITE_LOCK))
            yield self

    @contextmanager
    def advisory_lock(self, namespace: int, key: int, timeout: float) -> Iterator[None]:
        """A session-level advisory lock, waiting at most ``timeout`` seconds; raises
        ``LockTimeout`` when another holder keeps it longer."""
        with self._errors():
            self._conn.execute(f"SET lock_timeout = {int(timeout * 1000)}")
            try:
                self._conn.execute("SELECT pg_advisory_lock(%s, %s)", (namespace, key))
            except pg_errors.LockNotAvailable:
                raise LockTimeout from None
            finally:
                self._conn.execute("SET lock_timeout = 0")
        try:
            yield
        finally:
            with self._errors():
                if not self._conn.closed:
                    self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (namespace, key))

    # -- errors ------------------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except pg_errors.InsufficientPrivilege as exc:
            raise StoreError(
                _("The team store {where} refused: {error}").format(
                    where=self.location, error=first_line(exc)
                ),
                hint=_("Ask the firm's administrator for the member grants in docs/team.md."),
            ) from None
        except (pg_errors.IntegrityError, pg_errors.ProgrammingError, LockTimeout):
            raise  # our own SQL or a constraint: a bug report is the right answer
        except pg_errors.QueryCanceled as exc:
            raise cancelled(self.location, exc) from None
        except psycopg.OperationalError as exc:
            raise unavailable(self.location, exc) from None
        except psycopg.Error as exc:
            raise StoreError(
                _("The team store {where} cannot be used: {error}").format(
                    where=self.location, error=first_line(exc)
                ),
                hint=_("Check the server, or run `exactlink store status`."),
            ) from None


class LockTimeout(TimeoutError):
    """An advisory lock was not granted within its timeout."""


def open_database(url: str, *, migrate: bool = True) -> PostgresDatabase:
    """Connect to the team store at ``url`` (libpq settings apply) and, when ``migrate``,
    bring its schema up to date (refusing a database that is not a team store)."""
    where = location(url)
    try:
        conn = psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="exactlink",
        )
    except psycopg.OperationalError as exc:
        raise unavailable(where, exc) from None
    except psycopg.ProgrammingError as exc:
        raise StoreError(
            _("The team store URL is not valid: {error}").format(error=first_line(exc)),
            hint=_("Use postgresql://USER@HOST:PORT/DBNAME (the password in ~/.pgpass)."),
        ) from None
    db = PostgresDatabase(conn, url)
    with db._errors():
        conn.execute(f"SET statement_timeout = {int(statement_timeout() * 1000)}")
    if migrate:
        from exactlink.adapters.store import postgres_migrations

        postgres_migrations.upgrade(db)
    return db
