"""The token manager: one chain, shared safely by every process that uses the connection.

Rules (reference §2.6, DESIGN "Tokens"):

* Refresh only when the access token has expired or is within 30 s of it, so the 570 s
  too-early rule is never tripped.
* Refresh under a per-connection file lock held across read → refresh → write; after taking the
  lock, re-read: another process may have refreshed already. However many processes run at
  once, one token call.
* Store the new tokens before anything uses them (a lost refresh token is a dead chain).
* A 401 on an API call: if the stored access token is no longer the one that failed, another
  process refreshed, so retry with it; otherwise refresh once (Exact's clock, or a sandbox's,
  may run ahead of ours).
* A dead chain (old refresh token used, obsoleted, expired, revoked) marks the connection
  ``needs-reconnect`` and names the command that fixes it (exit 5).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exactlink.adapters.exact import oauth
from exactlink.errors import (
    ExactUnreachable,
    NotConnected,
    ReconnectNeeded,
)
from exactlink.i18n import _
from exactlink.models import (
    CONNECTION_DISCONNECTED,
    CONNECTION_NEEDS_RECONNECT,
    Connection,
)
from exactlink.paths import ensure_private_dir

if TYPE_CHECKING:
    import requests

    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store.connections import ConnectionRepository

# Refresh when fewer than this many seconds are left (§2.6: only the last 30 s are allowed).
REFRESH_MARGIN = 30
# A refresh takes one HTTP call with a 60 s read timeout; waiting longer means a stuck holder.
LOCK_TIMEOUT = 120.0


def access_key(connection: Connection) -> str:
    return connection.access_token_key


def refresh_key(connection: Connection) -> str:
    return connection.refresh_token_key


def lock_path(locks_dir: Path, connection_id: int) -> Path:
    return locks_dir / f"connection-{connection_id}.lock"


def reconnect_command(client_name: str | None = None) -> str:
    """The command that makes (or remakes) the connection of a portal or of one client."""
    import shlex

    if client_name:
        return f"exactlink exact connect --client {shlex.quote(client_name)}"
    return "exactlink exact connect"


class TokenManager:
    """Access tokens for one connection, refreshed single-flight across processes."""

    def __init__(
        self,
        connection: Connection,
        *,
        app: oauth.AppCredentials,
        secrets: SecretStore,
        connections: ConnectionRepository,
        session: requests.Session,
        locks_dir: Path,
        client_name: str | None = None,
        clock: Callable[[], float] = time.time,
        lock: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.connection = connection
        self.app = app
        self.secrets = secrets
        self.connections = connections
        self.session = session
        self.locks_dir = locks_dir
        self.client_name = client_name
        self.clock = clock
        # The per-connection lock: a file lock for the local store; a team store passes its
        # PostgreSQL advisory lock (one chain for every computer of the firm).
        self._lock_factory = lock
        self.token_calls = 0  # made by this process (benchmarks, tests)
        self._cached: str | None = None  # the access token, so a paging loop reads it once

    # -- reading -----------------------------------------------------------------------------
    def _reload(self) -> Connection:
        fresh = self.connections.get(self.connection.id)
        if fresh is None:
            raise self._not_connected()
        self.connection = fresh
        return fresh

    def _check_alive(self, connection: Connection) -> None:
        if connection.status == CONNECTION_DISCONNECTED:
            raise self._not_connected()
        if connection.status == CONNECTION_NEEDS_RECONNECT:
            raise self._reconnect(connection.last_error)

    def _fresh_enough(self, connection: Connection) -> bool:
        expires = connection.access_expires_at
        return expires is not None and self.clock() < expires - REFRESH_MARGIN

    def access_token(self) -> str:
        """A usable access token, refreshing first when it expired or expires within 30 s."""
        connection = self.connection
        self._check_alive(connection)
        if self._fresh_enough(connection):
            if self._cached is None:
                self._cached = self.secrets.get(access_key(connection))
            if self._cached:
                return self._cached
        self._cached = self._refresh_locked(failed=None)
        return self._cached

    def held_token(self) -> str | None:
        """The access token already in memory while it is fresh; None otherwise. No I/O, so a
        worker thread may ask (``parallel``): anything else goes through the owner thread."""
        connection = self.connection
        if connection.status in (CONNECTION_DISCONNECTED, CONNECTION_NEEDS_RECONNECT):
            return None
        return self._cached if self._fresh_enough(connection) else None

    def after_unauthorized(self, failed: str) -> str:
        """Exact said 401 to ``failed``: the token to retry with (refreshing at most once)."""
        self._cached = self._refresh_locked(failed=failed)
        return self._cached

    def force_refresh(self, *, idle_seconds: float) -> bool:
        """For ``exact keepalive``: refresh when the last token call is older than
        ``idle_seconds`` (re-checked under the lock). True when a token call was made."""
        with self._lock():
            connection = self._reload()
            self._check_alive(connection)
            last = connection.last_token_call_at or 0
            if self.clock() - last < max(idle_seconds, oauth.ACCESS_TOKEN_SECONDS):
                return False
            self._cached = self._refresh_now(connection)
            return True

    # -- refreshing --------------------------------------------------------------------------
    def _lock(self) -> Any:
        if self._lock_factory is not None:
            return self._lock_factory()
        from filelock import FileLock

        ensure_private_dir(self.locks_dir)
        return FileLock(
            str(lock_path(self.locks_dir, self.connection.id)), timeout=LOCK_TIMEOUT, mode=0o600
        )

    def _refresh_locked(self, failed: str | None) -> str:
        try:
            with self._lock():
                # Re-read under the lock: another process may have refreshed meanwhile.
                connection = self._reload()
                self._check_alive(connection)
                stored = self.secrets.get(access_key(connection))
                if stored:
                    if failed is None and self._fresh_enough(connection):
                        return stored
                    if failed is not None and stored != failed:
                        return stored
                return self._refresh_now(connection)
        except TimeoutError:  # filelock's Timeout, or the advisory lock's
            raise ExactUnreachable(
                _(
                    "Another exactlink process has been refreshing the tokens for over {s:.0f} s."
                ).format(s=LOCK_TIMEOUT),
                hint=_("Check for a stuck exactlink process, then try again."),
            ) from None

    def _refresh_now(self, connection: Connection) -> str:
        """One token call; the caller holds the lock."""
        refresh_token = self.secrets.get(refresh_key(connection))
        if not refresh_token:
            self.connections.set_status(
                connection.id, CONNECTION_NEEDS_RECONNECT, "refresh_token_missing"
            )
            raise self._reconnect("refresh_token_missing")
        self.token_calls += 1
        try:
            tokens = self._call_refresh(refresh_token)
        except oauth.TooEarly:
            # §2.6: Exact says the current access token is still valid: use it. (Happens only
            # when a crash lost our bookkeeping after the tokens were stored.)
            stored = self.secrets.get(access_key(connection))
            if stored:
                return stored
            raise
        except oauth.ChainDead as dead:
            self.connections.set_status(connection.id, CONNECTION_NEEDS_RECONNECT, dead.kind)
            raise self._reconnect(dead.kind, dead.message) from None
        # Store before use: the refresh token first, it is the one that cannot be recovered.
        self.secrets.set(refresh_key(connection), tokens.refresh_token)
        self.secrets.set(access_key(connection), tokens.access_token)
        self.connections.set_tokens_refreshed(
            connection.id,
            access_expires_at=tokens.access_expires_at,
            token_call_at=tokens.obtained_at,
        )
        self._reload()
        return tokens.access_token

    def _call_refresh(self, refresh_token: str) -> oauth.TokenSet:
        try:
            return oauth.refresh(self.session, self.app, refresh_token, self.clock)
        except ExactUnreachable:
            # The response was lost (network, 5xx): Exact may or may not have rotated the token
            # (§2.6 [R], dotnet#152). Asking once more with the same refresh token settles it:
            # either it works, or Exact says "Old refresh token used" and the chain is dead.
            return oauth.refresh(self.session, self.app, refresh_token, self.clock)

    # -- errors ------------------------------------------------------------------------------
    def _not_connected(self) -> NotConnected:
        return NotConnected(
            _("Not connected to Exact Online."),
            hint=_("Run `{command}`.").format(command=reconnect_command(self.client_name)),
        )

    def _reconnect(self, kind: str | None, message: str | None = None) -> ReconnectNeeded:
        why = {
            "old_refresh_token": _(
                "Exact says: Old refresh token used (the chain was rotated "
                "elsewhere or a token response was lost)."
            ),
            "obsoleted": _("The same Exact login authorised this app again elsewhere."),
            "expired": _("The refresh token expired after 30 idle days."),
            "revoked": _("The app's access was revoked or the chain is broken."),
            "refresh_token_missing": _("The refresh token is missing from the secret store."),
            "unauthorized": _("Exact keeps refusing the access token."),
        }.get(kind or "", message or _("The token chain is dead."))
        return ReconnectNeeded(
            _("The Exact Online connection must be made again. {why}").format(why=why),
            hint=_("Run `{command}`; `exact keepalive` in cron prevents the 30-day expiry.").format(
                command=reconnect_command(self.client_name)
            ),
            details={"last_error": kind} if kind else None,
        )

    def mark_unauthorized(self) -> ReconnectNeeded:
        """A 401 survived a refresh: the chain is not usable any more."""
        self.connections.set_status(self.connection.id, CONNECTION_NEEDS_RECONNECT, "unauthorized")
        return self._reconnect("unauthorized")
