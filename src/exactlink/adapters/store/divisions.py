"""The ``divisions`` cache: what ``system/Divisions`` returned for a connection, and when.

Exact asks integrations not to fetch ``current/Me`` or ``system/Divisions`` on every command
(reference §5.3: every call counts against the division's daily budget), so ``exact divisions``
keeps the list here with its fetch time and ``exact activate`` reuses it. The diagnostic tables
the Exact adapter writes (``rate_limits``, ``exact_errors``) are the connection repository's.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any, overload

from exactlink.models import Division

_COLUMNS = (
    "code, description, hid, customer_name, vat_number, coc_number, status, blocking_status,"
    " is_main, country, fetched_at"
)


def _division(row: tuple[Any, ...]) -> Division:
    return Division(
        code=row[0],
        description=row[1],
        hid=row[2],
        customer_name=row[3],
        vat_number=row[4],
        coc_number=row[5],
        status=row[6],
        blocking_status=row[7],
        is_main=bool(row[8]),
        country=row[9],
        fetched_at=row[10],
    )


@overload
def _int(value: Any) -> int | None: ...
@overload
def _int(value: Any, default: int) -> int: ...
def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def from_exact(record: Mapping[str, Any], fetched_at: str) -> Division:
    """A ``Division`` from a ``system/Divisions`` record (Exact's field names, reference §4.3).

    Server data is not trusted to be complete: a record without a usable ``Code`` is skipped by
    the caller (``None`` here would be a bug), missing numbers default to "active, not blocked".
    """
    code = _int(record.get("Code"))
    if code is None:
        raise ValueError("a division record without a Code")
    return Division(
        code=code,
        description=str(record.get("Description") or ""),
        hid=_int(record.get("Hid")),
        customer_name=record.get("CustomerName") or None,
        vat_number=record.get("VATNumber") or None,
        coc_number=record.get("ChamberOfCommerceNumber") or None,
        status=_int(record.get("Status"), 1),
        blocking_status=_int(record.get("BlockingStatus"), 0),
        is_main=bool(record.get("IsMainDivision")),
        country=record.get("Country") or None,
        fetched_at=fetched_at,
    )


class DivisionRepository:
    """Reads and replaces a connection's cached division list; callers hold the transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def replace(self, connection_id: int, divisions: Iterable[Division]) -> int:
        """Swap the whole cached list for a freshly fetched one; returns the count."""
        self._db.execute("DELETE FROM divisions WHERE connection_id = ?", (connection_id,))
        cursor = self._db.executemany(
            f"INSERT INTO divisions (connection_id, {_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    connection_id,
                    d.code,
                    d.description,
                    d.hid,
                    d.customer_name,
                    d.vat_number,
                    d.coc_number,
                    d.status,
                    d.blocking_status,
                    int(d.is_main),
                    d.country,
                    d.fetched_at,
                )
                for d in divisions
            ),
        )
        return cursor.rowcount

    def list(self, connection_id: int) -> list[Division]:
        """The cached list, by code (empty when never fetched)."""
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM divisions WHERE connection_id = ? ORDER BY code",
            (connection_id,),
        )
        cursor.row_factory = None
        return [_division(row) for row in cursor.fetchall()]

    def owners(self, code: int) -> builtins.list[int]:
        """The connections whose cached list holds ``code`` (another portal's, say)."""
        rows = self._db.execute(
            "SELECT connection_id FROM divisions WHERE code = ? ORDER BY connection_id", (code,)
        ).fetchall()
        return [row[0] for row in rows]
