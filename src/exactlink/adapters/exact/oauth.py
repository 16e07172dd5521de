"""OAuth 2.0 against Exact Online (reference §2): the authorize URL, the code exchange, refresh.

Token calls are form-encoded with the client credentials in the body (client_secret_post, §2.4);
``expires_in`` arrives as the string ``"600"`` (§2.5). The token endpoint's errors (§2.7) are
classified here: a dead chain (old/obsoleted/expired/revoked refresh token) is ``ChainDead``, the
570 s rule is ``TooEarly``; the token manager decides what each means for the connection.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

from exactlink.adapters.exact import http
from exactlink.adapters.exact.sites import AUTHORIZE_PATH, TOKEN_PATH
from exactlink.errors import (
    ExactRefused,
    ExactUnreachable,
    InvalidInput,
    RateLimited,
    ReconnectNeeded,
)
from exactlink.exact_records import MeRecord
from exactlink.i18n import _

if TYPE_CHECKING:
    import requests

ACCESS_TOKEN_SECONDS = 600  # §2.6 [C], used when expires_in is missing or unreadable


@dataclass(frozen=True)
class AppCredentials:
    """The registered app (reference §2.1): the secret comes from the secret store."""

    site: str
    client_id: str
    client_secret: str
    redirect_uri: str

    def __repr__(self) -> str:  # never print the secret, not even in a traceback
        return f"AppCredentials(site={self.site!r}, client_id={self.client_id!r})"


@dataclass(frozen=True)
class TokenSet:
    """A token response; ``obtained_at`` is our clock when the response arrived."""

    access_token: str
    refresh_token: str
    expires_in: int
    obtained_at: float

    @property
    def access_expires_at(self) -> float:
        return self.obtained_at + self.expires_in

    def __repr__(self) -> str:
        return f"TokenSet(expires_in={self.expires_in}, obtained_at={self.obtained_at})"


class ChainDead(ReconnectNeeded):
    """The refresh token no longer works: ``kind`` is old_refresh_token, obsoleted, expired,
    revoked or invalid_grant (reference §2.7)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class TooEarly(ExactRefused):
    """Exact's 570 s rule (§2.6): the current access token is still valid, use it."""


RELAY_PATH = "/callback"
# The relay page forwards only to a port in this range (docs/connecting.md, relay/page.html).
RELAY_PORTS = range(1024, 65536)


def new_state() -> str:
    """A fresh, unguessable ``state`` for one authorize attempt (RFC 6749 §10.12); the nonce of
    ``token_urlsafe`` never holds a dot, so :func:`relay_state` can append ``.<port>``."""
    return secrets.token_urlsafe(24)


def relay_state(nonce: str, port: int | None) -> str:
    """``state`` for the relay mode: ``<nonce>.<port>``, or the bare nonce (no forward). The
    relay page reads the port and forwards the browser to ``http://127.0.0.1:<port>/callback``."""
    if port is None:
        return nonce
    if port not in RELAY_PORTS:
        raise ValueError(f"port {port} is outside {RELAY_PORTS.start}-{RELAY_PORTS.stop - 1}")
    return f"{nonce}.{port}"


def authorize_url(app: AppCredentials, state: str, *, force_login: bool = False) -> str:
    """``GET {site}/api/oauth2/auth`` with client_id, redirect_uri, response_type=code, state
    (§2.2; there is no scope parameter and no PKCE). ``force_login=1`` makes Exact ask for a
    login even when the browser holds another Exact session (December 2026 notes, item 8)."""
    query = {
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "response_type": "code",
        "state": state,
    }
    if force_login:
        query["force_login"] = "1"
    return f"{app.site}{AUTHORIZE_PATH}?{urlencode(query)}"


def _same_endpoint(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (
        pa.scheme.lower() == pb.scheme.lower()
        and pa.hostname == pb.hostname
        and (pa.port or _default_port(pa.scheme)) == (pb.port or _default_port(pb.scheme))
        and (pa.path or "/") == (pb.path or "/")
    )


def _default_port(scheme: str) -> int:
    return 443 if scheme.lower() == "https" else 80


def _is_relay_forward(url: str) -> bool:
    """``http://127.0.0.1:<port>/callback?...``: where the relay page sends the browser (a
    person may copy it from the error page when the listener is gone)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname == "127.0.0.1"
        and port in RELAY_PORTS
        and parts.path == RELAY_PATH
    )


_QUERY_KEYS = ("code=", "state=", "error=")


def redirect_query(text: str, redirect_uri: str, *, relay: bool = False) -> str:
    """The query of what the person pasted: the whole landed address, its query (``?code=...``
    or ``code=...``), or the line the relay page shows. Not yet decoded."""
    text = text.strip()
    if "://" in text:
        if _same_endpoint(text, redirect_uri) or (relay and _is_relay_forward(text)):
            return urlsplit(text).query
    else:
        query = text[1:] if text.startswith("?") else text
        if query.startswith(_QUERY_KEYS) or any("&" + k in query for k in _QUERY_KEYS):
            return query
    raise InvalidInput(
        _("That is not the address Exact redirected to: expected it to start with {uri}.").format(
            uri=redirect_uri
        ),
        hint=_(
            "Paste the whole address from the browser's address bar after you pressed "
            "Allow (Toestaan), or the line the relay page shows; then run "
            "`exactlink exact connect` again if needed."
        ),
    )


def code_from_redirect(url: str, redirect_uri: str, state: str, *, relay: bool = False) -> str:
    """The authorization code from the address the browser landed on (or its query).

    Checks, in order: it is the registered redirect URI (or its query alone); Exact did not
    report an error (``error=access_denied`` when consent was declined); ``state`` is ours; a
    code is present. ``parse_qsl`` URL-decodes exactly once, so the ``%21`` in the code becomes
    ``!`` (§2.3) and a ``%2521`` stays ``%21``.
    """
    params = dict(parse_qsl(redirect_query(url, redirect_uri, relay=relay), keep_blank_values=True))
    error = params.get("error")
    if error:
        if params.get("state") not in (None, state):
            raise _state_mismatch()
        if error == "access_denied":
            raise ExactRefused(
                _("Access was declined on Exact Online's consent page."),
                hint=_("Run `exactlink exact connect` again and press Allow (Toestaan)."),
                reason="access_denied",
            )
        raise ExactRefused(
            _("Exact Online refused the authorisation: {error}.").format(
                error=params.get("error_description") or error
            ),
            hint=_("Check the app with `exactlink exact app show`, then connect again."),
            reason=error,
        )
    if params.get("state") != state:
        raise _state_mismatch()
    code = params.get("code")
    if not code:
        raise InvalidInput(
            _("The address has no authorization code."),
            hint=_("Paste the address the browser landed on after you pressed Allow (Toestaan)."),
        )
    return code


def _state_mismatch() -> InvalidInput:
    return InvalidInput(
        _("The answer from Exact does not belong to this attempt (state mismatch)."),
        hint=_(
            "Use the address from the browser tab this command opened, or run "
            "`exactlink exact connect` again: an old or foreign link is never accepted."
        ),
    )


def _token_call(
    session: requests.Session,
    app: AppCredentials,
    form: dict[str, str],
    clock: Any = time.time,
) -> TokenSet:
    # The credentials go in the body only (client_secret_post, §2.4 [C]); Exact documents no
    # HTTP Basic, and a strict server may refuse a request that carries both.
    body = {**form, "client_id": app.client_id, "client_secret": app.client_secret}
    response = http.send(session, "POST", app.site + TOKEN_PATH, data=body)
    now = clock()
    if response.status_code == 200:
        return _parse_tokens(response, now)
    raise classify_token_error(response, grant=form["grant_type"])


def _parse_tokens(response: requests.Response, now: float) -> TokenSet:
    try:
        payload = response.json()
        access, refresh = payload["access_token"], payload["refresh_token"]
    except (ValueError, KeyError, TypeError):
        raise ExactUnreachable(
            _("Exact Online's token endpoint sent an answer exactlink cannot read."),
            hint=_("Try again later; `exactlink doctor` checks the connection."),
        ) from None
    if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
        raise ExactUnreachable(_("Exact Online's token endpoint sent empty tokens."))
    try:
        # §2.5: a string ("600"); accept an integer too.
        expires_in = int(payload.get("expires_in", ACCESS_TOKEN_SECONDS))
    except (TypeError, ValueError):
        expires_in = ACCESS_TOKEN_SECONDS
    return TokenSet(access, refresh, expires_in, now)


def classify_token_error(response: requests.Response, *, grant: str) -> Exception:
    """Map a token-endpoint error (§2.7) to a typed error; never echo a token."""
    status = response.status_code
    reason_header = response.headers.get("Reason", "")
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    error = str(payload.get("error") or "")
    description = str(payload.get("error_description") or "")
    text = description.lower()
    return _limit_or_failure(status, reason_header, text, error) or (
        _code_refused(status, error, description, text)
        if grant == "authorization_code"
        else _refresh_refused(status, error, text)
    )


def _limit_or_failure(status: int, reason_header: str, text: str, error: str) -> Exception | None:
    """What any token call may meet: Exact's limits, its own failure, an unknown app."""
    if reason_header.startswith("ErrorLimitExceeded") or "too many errors" in text:
        return RateLimited(
            _("Exact blocked the app's token requests for an hour: too many errors."),
            hint=_("Wait for the block to end; retrying extends it. `exactlink doctor` explains."),
            details={"reason": "ErrorLimitExceeded"},
        )
    if reason_header.startswith("TooEarlyToRefreshTokens") or "access_token not expired" in text:
        return TooEarly(
            _("Exact refused a token refresh: the access token has not expired yet (570 s rule)."),
            status=status,
            reason="TooEarlyToRefreshTokens",
        )
    if reason_header.startswith("TooManyTokenRequests") or "per day" in text:
        return RateLimited(
            _("Exact's daily limit of token requests for this login and app is reached."),
            hint=_("Wait until tomorrow (UTC); avoid running `exact connect` in a loop."),
            details={"reason": "TooManyTokenRequests"},
        )
    if status >= 500:
        return ExactUnreachable(
            _("Exact Online's token endpoint failed (HTTP {status}).").format(status=status),
            hint=_("Try again in a few minutes."),
        )
    if error == "invalid_client":
        return ExactRefused(
            _("Exact Online does not accept the app's client ID or secret."),
            hint=_(
                "Check them in the Exact App Store and set them again with "
                "`exactlink exact app set --client-id ID --redirect-uri URI`."
            ),
            status=status,
            reason="invalid_client",
        )
    return None


def _code_refused(status: int, error: str, description: str, text: str) -> Exception:
    """Why Exact did not exchange an authorization code."""
    if "callback uri" in text:
        return ExactRefused(
            _("Exact Online rejected the redirect URI: {message}").format(message=description),
            hint=_(
                "The redirect URI must equal the registered one byte for byte: "
                "`exactlink exact app set --redirect-uri URI`."
            ),
            status=status,
            reason="redirect_uri_mismatch",
        )
    # December 2026 notes item 4 [R]: 400 invalid_grant "Token is not allowed, because of
    # invalid or empty chainId" for a code that was used or has expired.
    return ExactRefused(
        _(
            "Exact Online did not accept the authorization code: it was already used or has "
            "expired ({error}: {description})."
        ).format(error=error or "invalid_grant", description=description or "-"),
        hint=_(
            "A code works once, for about 3 minutes after Allow (Toestaan): run "
            "`exactlink exact connect` again and paste the new line right away."
        ),
        status=status,
        reason="invalid_grant",
    )


def _refresh_refused(status: int, error: str, text: str) -> Exception:
    """Why Exact did not refresh: mostly a dead chain, and which kind."""
    if "old refresh token" in text:
        return ChainDead(_("Exact says: Old refresh token used."), kind="old_refresh_token")
    if "obsolete" in text:
        return ChainDead(
            _(
                "Exact says the refresh token is obsolete: the same login authorised this app again."
            ),
            kind="obsoleted",
        )
    if "expired" in text:
        return ChainDead(
            _("The refresh token expired: the connection was idle for more than 30 days."),
            kind="expired",
        )
    if error in ("invalid_grant", "unauthorized_client") or status == 401:
        return ChainDead(
            _("Exact no longer accepts this connection's refresh token (revoked or broken chain)."),
            kind="revoked",
        )
    return ExactRefused(
        _("Exact Online's token endpoint refused the request (HTTP {status}: {error}).").format(
            status=status, error=error or "?"
        ),
        status=status,
        reason=error or None,
    )


def exchange_code(
    session: requests.Session, app: AppCredentials, code: str, clock: Any = time.time
) -> TokenSet:
    """``grant_type=authorization_code`` (§2.4); the redirect URI must be the same as before."""
    return _token_call(
        session,
        app,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri},
        clock,
    )


def refresh(
    session: requests.Session, app: AppCredentials, refresh_token: str, clock: Any = time.time
) -> TokenSet:
    """``grant_type=refresh_token`` (§2.4): rotates the refresh token (§2.6)."""
    return _token_call(
        session, app, {"grant_type": "refresh_token", "refresh_token": refresh_token}, clock
    )


class OAuthClient:
    """The ``services.connect.OAuthGateway`` of the real (or sandboxed) Exact Online.

    ``relay``: the redirect URI serves exactlink's relay page; ``relay_port`` (the listener's
    port, None when nothing listens) goes into ``state``. ``force_login`` (the default) adds
    ``force_login=1`` to the authorize URL."""

    def __init__(
        self,
        app: AppCredentials,
        session: requests.Session,
        clock: Any = time.time,
        *,
        force_login: bool = True,
        relay: bool = False,
        relay_port: int | None = None,
    ) -> None:
        self.app = app
        self.session = session
        self.clock = clock
        self.force_login = force_login
        self.relay = relay
        self.relay_port = relay_port

    def new_state(self) -> str:
        nonce = new_state()
        return relay_state(nonce, self.relay_port) if self.relay else nonce

    def authorize_url(self, state: str) -> str:
        return authorize_url(self.app, state, force_login=self.force_login)

    def code_from_redirect(self, url: str, state: str) -> str:
        return code_from_redirect(url, self.app.redirect_uri, state, relay=self.relay)

    def exchange(self, code: str) -> TokenSet:
        return exchange_code(self.session, self.app, code, self.clock)

    def me(self, access_token: str) -> MeRecord:
        """``current/Me`` with a token just obtained (the connection has no client yet)."""
        from exactlink.adapters.exact.odata import first_record
        from exactlink.adapters.exact.refusals import odata_message
        from exactlink.adapters.exact.sites import API_PATH

        response = http.send(
            self.session,
            "GET",
            self.app.site + API_PATH + "current/Me",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if response.status_code != 200:
            raise ExactRefused(
                _("Exact Online refused current/Me (HTTP {status}): {message}").format(
                    status=response.status_code, message=odata_message(response)
                ),
                status=response.status_code,
            )
        try:
            payload = response.json()
        except ValueError:
            raise ExactUnreachable(
                _("Exact Online sent a current/Me answer without a user."),
                hint=_("Try again later; `exactlink doctor` checks the connection."),
            ) from None
        return cast(MeRecord, first_record(payload) or {})
