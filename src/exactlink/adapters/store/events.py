"""The append-only audit log: who changed what, when."""

from __future__ import annotations

import builtins
import functools
import getpass
import json
import os
import sqlite3
from typing import Any

from exactlink.adapters.store.db import utc_now
from exactlink.models import Event


@functools.cache  # one lookup per process: an import records thousands of events
def _os_user() -> str:
    """The account the process runs as, from the OS (the password database on POSIX).

    Not ``getpass.getuser()``: it reads ``LOGNAME``/``USER`` first, so anyone could write
    another person's name into the audit log by setting an environment variable.
    """
    if os.name != "posix":  # Windows: the logon name of the process token
        try:
            return os.getlogin()
        except OSError:
            pass
        try:  # USERNAME; without it getpass tries pwd, which Windows lacks (ImportError, OSError)
            return getpass.getuser()
        except (ImportError, OSError, KeyError):
            return "unknown"
    import pwd

    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # no passwd entry (some containers): the number is still the truth
        return f"uid:{uid}"


@functools.cache
def _host() -> str:
    import socket

    try:
        return socket.gethostname() or "unknown"
    except OSError:
        return "unknown"


def os_identity() -> str:
    """``user@host`` of this process, as events record it."""
    return f"{_os_user()}@{_host()}"


class EventRepository:
    """Appends to and reads the ``events`` table (triggers forbid UPDATE and DELETE)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def record(
        self,
        action: str,
        subject: str | None = None,
        *,
        portal: str | None = None,
        client: str | None = None,
        details: dict[str, Any] | None = None,
        exact_user: str | None = None,
    ) -> None:
        """Append one event with the OS user and host (and ``exact_user``, the Exact login, for
        an Exact call). ``details`` must never contain a secret."""
        self._db.execute(
            "INSERT INTO events (at, os_user, host, portal, client, action, subject, details,"
            " exact_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                utc_now(),
                _os_user(),
                _host(),
                portal,
                client,
                action,
                subject,
                json.dumps(details or {}, sort_keys=True, ensure_ascii=False),
                exact_user,
            ),
        )

    def last_connect(self, connection_id: int) -> Event | None:
        """The newest ``exact.connect`` event of a connection (who made the chain, and when)."""
        for event in reversed(self.list(action="exact.connect", limit=200)):
            if event.details.get("connection_id") == connection_id:
                return event
        return None

    def list(
        self,
        *,
        portal: str | None = None,
        client: str | None = None,
        limit: int | None = None,
        action: str | None = None,
    ) -> list[Event]:
        """Newest last; ``limit`` keeps the most recent N. ``client`` follows the client back
        through its renames (``client update --rename``), so its whole history shows under its
        current name, and not the history of an earlier client that had the same name."""
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        if action is not None:
            where.append("action = ?")
            args.append(action)
        if portal is not None:
            where.append("portal = ? COLLATE NOCASE")
            args.append(portal)
        if client is not None:
            spans = self._name_spans(portal, client)
            where.append(
                "("
                + " OR ".join(["(client = ? COLLATE NOCASE AND id > ? AND id <= ?)"] * len(spans))
                + ")"
            )
            for span in spans:
                args.extend(span)
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self._db.execute(sql, args).fetchall()
        return [
            Event(
                id=row["id"],
                at=row["at"],
                os_user=row["os_user"],
                portal=row["portal"],
                client=row["client"],
                action=row["action"],
                subject=row["subject"],
                details=json.loads(row["details"]),
                host=row["host"],
                exact_user=row["exact_user"],
            )
            for row in reversed(rows)
        ]

    def _name_spans(self, portal: str | None, client: str) -> builtins.list[tuple[str, int, int]]:
        """``(name, after_id, up_to_id)`` for each name the client had, newest first.

        A name's span starts after the last event that freed it (the client holding it was
        removed, or renamed away from it) and ends where the client got its next name.
        """
        scope, scope_args = ("portal = ? COLLATE NOCASE AND ", [portal]) if portal else ("", [])
        renamed_from = "json_extract(details, '$.renamed_from')"
        spans: builtins.list[tuple[str, int, int]] = []
        name, up_to = client, _NO_LIMIT
        for _step in range(_MAX_RENAMES):
            last = self._db.execute(
                f"SELECT MAX(id) FROM events WHERE {scope}client = ? COLLATE NOCASE AND id <= ?",
                [*scope_args, name, up_to],
            ).fetchone()[0]
            if last is None:
                break
            freed = self._db.execute(
                f"SELECT MAX(id) FROM events WHERE {scope}id < ? AND ("
                "(action = 'client.remove' AND client = ? COLLATE NOCASE)"
                f" OR (action = 'client.update' AND {renamed_from} = ? COLLATE NOCASE"
                " AND client <> ? COLLATE NOCASE))",
                [*scope_args, last, name, name, name],
            ).fetchone()[0]
            after = freed or 0
            spans.append((name, after, up_to))
            rename = self._db.execute(
                f"SELECT id, {renamed_from} FROM events WHERE {scope}action = 'client.update'"
                f" AND client = ? COLLATE NOCASE AND {renamed_from} IS NOT NULL"
                " AND id > ? AND id <= ? ORDER BY id DESC LIMIT 1",
                [*scope_args, name, after, up_to],
            ).fetchone()
            if rename is None:
                break
            name, up_to = rename[1], rename[0] - 1
        return spans or [(client, 0, 0)]


# Event ids are SQLite rowids; a span without an upper end reaches past all of them.
_NO_LIMIT = 2**63 - 1
# A client renamed more often than this shows the history of its latest names only.
_MAX_RENAMES = 100
