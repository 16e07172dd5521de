"""The ``portals`` table: an accounting firm's portals, looked up by name (case-insensitive)."""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from exactlink.adapters.store.db import utc_now
from exactlink.models import Portal

# The columns a caller may change through ``update``; names are never taken from input.
EDITABLE = ("name", "email", "billing_name", "billing_email", "vat", "address")


class PortalDependents(NamedTuple):
    """A portal's clients and token chains; ``live_connections`` leaves out the chains already
    disconnected (their secrets are gone)."""

    clients: int
    connections: int
    live_connections: int


def _portal(row: sqlite3.Row) -> Portal:
    return Portal(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        billing_name=row["billing_name"],
        billing_email=row["billing_email"],
        vat=row["vat"],
        address=row["address"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PortalRepository:
    """Reads and writes portals; callers hold the transaction (``store.transaction()``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def get(self, name: str) -> Portal | None:
        """The portal called ``name`` (case-insensitive), or None."""
        row = self._db.execute("SELECT * FROM portals WHERE name = ?", (name,)).fetchone()
        return _portal(row) if row else None

    def get_by_id(self, portal_id: int) -> Portal | None:
        row = self._db.execute("SELECT * FROM portals WHERE id = ?", (portal_id,)).fetchone()
        return _portal(row) if row else None

    def list(self) -> list[Portal]:
        """Every portal, by name."""
        rows = self._db.execute("SELECT * FROM portals ORDER BY name").fetchall()
        return [_portal(row) for row in rows]

    def insert(
        self,
        *,
        name: str,
        email: str,
        billing_name: str | None = None,
        billing_email: str | None = None,
        vat: str | None = None,
        address: str | None = None,
    ) -> Portal:
        now = utc_now()
        cursor = self._db.execute(
            "INSERT INTO portals (name, email, billing_name, billing_email, vat, address,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, email, billing_name, billing_email, vat, address, now, now),
        )
        portal = self.get_by_id(int(cursor.lastrowid or 0))
        assert portal is not None  # just inserted, inside the caller's transaction
        return portal

    def update(self, portal_id: int, changes: dict[str, Any]) -> Portal:
        """Set the given columns (keys from ``EDITABLE``) and ``updated_at``."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        if changes:
            columns = ", ".join(f"{column} = ?" for column in changes)
            self._db.execute(
                f"UPDATE portals SET {columns}, updated_at = ? WHERE id = ?",
                (*changes.values(), utc_now(), portal_id),
            )
        portal = self.get_by_id(portal_id)
        assert portal is not None
        return portal

    def delete(self, portal_id: int) -> None:
        self._db.execute("DELETE FROM portals WHERE id = ?", (portal_id,))

    def connection_status(self, portal_id: int) -> str | None:
        """The status of the portal's own Exact connection (``connected``, ...), or None."""
        row = self._db.execute(
            "SELECT status FROM connections WHERE portal_id = ? AND client_id IS NULL",
            (portal_id,),
        ).fetchone()
        return row["status"] if row else None

    def dependents(self, portal_id: int) -> PortalDependents:
        """What keeps a portal from being deleted: its clients and its token chains (the
        portal's and clients' own), counted in one query."""
        row = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM clients WHERE portal_id = :id),"
            " (SELECT COUNT(*) FROM connections WHERE portal_id = :id),"
            " (SELECT COUNT(*) FROM connections WHERE portal_id = :id"
            "  AND status != 'disconnected')",
            {"id": portal_id},
        ).fetchone()
        return PortalDependents(int(row[0]), int(row[1]), int(row[2]))

    def delete_connections(self, portal_id: int) -> int:
        """Remove the portal's disconnected chains (their cached divisions cascade)."""
        self._db.execute(
            "DELETE FROM activations WHERE connection_id IN"
            " (SELECT id FROM connections WHERE portal_id = ?)",
            (portal_id,),
        )
        cursor = self._db.execute("DELETE FROM connections WHERE portal_id = ?", (portal_id,))
        return cursor.rowcount
