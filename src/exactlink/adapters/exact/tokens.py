"""The token manager: one chain, shared safely by every process that uses the connection.

Rules (reference §2.6, DESIGN "Tokens"):

* Refresh only when the access token has expired or is within 30 s of it, so the 570 s
  too-early rule is never tripped.
* Refresh under a per-connection file lock held across read → refresh → write; after taking the
  lock, re-read: another process may have refreshed already. However many processes run at
  once, one token call.
* Store the new tokens before anything uses them (a lost refresh token is a dead chain): the
  access token, the refresh token and their expiry are committed as one unit
  (``token_store``), so a crash leaves the old pair or the new one, never half. When the
  secret store fails after Exact answered, the new pair is retried, then kept sealed
  (``token_rescue``) and stored by the next run; the error says so.
* A 401 on an API call: if the stored access token is no longer the one that failed, another
  process refreshed, so retry with it; otherwise refresh once (Exact's clock, or a sandbox's,
  may run ahead of ours).
* Exact's "too early" (a token call within 570 s of the last one) while the stored access token
  is no longer usable: wait until the 570 s have passed, then ask again (a few times at most:
  early calls count toward Exact's hourly error limit). Never a reason to declare the chain dead.
* A dead chain (old refresh token used, obsoleted, expired, revoked) marks the connection
  ``needs-reconnect`` and names the command that fixes it (exit 5).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exactlink.adapters.exact import oauth
from exactlink.adapters.exact.token_store import TokenPair, TokenPairStore
from exactlink.errors import (
    ExactlinkError,
    ExactUnreachable,
    NotConnected,
    RateLimited,
    ReconnectNeeded,
    SecureStorageUnavailable,
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

    from exactlink.adapters.exact.token_rescue import TokenRescue
    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store.connections import ConnectionRepository

# Refresh when fewer than this many seconds are left (§2.6: only the last 30 s are allowed).
REFRESH_MARGIN = 30
# A refresh takes one HTTP call with a 60 s read timeout; waiting longer means a stuck holder.
LOCK_TIMEOUT = 120.0
# §2.6 [C]: no token call within 570 s of the previous one.
TOO_EARLY_SECONDS = 570
# Our time of a token call is when its answer arrived; Exact counts from a moment before.
TOO_EARLY_SLACK = 2.0
# When our clock says the 570 s have passed and Exact disagrees, the clocks differ: wait this
# much more per attempt. Each early call counts toward the 10 errors an hour (§5.3).
CLOCK_SKEW_WAIT = 15.0
TOO_EARLY_ATTEMPTS = 3
# Pauses before the attempts to store a new pair (the first is immediate).
STORE_RETRY_DELAYS = (0.0, 1.0)


def reconnect_command(client_name: str | None = None) -> str:
    """The command that makes (or remakes) the connection of a portal or of one client."""
    import shlex

    if client_name:
        return f"exactlink exact connect --client {shlex.quote(client_name)}"
    return "exactlink exact connect"


def lock_path(locks_dir: Path, connection_id: int) -> Path:
    return locks_dir / f"connection-{connection_id}.lock"


class _TooEarly(Exception):
    """Exact refused a refresh within 570 s and the stored access token is not usable: wait
    ``seconds`` outside the lock, then try again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


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
        rescue: TokenRescue | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        self.connection = connection
        self.app = app
        self.secrets = secrets
        self.pairs = TokenPairStore(secrets)
        self.connections = connections
        self.session = session
        self.locks_dir = locks_dir
        self.client_name = client_name
        self.clock = clock
        self.sleep = sleep
        # Told how long a too-early wait lasts (a message on stderr), before it starts.
        self.on_wait = on_wait
        # Where a new pair waits when the secret store fails after Exact answered.
        self.rescue = rescue
        # The per-connection lock: a file lock for the local store; a team store passes its
        # PostgreSQL advisory lock (one chain for every computer of the firm).
        self._lock_factory = lock
        self.token_calls = 0  # made by this process (benchmarks, tests)
        self._pair: TokenPair | None = None  # read once, so a paging loop reads the store once
        self._rescue_checked = False

    @property
    def chain(self) -> str:
        return self.connection.secret_key

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

    def _expires_at(self, pair: TokenPair) -> float | None:
        # The pair's own expiry (committed with it); a pair of the old scheme has the row's.
        if pair.access_expires_at is not None:
            return pair.access_expires_at
        return self.connection.access_expires_at

    def _fresh_enough(self, pair: TokenPair) -> bool:
        expires = self._expires_at(pair)
        return expires is not None and self.clock() < expires - REFRESH_MARGIN

    def _usable(self, pair: TokenPair | None, failed: str | None) -> str | None:
        """The stored access token when it may be used instead of a token call."""
        if pair is None or not pair.access_token:
            return None
        if failed is not None:  # Exact refused ``failed``: any other token is newer
            return pair.access_token if pair.access_token != failed else None
        return pair.access_token if self._fresh_enough(pair) else None

    def access_token(self) -> str:
        """A usable access token, refreshing first when it expired or expires within 30 s."""
        self.recover_kept()
        self._check_alive(self.connection)
        if self._pair is None:
            # Outside the lock, the pair in force as the pointer names it; the refresh below
            # reads again under the lock, including a generation a killed commit left.
            self._pair = self.pairs.read(self.chain, roll_forward=False)
        usable = self._usable(self._pair, None)
        if usable:
            return usable
        return self._refresh_locked(failed=None)

    def held_token(self) -> str | None:
        """The access token already in memory while it is fresh; None otherwise. No I/O, so a
        worker thread may ask (``parallel``): anything else goes through the owner thread."""
        connection = self.connection
        if connection.status in (CONNECTION_DISCONNECTED, CONNECTION_NEEDS_RECONNECT):
            return None
        pair = self._pair
        if pair is None or not pair.access_token:
            return None
        return pair.access_token if self._fresh_enough(pair) else None

    def after_unauthorized(self, failed: str) -> str:
        """Exact said 401 to ``failed``: the token to retry with (refreshing at most once)."""
        self.recover_kept()
        return self._refresh_locked(failed=failed)

    def force_refresh(self, *, idle_seconds: float) -> bool:
        """For ``exact keepalive``: refresh when the last token call is older than
        ``idle_seconds`` (re-checked under the lock). True when a token call was made."""
        self.recover_kept()
        with self._lock():
            connection = self._reload()
            self._check_alive(connection)
            pair = self._pair = self.pairs.read(self.chain)
            # The row's time, as the keepalive service judged by it (the pair's when the row has
            # none); a row behind its pair only makes this refresh, and Exact's 570 s rule
            # answers that below.
            last = connection.last_token_call_at or (pair.obtained_at if pair else None) or 0
            if self.clock() - last < max(idle_seconds, oauth.ACCESS_TOKEN_SECONDS):
                return False
            try:
                self._refresh_now(connection, pair, failed=None)
            except _TooEarly:
                return False  # Exact issued a token of this chain minutes ago: it is alive
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
        for attempt in range(1, TOO_EARLY_ATTEMPTS + 1):
            try:
                with self._lock():
                    # Re-read under the lock: another process may have refreshed meanwhile.
                    connection = self._reload()
                    self._check_alive(connection)
                    pair = self._pair = self.pairs.read(self.chain)
                    return self._usable(pair, failed) or self._refresh_now(connection, pair, failed)
            except _TooEarly as early:
                if attempt == TOO_EARLY_ATTEMPTS:
                    break
                # Outside the lock: other processes may use the chain meanwhile.
                seconds = max(early.seconds, CLOCK_SKEW_WAIT * (attempt - 1))
                if self.on_wait is not None:
                    self.on_wait(seconds)
                self.sleep(seconds)
            except TimeoutError:  # filelock's Timeout, or the advisory lock's
                raise ExactUnreachable(
                    _(
                        "Another exactlink process has been refreshing the tokens for over"
                        " {s:.0f} s."
                    ).format(s=LOCK_TIMEOUT),
                    hint=_("Check for a stuck exactlink process, then try again."),
                ) from None
        raise RateLimited(
            _(
                "Exact Online still refuses a new token (its 570-second rule) after waiting; this"
                " computer's clock may differ from Exact's."
            ),
            hint=_(
                "Check the clock (timedatectl, or the date and time settings), then try again in"
                " ten minutes. The connection itself is fine."
            ),
            details={"reason": "TooEarlyToRefreshTokens", "retry_after_seconds": 600},
        )

    def _too_early_wait(self, pair: TokenPair) -> float:
        """Seconds until 570 s have passed since the pair was issued (by our clock)."""
        last = pair.obtained_at or self.connection.last_token_call_at
        if last is None:
            return TOO_EARLY_SECONDS + TOO_EARLY_SLACK
        left = last + TOO_EARLY_SECONDS + TOO_EARLY_SLACK - self.clock()
        return min(max(left, 1.0), TOO_EARLY_SECONDS + TOO_EARLY_SLACK)

    def _refresh_now(
        self, connection: Connection, pair: TokenPair | None, failed: str | None
    ) -> str:
        """One token call; the caller holds the lock."""
        if pair is None or not pair.refresh_token:
            self.connections.set_status(
                connection.id, CONNECTION_NEEDS_RECONNECT, "refresh_token_missing"
            )
            raise self._reconnect("refresh_token_missing")
        self.token_calls += 1
        try:
            tokens = self._call_refresh(pair.refresh_token)
        except oauth.TooEarly:
            # §2.6: Exact issued a token of this chain less than 570 s ago, so the stored access
            # token should still work: use it unless it has expired or was just refused. (The
            # refresh token we sent is the current one, or Exact would have said "old".)
            expires = self._expires_at(pair)
            still_valid = expires is not None and self.clock() < expires
            if pair.access_token and pair.access_token != failed and still_valid:
                return pair.access_token
            raise _TooEarly(self._too_early_wait(pair)) from None
        except oauth.ChainDead as dead:
            self.connections.set_status(connection.id, CONNECTION_NEEDS_RECONNECT, dead.kind)
            raise self._reconnect(dead.kind, dead.message) from None
        new = TokenPair(
            tokens.access_token,
            tokens.refresh_token,
            tokens.access_expires_at,
            tokens.obtained_at,
        )
        # Store before use (a lost refresh token is a dead chain), as one unit.
        self._pair = self._store(connection, new, pair)
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

    # -- storing, and what happens when the store fails ---------------------------------------
    def _store(self, connection: Connection, pair: TokenPair, previous: TokenPair) -> TokenPair:
        """Commit ``pair`` (replacing ``previous``, read under the lock), retrying; when the
        store keeps failing, keep it sealed and raise an error that says where it is and what
        to do."""
        failure: Exception = OSError("not stored")
        for attempt, delay in enumerate(STORE_RETRY_DELAYS):
            if delay:
                self.sleep(delay)
            try:
                # A retry reads the store again: the failed attempt may have written part.
                known = previous if attempt == 0 else None
                return self.pairs.commit(connection.secret_key, pair, after=known)
            except Exception as exc:  # whatever the store raised, the pair must not be lost
                failure = exc
        raise self._kept(connection, pair, failure) from None

    def _kept(self, connection: Connection, pair: TokenPair, failure: Exception) -> ExactlinkError:
        from exactlink.adapters.files import environment_problem

        if isinstance(failure, ExactlinkError):
            cause = failure
        elif isinstance(failure, OSError):
            cause = environment_problem(failure)
        else:  # a backend's own exception the secret store did not translate
            cause = SecureStorageUnavailable(
                _("The secret store failed ({kind}).").format(kind=type(failure).__name__),
                hint=_("Run `exactlink doctor` to check the keyring."),
            )
        error = copy.copy(cause)
        where: Path | None = None
        if self.rescue is not None:
            try:
                where = self.rescue.keep(connection.secret_key, self.app, pair)
            except (OSError, ExactlinkError):
                where = None
        if where is None:
            error.message = _(
                "Exact Online issued new tokens, but they could not be stored: {cause} They are"
                " lost; the connection must be made again once storing works."
            ).format(cause=cause.message)
            error.hint = (cause.hint + " " if cause.hint else "") + _(
                "Then run `{command}`."
            ).format(command=reconnect_command(self.client_name))
            error.details = {**cause.details, "tokens": "lost"}
        else:
            error.message = _(
                "Exact Online issued new tokens, but they could not be stored: {cause} They are"
                " kept encrypted in {path} and the next exactlink command stores them; the"
                " connection is intact."
            ).format(cause=cause.message, path=where)
            # Not the cause's own hint: it may say "connect again", which is just what must
            # not happen now.
            error.hint = _(
                "Make the secret store work again (`exactlink doctor` checks it), then run"
                " `exactlink exact status --check`. Do not delete that file and do not reconnect."
            )
            error.details = {**cause.details, "tokens": "kept", "kept_in": str(where)}
        error.args = (error.message,)
        return error

    def recover_kept(self) -> None:
        """Store a pair an earlier run kept sealed (once per process; one ``stat`` when there
        is none). A pair older than the stored one, or of a chain since disconnected, is
        dropped."""
        if self._rescue_checked or self.rescue is None:
            return
        self._rescue_checked = True
        if not self.rescue.find(self.chain):
            return
        with self._lock():
            connection = self._reload()
            for path in self.rescue.find(self.chain):
                kept = self.rescue.open(path, self.chain, self.app)
                if kept is None:
                    continue  # another app secret: not ours to use or to delete
                stored = self.pairs.read(self.chain)
                stored_at = (stored.obtained_at if stored else None) or (
                    connection.last_token_call_at or 0
                )
                newer = stored is None or (kept.obtained_at or 0) > stored_at
                if newer and connection.status != CONNECTION_DISCONNECTED:
                    self._pair = self.pairs.commit(self.chain, kept)
                    self.connections.set_tokens_refreshed(
                        connection.id,
                        access_expires_at=kept.access_expires_at or 0,
                        token_call_at=kept.obtained_at or 0,
                    )
                    connection = self._reload()
                self.rescue.discard(path)

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
