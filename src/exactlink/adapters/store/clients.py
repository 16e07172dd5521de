"""The ``clients`` table: a portal's client accounts.

Names are unique per portal, case-insensitively (``COLLATE NOCASE``, which folds ASCII letters
only: ``nocase_key`` gives Python code the same notion). ``Client.division`` comes from a LEFT JOIN
on ``activations``; the status (pending / granted / active) is derived from it, never stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from exactlink.adapters.store.db import utc_now
from exactlink.models import CLIENT_ACTIVE, CLIENT_GRANTED, CLIENT_PENDING, Client

# Columns a caller may set through ``update``; names are never taken from input.
EDITABLE = ("name", "email", "vat", "coc", "managed", "access_granted_at")

_SELECT = (
    "SELECT c.id, c.portal_id, c.name, c.email, c.vat, c.coc, c.managed, c.access_granted_at,"
    " c.created_at, c.updated_at, a.division"
    " FROM clients c LEFT JOIN activations a ON a.client_id = c.id"
)

_STATUS_WHERE = {
    CLIENT_PENDING: "a.division IS NULL AND c.access_granted_at IS NULL",
    CLIENT_GRANTED: "a.division IS NULL AND c.access_granted_at IS NOT NULL",
    CLIENT_ACTIVE: "a.division IS NOT NULL",
}

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def nocase_key(name: str) -> str:
    """The key under which SQLite's NOCASE collation compares ``name`` (ASCII case folded)."""
    return name.translate(_ASCII_LOWER)


def _client(row: Sequence[Any]) -> Client:
    return Client(
        id=row[0],
        portal_id=row[1],
        name=row[2],
        email=row[3],
        vat=row[4],
        coc=row[5],
        managed=bool(row[6]),
        access_granted_at=row[7],
        created_at=row[8],
        updated_at=row[9],
        division=row[10],
    )


def _clients(rows: Iterable[Sequence[Any]]) -> list[Client]:
    """``_client`` of every row, without keyword arguments (a list of thousands is built on
    every `client list`)."""
    make = Client._make
    return [
        make((i, p, n, e, v, c, bool(m), g, cr, up, d))
        for i, p, n, e, v, c, m, g, cr, up, d in rows
    ]


class ClientRepository:
    """Reads and writes clients; callers hold the transaction (``store.transaction()``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def get(self, portal_id: int, name: str) -> Client | None:
        """The client called ``name`` (case-insensitive) in the portal, or None."""
        row = self._db.execute(
            _SELECT + " WHERE c.portal_id = ? AND c.name = ?", (portal_id, name)
        ).fetchone()
        return _client(row) if row else None

    def get_by_id(self, client_id: int) -> Client | None:
        row = self._db.execute(_SELECT + " WHERE c.id = ?", (client_id,)).fetchone()
        return _client(row) if row else None

    def list(self, portal_id: int, *, status: str | None = None) -> list[Client]:
        """The portal's clients by name, optionally only those with ``status``."""
        return _clients(self._select(portal_id, status).fetchall())

    def iterate(self, portal_id: int, *, status: str | None = None) -> Iterator[Client]:
        """``list``, one client at a time as the rows are read (a table on a terminal holds
        only what it shows, whatever the size of the firm)."""
        for row in self._select(portal_id, status):
            yield _client(row)

    def _select(self, portal_id: int, status: str | None) -> Any:
        sql = _SELECT + " WHERE c.portal_id = ?"
        if status is not None:
            sql += " AND " + _STATUS_WHERE[status]
        sql += " ORDER BY c.name, c.id"
        cursor = self._db.execute(sql, (portal_id,))
        cursor.row_factory = None  # plain tuples: list stays fast with thousands of clients
        return cursor

    def count_by_status(self, portal_id: int) -> dict[str, int]:
        """``{"pending": n, "granted": n, "active": n}``."""
        counts = dict.fromkeys((CLIENT_PENDING, CLIENT_GRANTED, CLIENT_ACTIVE), 0)
        rows = self._db.execute(
            "SELECT CASE WHEN a.division IS NOT NULL THEN 'active'"
            " WHEN c.access_granted_at IS NOT NULL THEN 'granted' ELSE 'pending' END, COUNT(*)"
            " FROM clients c LEFT JOIN activations a ON a.client_id = c.id"
            " WHERE c.portal_id = ? GROUP BY 1",
            (portal_id,),
        ).fetchall()
        for status, count in rows:
            counts[status] = count
        return counts

    def count_by_portal(self) -> dict[int, int]:
        """``{portal_id: number of clients}`` for every portal that has any."""
        rows = self._db.execute("SELECT portal_id, COUNT(*) FROM clients GROUP BY portal_id")
        return {portal_id: count for portal_id, count in rows.fetchall()}

    def insert(
        self,
        portal_id: int,
        *,
        name: str,
        email: str | None = None,
        vat: str | None = None,
        coc: str | None = None,
        managed: bool = False,
        access_granted_at: str | None = None,
    ) -> Client:
        now = utc_now()
        cursor = self._db.execute(
            "INSERT INTO clients (portal_id, name, email, vat, coc, managed, access_granted_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (portal_id, name, email, vat, coc, int(managed), access_granted_at, now, now),
        )
        client = self.get_by_id(int(cursor.lastrowid or 0))
        assert client is not None  # just inserted, inside the caller's transaction
        return client

    def insert_many(self, portal_id: int, rows: Iterable[dict[str, Any]]) -> int:
        """Insert many clients with one ``executemany`` (the import path); returns the count."""
        now = utc_now()
        cursor = self._db.executemany(
            "INSERT INTO clients (portal_id, name, email, vat, coc, managed, access_granted_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    portal_id,
                    row["name"],
                    row.get("email"),
                    row.get("vat"),
                    row.get("coc"),
                    int(bool(row.get("managed"))),
                    row.get("access_granted_at"),
                    now,
                    now,
                )
                for row in rows
            ),
        )
        return cursor.rowcount

    def update(self, client_id: int, changes: dict[str, Any]) -> None:
        """Set the given columns (keys from ``EDITABLE``) and ``updated_at``."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        if not changes:
            return
        values = [int(v) if k == "managed" else v for k, v in changes.items()]
        columns = ", ".join(f"{column} = ?" for column in changes)
        self._db.execute(
            f"UPDATE clients SET {columns}, updated_at = ? WHERE id = ?",
            (*values, utc_now(), client_id),
        )

    def update_many(self, changes: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Apply ``(client_id, {column: value})`` pairs, batched per set of columns."""
        batches: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        now = utc_now()
        for client_id, change in changes:
            if not change:
                continue
            unknown = set(change) - set(EDITABLE)
            if unknown:
                raise ValueError(f"not editable: {sorted(unknown)}")
            values = tuple(int(v) if k == "managed" else v for k, v in change.items())
            batches.setdefault(tuple(change), []).append((*values, now, client_id))
        for columns, rows in batches.items():
            assignments = ", ".join(f"{column} = ?" for column in columns)
            self._db.executemany(
                f"UPDATE clients SET {assignments}, updated_at = ? WHERE id = ?", rows
            )

    def delete(self, client_id: int) -> None:
        """Remove the client, its activation and its disconnected own chains.

        The caller checked that no live chain of the client's own login remains (its tokens are
        in the keyring and must be removed with `exact disconnect` first).
        """
        self._db.execute(
            "DELETE FROM activations WHERE client_id = ? OR connection_id IN"
            " (SELECT id FROM connections WHERE client_id = ?)",
            (client_id, client_id),
        )
        self._db.execute("DELETE FROM connections WHERE client_id = ?", (client_id,))
        self._db.execute("DELETE FROM clients WHERE id = ?", (client_id,))

    def delete_all(self, portal_id: int) -> int:
        """Remove every client of the portal and their activations; returns how many clients."""
        self._db.execute(
            "DELETE FROM activations WHERE client_id IN"
            " (SELECT id FROM clients WHERE portal_id = ?)",
            (portal_id,),
        )
        return self._db.execute("DELETE FROM clients WHERE portal_id = ?", (portal_id,)).rowcount

    def connection_count(self, client_id: int, *, live_only: bool = True) -> int:
        """How many token chains of the client's own Exact login are recorded."""
        sql = "SELECT COUNT(*) FROM connections WHERE client_id = ?"
        if live_only:
            sql += " AND status != 'disconnected'"
        return int(self._db.execute(sql, (client_id,)).fetchone()[0])
