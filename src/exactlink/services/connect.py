"""Connecting to Exact Online once, and keeping that connection alive (DESIGN "Connecting").

``connect`` runs the authorization-code flow: a fresh ``state``, the authorize URL handed to a
``receive`` callback (the CLI's loopback listener or paste prompt), the code checked and
exchanged, the tokens stored before anything uses them, then ``current/Me`` read and stored.
One connection per (site, app, Exact user) (reference §2.8): another portal's live connection of
the same app on the same site needs ``--force``, because connecting that login again kills the
other portal's chain.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from exactlink.errors import Conflict, ExactRefused, NotFound, RateLimited
from exactlink.exact_records import MeRecord
from exactlink.i18n import _
from exactlink.models import (
    CONNECTION_CONNECTED,
    CONNECTION_DISCONNECTED,
    CONNECTION_NEEDS_RECONNECT,
    Client,
    Connection,
    Portal,
)
from exactlink.services.exact_app import AppSettings, EventsLike, SecretsLike
from exactlink.services.ports import ConnectionsLike

# Finding a connection moved to services.status (light, for `exact status`); callers of the
# flow's module keep finding it here.
from exactlink.services.status import owner_label as owner_label
from exactlink.services.status import require_connection as require_connection

if TYPE_CHECKING:
    from exactlink.adapters.store import Store

TOO_EARLY_SECONDS = 570  # §2.6 and December 2026 notes item 2: counted from any token issue


class Tokens(Protocol):
    """A token response (``adapters.exact.oauth.TokenSet``): read, never changed."""

    @property
    def access_token(self) -> str: ...

    @property
    def refresh_token(self) -> str: ...

    @property
    def obtained_at(self) -> float: ...

    @property
    def access_expires_at(self) -> float: ...


class OAuthGateway(Protocol):
    """What ``connect`` needs from the OAuth adapter."""

    def authorize_url(self, state: str) -> str: ...

    def new_state(self) -> str: ...

    def code_from_redirect(self, url: str, state: str) -> str: ...

    def exchange(self, code: str) -> Tokens: ...

    def me(self, access_token: str) -> MeRecord: ...


@dataclass
class ConnectResult:
    connection: Connection
    mode: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "connection": connection_dict(self.connection),
            "mode": self.mode,
            "warnings": self.warnings,
        }


def connection_dict(connection: Connection) -> dict[str, Any]:
    data = connection.to_dict()
    data.pop("last_token_call_at", None)
    return data


def connect(
    *,
    portal: Portal,
    client: Client | None,
    app: AppSettings,
    mode: str,
    gateway: OAuthGateway,
    receive: Callable[[str, str], str],
    connections: ConnectionsLike,
    secrets: SecretsLike,
    events: EventsLike,
    portal_names: Callable[[int], str],
    force: bool = False,
    connected_by: Callable[[Connection], str] | None = None,
) -> ConnectResult:
    """Authorise, exchange, store, identify. ``receive(auth_url, state)`` returns the address
    the browser landed on. ``connected_by`` (a team store) says who made a chain and when: then
    the chain a colleague already made for this owner is protected too."""
    warnings: list[str] = []
    if connected_by is not None and not force:
        from exactlink.services.team_store import refuse_a_colleagues_chain

        refuse_a_colleagues_chain(connections, portal, client, app, connected_by)
    if client is None:
        # Before the browser: once the code is exchanged, the other chain is already dead.
        others = [
            c
            for c in connections.same_identity(app.site, app.client_id)
            if c.portal_id != portal.id and c.status == CONNECTION_CONNECTED
        ]
        if others and not force:
            who = ", ".join(
                f"'{portal_names(c.portal_id)}' ({c.exact_username or '?'})" for c in others
            )
            raise Conflict(
                _(
                    "Portal {who} already connects to this Exact app on {site}. Logging in with "
                    "the same Exact user again breaks that portal's link (one connection per login "
                    "per app)."
                ).format(who=who, site=app.site),
                hint=_(
                    "Log in with another Exact user, or pass --force if you mean to move the "
                    "link to this portal."
                ),
            )
    previous = connections.find(portal.id, client.id if client else None)
    state = gateway.new_state()
    redirect = receive(gateway.authorize_url(state), state)
    code = gateway.code_from_redirect(redirect, state)
    try:
        tokens = gateway.exchange(code)
    except ExactRefused as exc:
        if exc.reason == "TooEarlyToRefreshTokens":
            raise _too_early(connections.same_identity(app.site, app.client_id)) from None
        raise
    # Store the tokens before anything uses them (DESIGN "Tokens").
    connection = connections.save_connected(
        portal_id=portal.id,
        client_id=client.id if client else None,
        base_url=app.site,
        app_client_id=app.client_id,
        storage=secrets.backend_name,
        access_expires_at=tokens.access_expires_at,
        token_call_at=tokens.obtained_at,
    )
    from exactlink.adapters.exact.token_store import TokenPair, TokenPairStore

    # The access and refresh token and their expiry as one unit (adapters/exact/token_store.py).
    TokenPairStore(secrets).commit(
        connection.secret_key,
        TokenPair(
            tokens.access_token,
            tokens.refresh_token,
            tokens.access_expires_at,
            tokens.obtained_at,
        ),
    )
    me = gateway.me(tokens.access_token)
    current = me.get("CurrentDivision")
    connections.set_identity(
        connection.id,
        user_id=me.get("UserID"),
        username=me.get("UserName"),
        full_name=me.get("FullName"),
        email=me.get("Email"),
        current_division=int(current) if current not in (None, "") else None,
    )
    warning = _another_login(previous, me)
    if warning:
        warnings.append(warning)
    # The exchange killed every other chain of this login and app (§2.8): say so, mark them.
    user_id = me.get("UserID")
    if user_id:
        for other in connections.same_identity(app.site, app.client_id, str(user_id)):
            if other.id == connection.id:
                continue
            connections.set_status(other.id, CONNECTION_NEEDS_RECONNECT, "obsoleted")
            warnings.append(
                _(
                    "The connection of '{owner}' used the same Exact login and now needs "
                    "`exactlink exact connect` again."
                ).format(
                    owner=portal_names(other.portal_id)
                    + (f" (client #{other.client_id})" if other.client_id else "")
                )
            )
    fresh = connections.get(connection.id) or connection
    events.record(
        "exact.connect",
        fresh.exact_username,
        portal=portal.name,
        client=client.name if client else None,
        details={
            "connection_id": fresh.id,
            "site": app.site,
            "mode": mode,
            "exact_user_id": fresh.exact_user_id,
            "storage": secrets.backend_name,
            "forced": force,
        },
        exact_user=fresh.exact_username,
    )
    return ConnectResult(fresh, mode, warnings)


def _another_login(previous: Connection | None, me: MeRecord) -> str | None:
    """A warning when this owner was connected with another Exact login before: a browser
    logged in to Exact as someone else links the wrong login (why ``force_login=1``)."""
    if previous is None or not previous.exact_user_id or not me.get("UserID"):
        return None
    if str(me.get("UserID")) == previous.exact_user_id:
        return None
    return _(
        "This is not the Exact login connected before: now {now}, before {before}. If that is "
        "wrong, run `exactlink exact connect` again and log in as {before}."
    ).format(now=me.get("UserName") or me.get("UserID"), before=previous.exact_username or "?")


def _too_early(others: builtins.list[Connection], now: float | None = None) -> RateLimited:
    """A second connect within 570 s of the last token issue of this login and app (§2.6):
    Exact refuses it; say when it may be tried again."""
    now = time.time() if now is None else now
    last = max((c.last_token_call_at or 0 for c in others), default=0)
    wait = TOO_EARLY_SECONDS - (now - last) if last else TOO_EARLY_SECONDS
    wait = max(1, min(TOO_EARLY_SECONDS, round(wait)))
    return RateLimited(
        _(
            "Exact refused the new connection: a token was issued to this Exact login for this "
            "app less than 570 seconds ago (Exact's 570-second rule)."
        ),
        hint=_(
            "The connection made just before still works. To connect again, wait {seconds} s "
            "and run `exactlink exact connect` again."
        ).format(seconds=wait),
        details={"reason": "TooEarlyToRefreshTokens", "retry_after_seconds": wait},
    )


def api_target(
    store: Store, portal: Portal, client: Client | None
) -> tuple[int | None, Client | None]:
    """Where `exact api --client` goes: ``(division, connection owner)``.

    The division is the client's activation, else its recorded division, else the current
    division of its own login; the connection is the client's own login when it has one that
    is not disconnected (a dead chain still wins, so the caller says to reconnect it),
    otherwise the portal's. Without a client: ``(None, None)``, the portal's connection.
    """
    if client is None:
        return None, None
    own = store.connections.find(portal.id, client.id)
    owner = client if own is not None and own.status != CONNECTION_DISCONNECTED else None
    activation = store.activations.get(client.id)
    if activation is not None:
        return activation.division, owner
    if client.division is not None:
        return client.division, owner
    if own is not None and own.current_division is not None:
        return own.current_division, owner
    raise NotFound(
        _("Client '{name}' is not linked to an administration yet.").format(name=client.name),
        hint=_("Activate it (`exactlink exact activate --client NAME`) or pass --division CODE."),
    )


def disconnect(
    connection: Connection,
    *,
    connections: ConnectionsLike,
    secrets: SecretsLike,
    events: EventsLike,
    portal: Portal,
    client: Client | None,
) -> Connection:
    """Remove the tokens from the secret store and mark the connection disconnected.

    Exact keeps the app's authorisation until it is revoked in Mijn Exact Online >
    Beveiligingscentrum (reference §2.9); the chain simply stops being used here.
    """
    from exactlink.adapters.exact.token_store import TokenPairStore

    TokenPairStore(secrets).delete(connection.secret_key)
    connections.mark_disconnected(connection.id)
    events.record(
        "exact.disconnect",
        connection.exact_username,
        portal=portal.name,
        client=client.name if client else None,
        details={"connection_id": connection.id},
    )
    return connections.get(connection.id) or connection
