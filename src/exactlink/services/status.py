"""A connection as `exact status` and the other commands find it: no network, no secret.

Kept apart from ``services.connect`` (the OAuth flow and keepalive) so that `exact status`, and
every command that only needs the owner's connection, starts without importing the flow.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from exactlink.errors import NotConnected, ReconnectNeeded
from exactlink.i18n import _, label
from exactlink.models import CONNECTION_DISCONNECTED, CONNECTION_NEEDS_RECONNECT

if TYPE_CHECKING:
    from exactlink.models import Client, Connection, Portal, RateLimitState
    from exactlink.services.ports import ConnectionsLike

REFRESH_TOKEN_DAYS = 30  # §2.6: a refresh token dies after 30 idle days


def owner_label(portal: Portal, client: Client | None) -> str:
    return f"{portal.name} / {client.name}" if client else portal.name


def require_connection(
    connections: ConnectionsLike,
    portal: Portal,
    client: Client | None = None,
    *,
    live: bool = False,
) -> Connection:
    """The owner's connection, or ``NotConnected`` (exit 5) naming the command that makes it.

    ``live``: a chain that died (``needs-reconnect``) is refused too, with ``ReconnectNeeded``
    and the reason Exact gave (``last_error``); without it such a row is returned, for status
    and disconnect."""
    found = connections.find(portal.id, client.id if client else None)
    if found is None or found.status == CONNECTION_DISCONNECTED:
        raise NotConnected(
            _("{owner} is not connected to Exact Online.").format(
                owner=owner_label(portal, client)
            ),
            hint=_("Run `{command}`.").format(command=_reconnect_command(client)),
        )
    if live:
        ensure_live(found, client)
    return found


def ensure_live(connection: Connection, client: Client | None = None) -> None:
    """``ReconnectNeeded`` (exit 5, the reason from ``last_error``) when the chain died."""
    if connection.status == CONNECTION_NEEDS_RECONNECT:
        raise ReconnectNeeded(
            _("The Exact Online connection must be made again ({why}).").format(
                why=label(connection.last_error or CONNECTION_NEEDS_RECONNECT)
            ),
            hint=_("Run `{command}`.").format(command=_reconnect_command(client)),
        )


def _reconnect_command(client: Client | None) -> str:
    from exactlink.adapters.exact.tokens import reconnect_command

    return reconnect_command(client.name if client else None)


def describe(
    connection: Connection,
    *,
    rate_limits: list[RateLimitState],
    insecure_storage: bool,
    now: float | None = None,
) -> dict[str, Any]:
    """What `exact status` shows: no network, no secret."""
    now = time.time() if now is None else now
    access_left = (
        connection.access_expires_at - now if connection.access_expires_at is not None else None
    )
    age_days = (
        (now - connection.refresh_issued_at) / 86400
        if connection.refresh_issued_at is not None
        else None
    )
    days_left = REFRESH_TOKEN_DAYS - age_days if age_days is not None else None
    return {
        "connection_id": connection.id,
        "status": connection.status,
        "site": connection.base_url,
        "app_client_id": connection.app_client_id,
        "exact_user_id": connection.exact_user_id,
        "exact_username": connection.exact_username,
        "exact_full_name": connection.exact_full_name,
        "exact_email": connection.exact_email,
        "current_division": connection.current_division,
        "access_token_expires_at": _iso(connection.access_expires_at),
        "access_token_seconds_left": round(access_left) if access_left is not None else None,
        "refresh_token_issued_at": _iso(connection.refresh_issued_at),
        "refresh_token_age_days": round(age_days, 2) if age_days is not None else None,
        "refresh_token_days_left": round(days_left, 2) if days_left is not None else None,
        "secret_storage": connection.storage,
        "insecure_storage": insecure_storage or connection.storage == "insecure-file",
        "last_error": connection.last_error,
        "rate_limits": [
            {
                "division": r.division,
                "daily_remaining": r.daily_remaining,
                "daily_limit": r.daily_limit,
                "daily_reset_at": _iso(r.daily_reset_ms / 1000 if r.daily_reset_ms else None),
                "minutely_remaining": r.minutely_remaining,
                "minutely_limit": r.minutely_limit,
            }
            for r in rate_limits
        ],
    }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
