"""A connection as `exact status` and the other commands find it: no network, no secret.

Kept apart from ``services.connect`` (the OAuth flow and keepalive) so that `exact status`, and
every command that only needs the owner's connection, starts without importing the flow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from exactlink.errors import NotConnected, ReconnectNeeded
from exactlink.i18n import _, label
from exactlink.models import (
    CLIENT_GRANTED,
    CLIENT_PENDING,
    CONNECTION_DISCONNECTED,
    CONNECTION_NEEDS_RECONNECT,
)

if TYPE_CHECKING:
    from exactlink.adapters.store.connections import ConnectionRepository
    from exactlink.models import Client, Connection, Portal, RateLimitState
    from exactlink.services.ports import ConnectionsLike

REFRESH_TOKEN_DAYS = 30  # §2.6: a refresh token dies after 30 idle days
LOW_DAILY_SHARE = 0.1  # under a tenth of the day's calls left: worth knowing before a bulk run
ERRORS_WORTH_SAYING = 5  # errors in the last hour in one division; Exact blocks the app at 10


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
        "rate_limits": describe_limits(rate_limits),
    }


def describe_limits(rate_limits: list[RateLimitState]) -> list[dict[str, Any]]:
    """The rate limits as `exact status --json` shows them (resets in UTC ISO 8601)."""
    return [
        {
            "division": r.division,
            "daily_remaining": r.daily_remaining,
            "daily_limit": r.daily_limit,
            "daily_reset_at": _iso(r.daily_reset_ms / 1000 if r.daily_reset_ms else None),
            "minutely_remaining": r.minutely_remaining,
            "minutely_limit": r.minutely_limit,
        }
        for r in rate_limits
    ]


@dataclass(frozen=True)
class StatusRow:
    """One line of `exact status --all`: a client (or an administration no client is linked
    to, such as the firm's own), its rate limits, and what needs attention."""

    client: str | None
    status: str | None
    division: int | None
    limit: RateLimitState | None
    attention: tuple[str, ...]

    @property
    def rank(self) -> int:
        """Which comes first among the problems: limits, then not linked, then pending."""
        if not self.attention:
            return 3
        return {CLIENT_GRANTED: 1, CLIENT_PENDING: 2}.get(self.status or "", 0)


def status_rows(
    clients: list[Client],
    rate_limits: list[RateLimitState],
    *,
    recent_errors: dict[int, int],
    now: float | None = None,
) -> list[StatusRow]:
    """A row per client, then one per administration seen without a client; each with what
    needs attention: its limits (``limit_problems``), or a client not linked or not granted."""
    limits = {r.division: r for r in rate_limits}
    problems: dict[int, list[str]] = {}
    for division, text in limit_problems(rate_limits, recent_errors=recent_errors, now=now):
        problems.setdefault(division, []).append(text)
    rows = []
    for c in clients:
        attention = list(problems.get(c.division, [])) if c.division is not None else []
        if c.status == CLIENT_GRANTED:
            attention.append(_("not linked to an administration yet"))
        elif c.status == CLIENT_PENDING:
            attention.append(_("has not granted the firm access yet"))
        limit = limits.get(c.division) if c.division is not None else None
        rows.append(StatusRow(c.name, c.status, c.division, limit, tuple(attention)))
    linked = {c.division for c in clients}
    for division in sorted((set(limits) | set(problems)) - linked):
        rows.append(
            StatusRow(None, None, division, limits.get(division), tuple(problems.get(division, [])))
        )
    return rows


def limit_problems(
    rate_limits: list[RateLimitState],
    *,
    recent_errors: dict[int, int],
    now: float | None = None,
) -> list[tuple[int, str]]:
    """(division, what is wrong) for each administration that needs attention: no calls left
    today or this minute, few left today, or close to Exact's hourly error block (§5.2, §5.3).
    A reset time that has passed clears its limit."""
    now_ms = (time.time() if now is None else now) * 1000
    problems = [
        (r.division, problem)
        for r in rate_limits
        for problem in (_daily_problem(r, now_ms), _minutely_problem(r, now_ms))
        if problem
    ]
    problems += [
        (
            division,
            _("{n} errors in the last hour (Exact blocks the app there at 10)").format(n=count),
        )
        for division, count in sorted(recent_errors.items())
        if count >= ERRORS_WORTH_SAYING
    ]
    return problems


def _daily_problem(r: RateLimitState, now_ms: float) -> str | None:
    if r.daily_remaining is None or (r.daily_reset_ms is not None and r.daily_reset_ms <= now_ms):
        return None
    if r.daily_remaining == 0:
        return _("no calls left today (until {at})").format(at=_iso_ms(r.daily_reset_ms))
    if r.daily_limit and r.daily_remaining < r.daily_limit * LOW_DAILY_SHARE:
        return _("{left} of {limit} calls left today").format(
            left=r.daily_remaining, limit=r.daily_limit
        )
    return None


def _minutely_problem(r: RateLimitState, now_ms: float) -> str | None:
    if r.minutely_remaining == 0 and (r.minutely_reset_ms or 0) > now_ms:
        return _("no calls left this minute (until {at})").format(at=_iso_ms(r.minutely_reset_ms))
    return None


def recent_errors(connections: ConnectionRepository, connection_id: int) -> dict[int, int]:
    """Errors Exact returned in the last hour, per division (Exact blocks at 10, §5.3)."""
    from datetime import UTC, datetime, timedelta

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    counts: dict[int, int] = {}
    for error in connections.errors(
        connection_id, since=since.replace("+00:00", "Z"), limit=100_000
    ):
        if error.division is not None:
            counts[error.division] = counts.get(error.division, 0) + 1
    return counts


def _iso_ms(ms: int | None) -> str:
    return _iso(ms / 1000 if ms else None) or "-"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
