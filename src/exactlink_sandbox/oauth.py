"""The OAuth 2.0 server of the simulated Exact Online (reference §2): authorize and token.

Functions over an :class:`~exactlink_sandbox.engine.Engine`, which holds the state and the lock.
The rules are in ``docs/exact-rules.md``; which of them apply is in the engine's settings.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from .records import (
    AccessRecord,
    Chain,
    CodeRecord,
    Grant,
    Pending,
    RefreshRecord,
    Reply,
    us_datetime,
)
from .settings import Settings

if TYPE_CHECKING:
    from .engine import Engine
    from .seed import Login

CHAIN_ID = "Token is not allowed, because of invalid or empty chainId"
TOKEN_ENDPOINT = "oauth2/token"
CODE_LENGTH = 400  # strict codes: long and opaque too (review item 3 [R])


class ConsentRefused(Exception):
    """The consent form cannot be accepted as sent; the page shows the message again."""


# ---------------------------------------------------------------------------- redirect URI
def redirect_problem(uri: str | None, settings: Settings) -> str | None:
    """Why ``uri`` cannot be an app's registered redirect URI under ``settings`` (None: fine).

    [C] §2.1 and review item 1: HTTPS, and a public URL, "cannot use localhost"; loopback and
    private addresses are refused too ([U], the reference says to expect it).
    """
    parts = urlsplit(uri or "")
    if settings.require_https_redirect and parts.scheme != "https":
        return (
            f"The redirect URI '{uri}' must use HTTPS (Exact Online rule, switch "
            "require_https_redirect)."
        )
    if settings.require_public_https_redirect and not _public_https(parts.scheme, parts.hostname):
        return (
            f"The redirect URI '{uri}' must be a public HTTPS address: Exact Online refuses "
            "localhost, loopback and private addresses (switch require_public_https_redirect)."
        )
    return None


def _public_https(scheme: str, host: str | None) -> bool:
    host = (host or "").lower().rstrip(".")
    if scheme != "https" or not host or host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host  # a name; a single label ("intranet") is not a public address
    return address.is_global


# ---------------------------------------------------------------------------- authorize
def check_client(engine: Engine, client_id: str | None, redirect_uri: str | None) -> str | None:
    """Why an authorize request must not redirect anywhere (None when it may)."""
    if not client_id or client_id != engine.app["client_id"]:
        return "The client_id is not valid."
    if redirect_uri != engine.app["redirect_uri"]:
        # §2.1 [C]: byte-for-byte match, and an error page instead of a redirect.
        return f"Callback URI '{redirect_uri}' is not valid."
    problem = redirect_problem(redirect_uri, engine.settings)
    if problem:
        return f"Callback URI '{redirect_uri}' is not valid. {problem}"
    return None


def authenticate(engine: Engine, username: str, password: str) -> Login | None:
    login = engine.logins.get((username or "").strip().lower())
    if login is None or not secrets.compare_digest(login.password, password or ""):
        return None
    return login


def start_consent(engine: Engine, client_id, redirect_uri, state, login: Login) -> str:
    with engine.lock:
        txn = secrets.token_urlsafe(18)
        engine.pending[txn] = Pending(
            client_id, redirect_uri, state, login.user_id, engine.now() + 900
        )
        return txn


def new_session(engine: Engine, login: Login) -> str:
    with engine.lock:
        sid = secrets.token_urlsafe(24)
        engine.sessions[sid] = login.user_id
        return sid


def pending_txn(engine: Engine, txn: str | None) -> Pending | None:
    with engine.lock:
        found = engine.pending.get(txn or "")
        if found is None or found.expires_at < engine.now():
            return None
        return found


def decide(
    engine: Engine, txn: str, allow: bool, select_all: bool, divisions: list[int], site: str
) -> str | None:
    """Store the consent and return the redirect URL (None when the transaction is gone).

    Raises :class:`ConsentRefused` (the transaction stays open) for an empty selection.
    """
    with engine.lock:
        found = engine.pending.get(txn)
        if found is None or found.expires_at < engine.now():
            engine.pending.pop(txn, None)
            return None
        accessible = engine.access[found.user_id]
        chosen = {d for d in divisions if d in accessible}
        s = engine.settings
        empty = allow and not select_all and not chosen
        if empty and s.consent_requires_selection and s.division_scoping:
            raise ConsentRefused(
                "Selecteer minstens één administratie / Select at least one administration."
            )
        del engine.pending[txn]
        params: dict[str, str] = {}
        if not allow:
            # §2.3 [U]: the deny redirect's format is unknown; OAuth's access_denied is used.
            params["error"] = "access_denied"
            params["error_description"] = "The user denied access."
        else:
            old = engine.grant(found.client_id, found.user_id)
            # Divisions the login cannot see were not on the page, so the person did not
            # take them away: keep them. The shown ones are exactly what was ticked.
            kept = {d for d in old.divisions if d not in accessible}
            engine.set_grant_record(
                found.client_id, found.user_id, Grant(select_all, kept | chosen)
            )
            code = _code(engine, site)
            engine.codes[code] = CodeRecord(
                found.client_id,
                found.user_id,
                found.redirect_uri,
                engine.now() + s.code_seconds,
                site=site,
            )
            params["code"] = code
        if found.state is not None:
            params["state"] = found.state
        sep = "&" if "?" in found.redirect_uri else "?"
        return found.redirect_uri + sep + urlencode(params)


# ---------------------------------------------------------------------------- token shapes
def _stamp(engine: Engine, site: str) -> str:
    """Review item 3 [R]: ``stampNL001.``, the country's site in the stamp."""
    return f"stamp{site.upper()}001." if engine.settings.token_stamp else ""


def _opaque(engine: Engine, site: str, head: str, length: int, legacy: int) -> str:
    """``stamp`` + ``head`` + random URL-safe text, ``length`` characters in all (0: legacy)."""
    prefix = _stamp(engine, site) + head
    if not length:
        return prefix + secrets.token_urlsafe(legacy)
    fill = max(16, length - len(prefix))
    # 32 random bytes stretched with SHAKE-256: as unguessable, and far cheaper than asking the
    # kernel for a kilobyte of randomness on every token call (the strict profile's speed).
    stretched = hashlib.shake_256(secrets.token_bytes(32)).digest(fill * 3 // 4 + 3)
    return prefix + base64.urlsafe_b64encode(stretched).decode("ascii")[:fill]


def _code(engine: Engine, site: str) -> str:
    # §2.3 [C]: codes contain "!" (it arrives as %21).
    length = min(CODE_LENGTH, engine.settings.token_length)
    return _opaque(engine, site, "XTzM!IAAAA", length, 32)


# ---------------------------------------------------------------------------- token endpoint
def token_error(
    engine: Engine,
    status: int,
    reason: str,
    error: str,
    description: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    engine.token_errors[reason] += 1
    body: dict[str, str] = {"error": error}
    if description is not None:
        body["error_description"] = description
    return Reply.json(status, body, headers)


def token(
    engine: Engine,
    form: dict[str, str],
    basic: tuple[str, str] | None,
    site: str = "nl",
) -> Reply:
    """POST /api/oauth2/token for both grants (§2.4-§2.7)."""
    with engine.lock:
        s = engine.settings
        if (
            basic is not None
            and s.refuse_double_credentials
            and ("client_id" in form or "client_secret" in form)
        ):
            # RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request".
            return token_error(
                engine,
                400,
                "invalid_request",
                "invalid_request",
                "Client credentials were sent both in the Authorization header and in the body; "
                "use one of them.",
            )
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        if basic is not None and s.accept_basic_auth:
            client_id = client_id or basic[0]
            secret = secret or basic[1]
        if (
            client_id is None
            or client_id != engine.app["client_id"]
            or not secrets.compare_digest(secret or "", engine.app["client_secret"])
        ):
            return token_error(engine, 400, "invalid_client", "invalid_client")
        key = _error_key(engine, client_id, form)
        blocked = engine.block_reply(key, oauth=True)
        if blocked is not None:
            return blocked
        reply = _grant(engine, client_id, form, site)
        if reply.status >= 400 and s.token_errors_count:
            engine.record_error(key)  # §5.1 [C], picqer#475 [R]: token errors count too
        return reply


def _grant(engine: Engine, client_id: str, form: dict[str, str], site: str) -> Reply:
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(engine, client_id, form, site)
    if grant_type == "refresh_token":
        return _refresh(engine, client_id, form, site)
    return token_error(engine, 400, "unsupported_grant_type", "unsupported_grant_type")


def _error_key(engine: Engine, client_id: str, form: dict[str, str]) -> tuple:
    """The error-block key of a token call: (app, user when known, "token", endpoint)."""
    user = "-"
    record = engine.refresh_tokens.get(form.get("refresh_token") or "")
    code = engine.codes.get(form.get("code") or "")
    if record is not None:
        user = record.key[1]
    elif code is not None:
        user = code.user_id
    return (client_id, user, "token", TOKEN_ENDPOINT)


def _too_early(engine: Engine, chain: Chain) -> Reply | None:
    now = engine.now()
    if (
        chain.last_success is not None
        and now - chain.last_success < engine.settings.too_early_seconds
    ):
        # §2.6 [C] observed: 400 access_denied plus the Reason header.
        description = "Rate limit exceeded: access_token not expired"
        return token_error(
            engine,
            400,
            "TooEarlyToRefreshTokens",
            "access_denied",
            description,
            [("Reason", f"TooEarlyToRefreshTokens: {description}")],
        )
    return None


def _daily_cap(engine: Engine, chain: Chain) -> Reply | None:
    cap = engine.settings.token_daily_cap
    day = int(engine.now() // 86400)
    if chain.day != day:
        chain.day, chain.day_calls = day, 0
    if cap is not None and chain.day_calls >= cap:
        # §2.6 [R]/[U]: the cap's error is unknown; modelled on the too-early refusal.
        description = "Rate limit exceeded: maximum number of token requests per day reached"
        return token_error(
            engine,
            400,
            "TooManyTokenRequests",
            "access_denied",
            description,
            [("Reason", f"TooManyTokenRequests: {description}")],
        )
    return None


def _exchange_code(engine: Engine, client_id: str, form: dict[str, str], site: str) -> Reply:
    code = form.get("code") or ""
    record = engine.codes.get(code)
    if (
        record is None
        or record.used
        or record.expires_at < engine.now()
        or record.client_id != client_id
        or record.site != site
    ):
        if record is not None:
            record.used = True
        if engine.settings.code_error_chain_id:
            # Review item 4 [R]: the same text as a corrupted chain.
            return token_error(engine, 400, "invalid_code", "invalid_grant", CHAIN_ID)
        # §2.3 [C]: reused or expired codes give 400 "Bad Request".
        return token_error(engine, 400, "invalid_code", "invalid_grant", "Bad Request")
    record.used = True  # single use, even when the rest of this request fails
    if form.get("redirect_uri") != record.redirect_uri:
        return token_error(
            engine,
            400,
            "redirect_uri_mismatch",
            "invalid_grant",
            f"Callback URI '{form.get('redirect_uri')}' is not valid.",
        )
    key = (client_id, record.user_id)
    chain = engine.chains[key]
    counts = engine.settings.code_exchange_counts
    refused = (_too_early(engine, chain) if counts else None) or _daily_cap(engine, chain)
    if refused:
        return refused
    # §2.8 [C]: a new authorisation kills every earlier refresh token of this (app, login).
    for old in _chain_tokens(engine, chain):
        if old.state in ("current", "rotated"):
            old.state = "obsoleted"
    chain.generation += 1
    return _issue(engine, key, chain, counts=counts, reason="code", site=site)[0]


def _refresh_refusal(engine: Engine, record: RefreshRecord | None, client_id: str, site: str):
    """The §2.7 error for a refresh token that cannot be used, or None."""
    if record is None or record.key[0] != client_id or record.site != site:
        return token_error(engine, 400, "invalid_grant", "invalid_grant", CHAIN_ID)
    if record.state == "revoked":
        return token_error(engine, 400, "revoked", "invalid_grant", CHAIN_ID)
    if record.state == "obsoleted":
        if engine.settings.obsoleted_chain_error == "obsoleted":
            return token_error(
                engine,
                400,
                "obsoleted_refresh_token",
                "invalid_grant",
                "An obsoleted refresh token can not be used.",
            )
        return token_error(
            engine, 401, "old_refresh_token", "unauthorized_client", "Old refresh token used."
        )
    return None


def _refresh(engine: Engine, client_id: str, form: dict[str, str], site: str) -> Reply:
    token_value = form.get("refresh_token") or ""
    record = engine.refresh_tokens.get(token_value)
    refused = _refresh_refusal(engine, record, client_id, site)
    if refused is not None or record is None:
        return refused or token_error(engine, 400, "invalid_grant", "invalid_grant", CHAIN_ID)
    successor = engine.refresh_tokens.get(record.successor or "")
    grace = (
        record.state == "rotated"
        and engine.settings.refresh_grace
        and successor is not None
        and successor.state == "current"
        and not successor.used
    )
    if record.state == "rotated" and not grace:
        # §2.6/§2.7 [C]: rotation; the spent token answers 401 unauthorized_client.
        return token_error(
            engine, 401, "old_refresh_token", "unauthorized_client", "Old refresh token used."
        )
    now = engine.now()
    if record.expires_at <= now:
        return token_error(
            engine,
            400,
            "refresh_token_expired",
            "invalid_request",
            f"The refresh token expired at {us_datetime(record.expires_at)} and it is now "
            f"{us_datetime(now)}.",
        )
    chain = engine.chains[record.key]
    refused = _too_early(engine, chain) or _daily_cap(engine, chain)
    if refused:
        return refused
    record.used = True
    record.state = "rotated"
    if grace and successor is not None:
        successor.state = "rotated"
        successor.successor = None
    reply, record.successor = _issue(
        engine, record.key, chain, counts=True, reason="refresh", site=site
    )
    return reply


def _issue(
    engine: Engine, key: tuple[str, str], chain: Chain, *, counts: bool, reason: str, site: str
) -> tuple[Reply, str]:
    """Issue an access and a refresh token; the reply and the new refresh token."""
    now = engine.now()
    s = engine.settings
    access = _opaque(engine, site, "AAEAA", s.token_length, 48)
    refresh = _opaque(engine, site, "Gcp7!IAAAA", s.token_length, 48)
    # Every issue invalidates earlier refresh tokens of the chain (§2.6 [C]). Only the last one
    # issued can still be current, so this costs the same however long the chain has lived.
    previous = engine.refresh_tokens.get(chain.current or "")
    if previous is not None and previous.state == "current":
        previous.state = "rotated"
    engine.access_tokens[access] = AccessRecord(key, now + s.access_token_seconds, site=site)
    engine.refresh_tokens[refresh] = RefreshRecord(
        key, chain.generation, now, now + s.refresh_token_days * 86400, site=site
    )
    chain.tokens.append(refresh)
    chain.current = refresh
    if counts:
        chain.last_success = now
    chain.day_calls += 1
    engine.token_successes[reason] += 1
    reply = Reply.json(
        200,
        {
            "access_token": access,
            "token_type": s.token_type,
            "expires_in": str(s.access_token_seconds),  # a string (§2.5 [C])
            "refresh_token": refresh,
        },
        [("Cache-Control", "no-store"), ("Pragma", "no-cache")],
    )
    return reply, refresh


def _chain_tokens(engine: Engine, chain: Chain) -> list[RefreshRecord]:
    return [engine.refresh_tokens[t] for t in chain.tokens]


def revoke(engine: Engine, client_id: str, user_id: str) -> int:
    """Security Center > Revoke (§2.9): every token of the chain stops working."""
    with engine.lock:
        killed = 0
        for record in engine.refresh_tokens.values():
            if record.key == (client_id, user_id) and record.state != "revoked":
                record.state = "revoked"
                killed += 1
        for access in engine.access_tokens.values():
            if access.key == (client_id, user_id):
                access.revoked = True
        return killed


def chain_json(engine: Engine, client_id: str, user_id: str) -> dict:
    with engine.lock:
        chain = engine.chains.get((client_id, user_id))
        tokens = [t for t in engine.refresh_tokens.values() if t.key == (client_id, user_id)]
        return {
            "generation": chain.generation if chain else 0,
            "last_token_call": chain.last_success if chain else None,
            "token_calls_today": chain.day_calls if chain else 0,
            "refresh_tokens": dict(Counter(t.state for t in tokens)),
            "live": any(t.state == "current" for t in tokens),
        }
