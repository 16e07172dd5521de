"""Connections (token-chain metadata), the last rate-limit headers, and Exact's errors.

Never a token here: the tokens live in the secret store under ``Connection.secret_key``. Each
method is one statement or one short transaction, because many processes share a connection
(sixteen ``exact api`` calls at once must not wait on each other longer than a write).

No ``from __future__ import annotations`` here: NamedTuple would compile each string annotation.
"""

import builtins
import sqlite3
from typing import Any, NamedTuple

from exactlink.adapters.store.db import transaction, utc_now
from exactlink.models import (
    CONNECTION_CONNECTED,
    CONNECTION_DISCONNECTED,
    Connection,
    RateLimitState,
)

_FIELDS = (
    "id, portal_id, client_id, base_url, app_client_id, status, storage, exact_user_id, "
    "exact_username, exact_full_name, exact_email, current_division, access_expires_at, "
    "refresh_issued_at, last_token_call_at, last_error, created_at, updated_at"
)


class ExactErrorRecord(NamedTuple):
    """One error Exact returned (for doctor and support bundles). A NamedTuple rather than a
    frozen dataclass: every command that reads connections imports this module, and the
    dataclasses machinery cost `exact status` more than the rest of the module."""

    id: int
    connection_id: int | None
    division: int | None
    method: str
    endpoint: str
    status: int | None
    reason: str | None
    message: str | None
    at: str

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


def _connection(row: sqlite3.Row) -> Connection:
    return Connection(**{key: row[key] for key in row.keys()})  # noqa: SIM118


class ConnectionRepository:
    """The ``connections``, ``rate_limits`` and ``exact_errors`` tables."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    # -- connections -------------------------------------------------------------------------
    def get(self, connection_id: int) -> Connection | None:
        row = self._db.execute(
            f"SELECT {_FIELDS} FROM connections WHERE id = ?", (connection_id,)
        ).fetchone()
        return _connection(row) if row else None

    def find(self, portal_id: int, client_id: int | None = None) -> Connection | None:
        """The portal's own connection (``client_id`` None) or a client's own one."""
        row = self._db.execute(
            f"SELECT {_FIELDS} FROM connections WHERE portal_id = ? AND "
            "COALESCE(client_id, 0) = COALESCE(?, 0)",
            (portal_id, client_id),
        ).fetchone()
        return _connection(row) if row else None

    def list(self, portal_id: int | None = None) -> list[Connection]:
        sql = f"SELECT {_FIELDS} FROM connections"
        args: tuple[Any, ...] = ()
        if portal_id is not None:
            sql += " WHERE portal_id = ?"
            args = (portal_id,)
        return [_connection(r) for r in self._db.execute(sql + " ORDER BY id", args).fetchall()]

    def same_identity(
        self, base_url: str, app_client_id: str, exact_user_id: str | None = None
    ) -> builtins.list[Connection]:
        """Live connections of this app on this site (and this Exact user, when given): the
        one-connection-per-login-per-app rule (reference §2.8)."""
        sql = (
            f"SELECT {_FIELDS} FROM connections WHERE base_url = ? AND app_client_id = ? "
            "AND status != ?"
        )
        args: list[Any] = [base_url, app_client_id, CONNECTION_DISCONNECTED]
        if exact_user_id is not None:
            sql += " AND exact_user_id = ?"
            args.append(exact_user_id)
        return [_connection(r) for r in self._db.execute(sql, args).fetchall()]

    def save_connected(
        self,
        *,
        portal_id: int,
        client_id: int | None,
        base_url: str,
        app_client_id: str,
        storage: str,
        access_expires_at: float,
        token_call_at: float,
    ) -> Connection:
        """Create or reset the owner's row after a code exchange (Exact user filled in later)."""
        now = utc_now()
        with transaction(self._db):
            existing = self.find(portal_id, client_id)
            values = (
                base_url,
                app_client_id,
                CONNECTION_CONNECTED,
                storage,
                access_expires_at,
                token_call_at,
                token_call_at,
                now,
            )
            if existing is None:
                self._db.execute(
                    "INSERT INTO connections (base_url, app_client_id, status, storage, "
                    "access_expires_at, refresh_issued_at, last_token_call_at, updated_at, "
                    "portal_id, client_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, portal_id, client_id, now),
                )
            else:
                self._db.execute(
                    "UPDATE connections SET base_url = ?, app_client_id = ?, status = ?, "
                    "storage = ?, access_expires_at = ?, refresh_issued_at = ?, "
                    "last_token_call_at = ?, updated_at = ?, last_error = NULL, "
                    "exact_user_id = NULL, exact_username = NULL, exact_full_name = NULL, "
                    "exact_email = NULL, current_division = NULL WHERE id = ?",
                    (*values, existing.id),
                )
                self._db.execute("DELETE FROM rate_limits WHERE connection_id = ?", (existing.id,))
        found = self.find(portal_id, client_id)
        assert found is not None  # just written in this process
        return found

    def set_identity(
        self,
        connection_id: int,
        *,
        user_id: str | None,
        username: str | None,
        full_name: str | None,
        email: str | None,
        current_division: int | None,
    ) -> None:
        """What ``current/Me`` said after the exchange."""
        self._db.execute(
            "UPDATE connections SET exact_user_id = ?, exact_username = ?, exact_full_name = ?, "
            "exact_email = ?, current_division = ?, updated_at = ? WHERE id = ?",
            (user_id, username, full_name, email, current_division, utc_now(), connection_id),
        )

    def set_tokens_refreshed(
        self, connection_id: int, *, access_expires_at: float, token_call_at: float
    ) -> None:
        """After a successful refresh: the chain is alive and its 30-day window restarts."""
        self._db.execute(
            "UPDATE connections SET access_expires_at = ?, refresh_issued_at = ?, "
            "last_token_call_at = ?, status = ?, last_error = NULL, updated_at = ? WHERE id = ?",
            (
                access_expires_at,
                token_call_at,
                token_call_at,
                CONNECTION_CONNECTED,
                utc_now(),
                connection_id,
            ),
        )

    def set_status(self, connection_id: int, status: str, last_error: str | None = None) -> None:
        self._db.execute(
            "UPDATE connections SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
            (status, last_error, utc_now(), connection_id),
        )

    def mark_disconnected(self, connection_id: int) -> None:
        """Tokens removed: nothing left to refresh."""
        self._db.execute(
            "UPDATE connections SET status = ?, access_expires_at = NULL, last_error = NULL, "
            "updated_at = ? WHERE id = ?",
            (CONNECTION_DISCONNECTED, utc_now(), connection_id),
        )

    def retire(self, connection_id: int) -> None:
        """Remove a replaced chain's row, with what hangs off it (its activations, its cache).

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

    def status_counts(self) -> dict[str, int]:
        """How many chains per status."""
        rows = self._db.execute("SELECT status, COUNT(*) FROM connections GROUP BY status")
        return {row[0]: row[1] for row in rows}

    # -- rate limits -------------------------------------------------------------------------
    def save_rate_limit(self, connection_id: int, state: RateLimitState) -> None:
        """Upsert the last headers seen; a family Exact did not send keeps its old values."""
        self._db.execute(
            "INSERT INTO rate_limits (connection_id, division, daily_limit, daily_remaining, "
            "daily_reset_ms, minutely_limit, minutely_remaining, minutely_reset_ms, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connection_id, division) DO UPDATE "
            "SET daily_limit = COALESCE(excluded.daily_limit, rate_limits.daily_limit), "
            "daily_remaining = COALESCE(excluded.daily_remaining, rate_limits.daily_remaining), "
            "daily_reset_ms = COALESCE(excluded.daily_reset_ms, rate_limits.daily_reset_ms), "
            "minutely_limit = COALESCE(excluded.minutely_limit, rate_limits.minutely_limit), "
            "minutely_remaining = COALESCE(excluded.minutely_remaining, rate_limits.minutely_remaining), "
            "minutely_reset_ms = COALESCE(excluded.minutely_reset_ms, rate_limits.minutely_reset_ms), "
            "updated_at = excluded.updated_at",
            (
                connection_id,
                state.division,
                state.daily_limit,
                state.daily_remaining,
                state.daily_reset_ms,
                state.minutely_limit,
                state.minutely_remaining,
                state.minutely_reset_ms,
                utc_now(),
            ),
        )

    def rate_limit(self, connection_id: int, division: int) -> RateLimitState | None:
        row = self._db.execute(
            "SELECT * FROM rate_limits WHERE connection_id = ? AND division = ?",
            (connection_id, division),
        ).fetchone()
        return _rate_limit(row) if row else None

    def rate_limits(self, connection_id: int) -> builtins.list[RateLimitState]:
        """The last headers seen per division, by division."""
        rows = self._db.execute(
            "SELECT * FROM rate_limits WHERE connection_id = ? ORDER BY division",
            (connection_id,),
        ).fetchall()
        return [_rate_limit(r) for r in rows]

    def rate_limits_seen_at(self, connection_id: int) -> dict[int, str]:
        """When each division's headers were last seen (a support bundle shows how stale)."""
        rows = self._db.execute(
            "SELECT division, updated_at FROM rate_limits WHERE connection_id = ?",
            (connection_id,),
        )
        return {row[0]: row[1] for row in rows}

    # -- Exact's errors ----------------------------------------------------------------------
    def record_error(
        self,
        connection_id: int | None,
        *,
        division: int | None,
        method: str,
        endpoint: str,
        status: int | None,
        reason: str | None,
        message: str | None,
    ) -> None:
        """Append one error Exact returned. ``endpoint`` carries no query string and the message
        is Exact's text, so no token can land here."""
        self._db.execute(
            "INSERT INTO exact_errors (connection_id, division, method, endpoint, status, "
            "reason, message, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                connection_id,
                division,
                method,
                endpoint,
                status,
                reason,
                (message or "")[:500] or None,
                utc_now(),
            ),
        )

    def errors(
        self,
        connection_id: int | None = None,
        *,
        division: int | None = None,
        since: str | None = None,
        limit: int = 50,
    ) -> builtins.list[ExactErrorRecord]:
        """Newest first; ``since`` is a store timestamp (doctor counts the last hour's)."""
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        if connection_id is not None:
            where.append("connection_id = ?")
            args.append(connection_id)
        if division is not None:
            where.append("division = ?")
            args.append(division)
        if since is not None:
            where.append("at >= ?")
            args.append(since)
        sql = "SELECT * FROM exact_errors"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [
            ExactErrorRecord(**{k: r[k] for k in r.keys()})  # noqa: SIM118
            for r in self._db.execute(sql, args).fetchall()
        ]


def _rate_limit(row: sqlite3.Row) -> RateLimitState:
    return RateLimitState(
        division=row["division"],
        daily_limit=row["daily_limit"],
        daily_remaining=row["daily_remaining"],
        daily_reset_ms=row["daily_reset_ms"],
        minutely_limit=row["minutely_limit"],
        minutely_remaining=row["minutely_remaining"],
        minutely_reset_ms=row["minutely_reset_ms"],
    )
