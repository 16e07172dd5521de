"""The ``activations`` table: which client is linked to which administration, on which chain.

One row per client (the primary key): a client is active on at most one division. A division is
held by at most one client per connection; the service checks that before writing, so the table
needs no unique index on it (which keeps the migration untouched).

The activation commands also retire the *replaced* link of a client: its own token chain made by
``exact connect --client`` (a ``connections`` row with that ``client_id``). The few reads and the
delete of such rows that activation needs live here, so the activation service does not depend on
the connection repository's shape.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from exactlink.adapters.store.db import utc_now
from exactlink.models import Activation, Connection

_COLUMNS = "client_id, connection_id, division, division_name, matched_by, activated_at"


def _activation(row: tuple[Any, ...]) -> Activation:
    return Activation(
        client_id=row[0],
        connection_id=row[1],
        division=row[2],
        division_name=row[3],
        matched_by=row[4],
        activated_at=row[5],
    )


def _connection(row: sqlite3.Row) -> Connection:
    return Connection(
        id=row["id"],
        portal_id=row["portal_id"],
        client_id=row["client_id"],
        base_url=row["base_url"],
        app_client_id=row["app_client_id"],
        status=row["status"],
        storage=row["storage"],
        exact_user_id=row["exact_user_id"],
        exact_username=row["exact_username"],
        exact_full_name=row["exact_full_name"],
        exact_email=row["exact_email"],
        current_division=row["current_division"],
        access_expires_at=row["access_expires_at"],
        refresh_issued_at=row["refresh_issued_at"],
        last_token_call_at=row["last_token_call_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class ActivationRepository:
    """Reads and writes activations; callers hold the transaction (``store.transaction()``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def get(self, client_id: int) -> Activation | None:
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM activations WHERE client_id = ?", (client_id,)
        )
        cursor.row_factory = None
        row = cursor.fetchone()
        return _activation(row) if row else None

    def holder(self, connection_id: int, division: int) -> Activation | None:
        """The activation that holds ``division`` on this connection, if any."""
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM activations WHERE connection_id = ? AND division = ?",
            (connection_id, division),
        )
        cursor.row_factory = None
        row = cursor.fetchone()
        return _activation(row) if row else None

    def by_connection(self, connection_id: int) -> list[Activation]:
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM activations WHERE connection_id = ? ORDER BY division",
            (connection_id,),
        )
        cursor.row_factory = None
        return [_activation(row) for row in cursor.fetchall()]

    def for_portal(self, portal_id: int) -> list[Activation]:
        """Every activation of the portal's clients (on any chain)."""
        cursor = self._db.execute(
            "SELECT a.client_id, a.connection_id, a.division, a.division_name, a.matched_by,"
            " a.activated_at FROM activations a JOIN clients c ON c.id = a.client_id"
            " WHERE c.portal_id = ? ORDER BY a.division",
            (portal_id,),
        )
        cursor.row_factory = None
        return [_activation(row) for row in cursor.fetchall()]

    def put(
        self,
        client_id: int,
        *,
        connection_id: int,
        division: int,
        division_name: str | None,
        matched_by: str,
    ) -> Activation:
        """Insert or replace the client's activation."""
        now = utc_now()
        self._db.execute(
            f"INSERT INTO activations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (client_id) DO UPDATE SET connection_id = excluded.connection_id,"
            " division = excluded.division, division_name = excluded.division_name,"
            " matched_by = excluded.matched_by, activated_at = excluded.activated_at",
            (client_id, connection_id, division, division_name, matched_by, now),
        )
        return Activation(client_id, connection_id, division, division_name, matched_by, now)

    def put_many(self, rows: Iterable[Activation]) -> int:
        """Insert or replace many activations in one statement (``activate --all``)."""
        cursor = self._db.executemany(
            f"INSERT INTO activations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (client_id) DO UPDATE SET connection_id = excluded.connection_id,"
            " division = excluded.division, division_name = excluded.division_name,"
            " matched_by = excluded.matched_by, activated_at = excluded.activated_at",
            (
                (
                    a.client_id,
                    a.connection_id,
                    a.division,
                    a.division_name,
                    a.matched_by,
                    a.activated_at,
                )
                for a in rows
            ),
        )
        return cursor.rowcount

    def delete(self, client_id: int) -> bool:
        cursor = self._db.execute("DELETE FROM activations WHERE client_id = ?", (client_id,))
        return cursor.rowcount > 0

    # -- the chains an activation relies on or replaces ---------------------------------------
    def portal_connection(self, portal_id: int) -> Connection | None:
        """The portal's own chain (the firm's login): ``client_id`` is NULL."""
        row = self._db.execute(
            "SELECT * FROM connections WHERE portal_id = ? AND client_id IS NULL", (portal_id,)
        ).fetchone()
        return _connection(row) if row else None

    def own_connection(self, client_id: int) -> Connection | None:
        """A client's own link (``exact connect --client``), whatever its status."""
        row = self._db.execute(
            "SELECT * FROM connections WHERE client_id = ? ORDER BY id DESC LIMIT 1",
            (client_id,),
        ).fetchone()
        return _connection(row) if row else None

    def connection(self, connection_id: int) -> Connection | None:
        row = self._db.execute(
            "SELECT * FROM connections WHERE id = ?", (connection_id,)
        ).fetchone()
        return _connection(row) if row else None

    def retire_connection(self, connection_id: int) -> None:
        """Remove a replaced chain's row, with what hangs off it (its activation, its cache).

        The caller removes the chain's secrets from the keyring (they are not in this database).
        """
        self._db.execute("DELETE FROM activations WHERE connection_id = ?", (connection_id,))
        self._db.execute("DELETE FROM divisions WHERE connection_id = ?", (connection_id,))
        self._db.execute("DELETE FROM rate_limits WHERE connection_id = ?", (connection_id,))
        self._db.execute(
            "UPDATE exact_errors SET connection_id = NULL WHERE connection_id = ?",
            (connection_id,),
        )
        self._db.execute("DELETE FROM connections WHERE id = ?", (connection_id,))

    def all_connection_keys(self) -> list[str]:
        """The keyring prefix of every chain in the store (``connection-{id}``)."""
        return [f"connection-{row[0]}" for row in self._db.execute("SELECT id FROM connections")]

    def store_summary(self) -> dict[str, Any]:
        """Row counts of the whole store (for a support bundle; no names, no secrets)."""

        def count(sql: str) -> int:
            return int(self._db.execute(sql).fetchone()[0])

        return {
            "schema_version": count("PRAGMA user_version"),
            "portals": count("SELECT COUNT(*) FROM portals"),
            "clients": count("SELECT COUNT(*) FROM clients"),
            "activations": count("SELECT COUNT(*) FROM activations"),
            "cached_divisions": count("SELECT COUNT(*) FROM divisions"),
            "connections": self.connections_summary(),
            "events": count("SELECT COUNT(*) FROM events"),
            "exact_errors": count("SELECT COUNT(*) FROM exact_errors"),
        }

    def connections_summary(self) -> dict[str, int]:
        """How many chains per status (for a support bundle)."""
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM connections GROUP BY status"
        ).fetchall()
        return {row[0]: row[1] for row in rows}
