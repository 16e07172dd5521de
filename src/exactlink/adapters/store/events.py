"""The append-only audit log: who changed what, when."""

from __future__ import annotations

import builtins
import functools
import getpass
import json
import sqlite3
from typing import Any

from exactlink.adapters.store.db import utc_now
from exactlink.models import Event


@functools.cache  # one lookup per process: an import records thousands of events
def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


@functools.cache
def _host() -> str:
    import socket

    try:
        return socket.gethostname() or "unknown"
    except OSError:
        return "unknown"


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
        """Newest last; ``limit`` keeps the most recent N."""
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        if action is not None:
            where.append("action = ?")
            args.append(action)
        if portal is not None:
            where.append("portal = ? COLLATE NOCASE")
            args.append(portal)
        if client is not None:
            where.append("client = ? COLLATE NOCASE")
            args.append(client)
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
