"""The ``activations`` table: which client is linked to which administration, on which chain.

One row per client (the primary key): a client is active on at most one division. A division is
held by at most one client per connection: the service checks that before writing, and a unique
index (migration 2) makes a concurrent second write fail; that failure leaves this module as the
same ``Conflict`` (exit 4) the service's check raises.

The chains themselves (the portal's, and a client's own link that an activation replaces) are
the connection repository's (``store.connections``).
"""

from __future__ import annotations

import shlex
import sqlite3
from collections.abc import Iterable
from typing import Any

from exactlink.adapters.store.db import utc_now
from exactlink.errors import Conflict
from exactlink.i18n import _
from exactlink.models import Activation

_COLUMNS = "client_id, connection_id, division, division_name, matched_by, activated_at"
_UPSERT = (
    f"INSERT INTO activations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (client_id) DO UPDATE SET connection_id = excluded.connection_id,"
    " division = excluded.division, division_name = excluded.division_name,"
    " matched_by = excluded.matched_by, activated_at = excluded.activated_at"
)


def _activation(row: tuple[Any, ...]) -> Activation:
    return Activation(
        client_id=row[0],
        connection_id=row[1],
        division=row[2],
        division_name=row[3],
        matched_by=row[4],
        activated_at=row[5],
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
        activation = Activation(
            client_id, connection_id, division, division_name, matched_by, utc_now()
        )
        self.put_many([activation])
        return activation

    def put_many(self, rows: Iterable[Activation]) -> int:
        """Insert or replace many activations in one statement (``activate --all``)."""
        rows = list(rows)
        try:
            cursor = self._db.executemany(_UPSERT, rows)  # an Activation is a row in column order
        except sqlite3.IntegrityError as exc:
            raise self._taken(rows) from exc
        return cursor.rowcount

    def _taken(self, rows: list[Activation]) -> Conflict:
        """The unique (connection, division) rule refused a write: another client took one of
        the divisions since the caller checked (a concurrent `exact activate`)."""
        for row in rows:
            holder = self.holder(row.connection_id, row.division)
            if holder is not None and holder.client_id != row.client_id:
                found = self._db.execute(
                    "SELECT name FROM clients WHERE id = ?", (holder.client_id,)
                ).fetchone()
                other = found[0] if found else str(holder.client_id)
                return Conflict(
                    _("Administration {code} is already activated for client '{other}'.").format(
                        code=row.division, other=other
                    ),
                    hint=_(
                        "Deactivate that client first: `exactlink exact deactivate --client {other}`."
                    ).format(other=shlex.quote(other)),
                    details={"cause": "division_taken", "division": row.division, "client": other},
                )
        return Conflict(_("An administration is already activated for another client."))

    def delete(self, client_id: int) -> bool:
        cursor = self._db.execute("DELETE FROM activations WHERE client_id = ?", (client_id,))
        return cursor.rowcount > 0
