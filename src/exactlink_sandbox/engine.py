"""The simulated Exact Online: state and rules, independent of HTTP.

One :class:`Engine` holds the world (seed), the clock, the OAuth state (codes, token chains,
grants), the rate-limit counters and the statistics. Every public method takes the engine lock,
so the threading HTTP server can call it from any number of request threads at once: sixteen
processes racing to refresh one chain see exactly the serialisation the real token endpoint
imposes (one wins, the others get "Old refresh token used." or the 570 s refusal).

Rule numbers in comments refer to ``reference/exact-online.md``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote_plus, urlencode

from .seed import Company, Login, World
from .settings import Settings


@dataclass
class Reply:
    """An HTTP answer the server writes out; ``drop`` closes the socket without writing it."""

    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False

    @classmethod
    def json(cls, status: int, payload: object, headers: list[tuple[str, str]] | None = None):
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(status, body, headers=list(headers or []))


@dataclass
class Grant:
    """Which divisions a login allowed an app to use at consent (§6 division scoping)."""

    all: bool = False  # "all current and future administrations"
    divisions: set[int] = field(default_factory=set)

    def covers(self, division: int) -> bool:
        return self.all or division in self.divisions

    def to_json(self) -> dict:
        return {"all": self.all, "divisions": sorted(self.divisions)}


@dataclass
class Chain:
    """The one live token chain of an (app, login) pair (§2.8)."""

    generation: int = 0
    last_success: float | None = None  # last successful token call that counts for 570 s
    day: int = -1
    day_calls: int = 0
    tokens: list[str] = field(default_factory=list)  # every refresh token ever issued


@dataclass
class RefreshRecord:
    key: tuple[str, str]  # (client_id, user_id)
    generation: int
    issued_at: float
    expires_at: float
    state: str = "current"  # current | rotated | obsoleted | revoked
    used: bool = False
    successor: str | None = None


@dataclass
class AccessRecord:
    key: tuple[str, str]
    expires_at: float
    revoked: bool = False


@dataclass
class CodeRecord:
    client_id: str
    user_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class Pending:
    """A login that passed the login form and waits for its consent decision."""

    client_id: str
    redirect_uri: str
    state: str | None
    user_id: str
    expires_at: float


def us_datetime(ts: float) -> str:
    """US date format as in the 30-day expiry message: ``10/11/2022 9:18:20 PM`` (§2.7)."""
    moment = datetime.fromtimestamp(ts, UTC)
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {half}"


class Engine:
    """All state of one sandbox; thread-safe; HTTP-free (see ``server.py`` for the wire)."""

    def __init__(self, world: World, settings: Settings) -> None:
        self.world = world
        self.settings = settings
        self.lock = threading.RLock()
        self.offset = 0.0
        self.base_url = ""
        self.app = dict(world.app)
        self.companies: dict[int, Company] = {c.division: c for c in world.companies}
        self.logins: dict[str, Login] = {lg.username.lower(): lg for lg in world.logins}
        self.logins_by_id: dict[str, Login] = {lg.user_id: lg for lg in world.logins}
        self.access: dict[str, set[int]] = {}
        self.current_division: dict[str, int] = {}
        self.grants: dict[tuple[str, str], Grant] = {}
        for login in world.logins:
            if login.role == "firm":
                accessible = {c.division for c in world.companies if c.login_has_access}
            else:
                accessible = {login.company} if login.company is not None else set()
            self.access[login.user_id] = accessible
            self.current_division[login.user_id] = login.company or 0
            # Before anyone consents, the grant is what the seed says; the consent page
            # pre-ticks exactly this, so accepting it as it is keeps the seed's grants.
            granted = {c.division for c in world.companies if c.granted_to_app}
            if login.role == "client":
                granted &= accessible
            self.grants[(self.app["client_id"], login.user_id)] = Grant(False, granted)
        self.chains: dict[tuple[str, str], Chain] = defaultdict(Chain)
        self.refresh_tokens: dict[str, RefreshRecord] = {}
        self.access_tokens: dict[str, AccessRecord] = {}
        self.codes: dict[str, CodeRecord] = {}
        self.pending: dict[str, Pending] = {}
        self.sessions: dict[str, str] = {}
        self.faults: list[dict] = []
        self.minute: dict[tuple[str, str], tuple[int, int]] = {}
        self.daily: dict[tuple[str, str], tuple[int, int]] = {}
        self.errors: dict[tuple, list[float]] = defaultdict(list)
        self.blocked_until: dict[tuple, float] = {}
        self._accounts: dict[int, list[dict]] = {}
        self.reset_stats()

    # ------------------------------------------------------------------ clock and stats
    def now(self) -> float:
        """The sandbox clock: real time plus the offset tests add with /_sandbox/clock."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> dict:
        with self.lock:
            self.offset += seconds
            return self.clock_json()

    def clock_json(self) -> dict:
        now = self.now()
        return {
            "now": now,
            "now_iso": datetime.fromtimestamp(now, UTC).isoformat(),
            "offset_seconds": self.offset,
        }

    def reset_stats(self) -> None:
        with self.lock:
            self.token_calls = 0
            self.token_errors: Counter[str] = Counter()
            self.token_successes: Counter[str] = Counter()
            self.api_calls: Counter[str] = Counter()
            self.api_errors: Counter[str] = Counter()
            self.api_calls_by_endpoint: Counter[str] = Counter()
            self.rate_limited: Counter[str] = Counter()
            self.error_blocks: Counter[str] = Counter()

    def stats(self) -> dict:
        with self.lock:
            return {
                "token_calls": self.token_calls,
                "token_errors": dict(self.token_errors),
                "token_successes": dict(self.token_successes),
                "api_calls": dict(self.api_calls),
                "api_errors": dict(self.api_errors),
                "api_calls_by_endpoint": dict(self.api_calls_by_endpoint),
                "rate_limited": dict(self.rate_limited),
                "error_blocks": dict(self.error_blocks),
            }

    # ------------------------------------------------------------------ lookups
    def login(self, username: str | None) -> Login:
        """The login named ``username`` (case-insensitive); the firm login when None."""
        if username is None:
            return self.world.logins[0]
        found = self.logins.get(str(username).lower())
        if found is None:
            raise KeyError(f"unknown login: {username}")
        return found

    def grant(self, client_id: str, user_id: str) -> Grant:
        return self.grants.setdefault((client_id, user_id), Grant())

    def accessible(self, user_id: str) -> list[Company]:
        return [self.companies[d] for d in sorted(self.access[user_id]) if d in self.companies]

    def in_scope(self, client_id: str, user_id: str, division: int) -> bool:
        if not self.settings.division_scoping:
            return True
        return self.grant(client_id, user_id).covers(division)

    def visible_divisions(self, client_id: str, user_id: str) -> list[Company]:
        """system/Divisions: user-accessible ∩ granted, across licenses, no HQ (§4.2)."""
        out = []
        for company in self.accessible(user_id):
            if company.hq:
                continue  # HQ virtual divisions are never listed (§4.2 [R])
            if company.status == 2 and not self.settings.list_archived:
                continue
            if self.in_scope(client_id, user_id, company.division):
                out.append(company)
        return out

    # ------------------------------------------------------------------ faults
    def take_fault(self, path: str) -> dict | None:
        """The first armed fault for ``path`` (consumed), if any."""
        with self.lock:
            for fault in self.faults:
                target = fault["path"]
                hit = (
                    target == path
                    or (target == "token" and path == "/api/oauth2/token")
                    or (target == "auth" and path == "/api/oauth2/auth")
                    or (target == "api" and path.startswith("/api/v1/"))
                    or (target.startswith("/") and path.startswith(target))
                )
                if hit:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.faults.remove(fault)
                    return dict(fault)
            return None

    # ------------------------------------------------------------------ OAuth: authorize
    def check_client(self, client_id: str | None, redirect_uri: str | None) -> str | None:
        """Why an authorize request must not redirect anywhere (None when it may)."""
        if not client_id or client_id != self.app["client_id"]:
            return "The client_id is not valid."
        if redirect_uri != self.app["redirect_uri"]:
            # §2.1 [C]: byte-for-byte match, and an error page instead of a redirect.
            return f"Callback URI '{redirect_uri}' is not valid."
        if self.settings.require_https_redirect and not str(redirect_uri).startswith("https://"):
            return f"Callback URI '{redirect_uri}' is not valid. It must use HTTPS."
        return None

    def authenticate(self, username: str, password: str) -> Login | None:
        login = self.logins.get((username or "").strip().lower())
        if login is None or not secrets.compare_digest(login.password, password or ""):
            return None
        return login

    def start_consent(self, client_id, redirect_uri, state, login: Login) -> str:
        with self.lock:
            txn = secrets.token_urlsafe(18)
            self.pending[txn] = Pending(
                client_id, redirect_uri, state, login.user_id, self.now() + 900
            )
            return txn

    def new_session(self, login: Login) -> str:
        with self.lock:
            sid = secrets.token_urlsafe(24)
            self.sessions[sid] = login.user_id
            return sid

    def pending_txn(self, txn: str | None) -> Pending | None:
        with self.lock:
            found = self.pending.get(txn or "")
            if found is None or found.expires_at < self.now():
                return None
            return found

    def decide(self, txn: str, allow: bool, select_all: bool, divisions: list[int]) -> str | None:
        """Store the consent and return the redirect URL (None when the transaction is gone)."""
        with self.lock:
            found = self.pending.pop(txn, None)
            if found is None or found.expires_at < self.now():
                return None
            params: dict[str, str] = {}
            if not allow:
                # §2.3 [U]: the deny redirect's format is unknown; OAuth's access_denied is used.
                params["error"] = "access_denied"
                params["error_description"] = "The user denied access."
            else:
                accessible = self.access[found.user_id]
                old = self.grant(found.client_id, found.user_id)
                # Divisions the login cannot see were not on the page, so the person did not
                # take them away: keep them. The shown ones are exactly what was ticked.
                kept = {d for d in old.divisions if d not in accessible}
                chosen = {d for d in divisions if d in accessible}
                self.grants[(found.client_id, found.user_id)] = Grant(select_all, kept | chosen)
                code = "XTzM!IAAAA" + secrets.token_urlsafe(32)  # §2.3: codes contain "!"
                self.codes[code] = CodeRecord(
                    found.client_id,
                    found.user_id,
                    found.redirect_uri,
                    self.now() + self.settings.code_seconds,
                )
                params["code"] = code
            if found.state is not None:
                params["state"] = found.state
            sep = "&" if "?" in found.redirect_uri else "?"
            return found.redirect_uri + sep + urlencode(params)

    # ------------------------------------------------------------------ OAuth: token
    def _token_error(
        self,
        status: int,
        reason: str,
        error: str,
        description: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> Reply:
        self.token_errors[reason] += 1
        body: dict[str, str] = {"error": error}
        if description is not None:
            body["error_description"] = description
        return Reply.json(status, body, headers)

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> Reply:
        """POST /api/oauth2/token for both grants (§2.4-§2.7)."""
        with self.lock:
            client_id = form.get("client_id")
            secret = form.get("client_secret")
            if basic is not None and self.settings.accept_basic_auth:
                client_id = client_id or basic[0]
                secret = secret or basic[1]
            if (
                client_id is None
                or client_id != self.app["client_id"]
                or not secrets.compare_digest(secret or "", self.app["client_secret"])
            ):
                return self._token_error(400, "invalid_client", "invalid_client")
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                return self._exchange_code(client_id, form)
            if grant_type == "refresh_token":
                return self._refresh(client_id, form)
            return self._token_error(400, "unsupported_grant_type", "unsupported_grant_type")

    def _too_early(self, chain: Chain) -> Reply | None:
        now = self.now()
        if (
            chain.last_success is not None
            and now - chain.last_success < self.settings.too_early_seconds
        ):
            # §2.6 [C] observed: 400 access_denied plus the Reason header.
            description = "Rate limit exceeded: access_token not expired"
            return self._token_error(
                400,
                "TooEarlyToRefreshTokens",
                "access_denied",
                description,
                [("Reason", f"TooEarlyToRefreshTokens: {description}")],
            )
        return None

    def _daily_cap(self, chain: Chain) -> Reply | None:
        cap = self.settings.token_daily_cap
        day = int(self.now() // 86400)
        if chain.day != day:
            chain.day, chain.day_calls = day, 0
        if cap is not None and chain.day_calls >= cap:
            # §2.6 [R]/[U]: the cap's error is unknown; modelled on the too-early refusal.
            description = "Rate limit exceeded: maximum number of token requests per day reached"
            return self._token_error(
                400,
                "TooManyTokenRequests",
                "access_denied",
                description,
                [("Reason", f"TooManyTokenRequests: {description}")],
            )
        return None

    def _exchange_code(self, client_id: str, form: dict[str, str]) -> Reply:
        code = form.get("code") or ""
        record = self.codes.get(code)
        if (
            record is None
            or record.used
            or record.expires_at < self.now()
            or record.client_id != client_id
        ):
            # §2.3 [C]: reused or expired codes give 400 "Bad Request" (exact JSON [U]).
            if record is not None:
                record.used = True
            return self._token_error(400, "invalid_code", "invalid_grant", "Bad Request")
        record.used = True  # single use, even when the rest of this request fails
        if form.get("redirect_uri") != record.redirect_uri:
            return self._token_error(
                400,
                "redirect_uri_mismatch",
                "invalid_grant",
                f"Callback URI '{form.get('redirect_uri')}' is not valid.",
            )
        key = (client_id, record.user_id)
        chain = self.chains[key]
        if self.settings.code_exchange_counts:
            refused = self._too_early(chain)
            if refused:
                return refused
        refused = self._daily_cap(chain)
        if refused:
            return refused
        # §2.8 [C]: a new authorisation kills every earlier refresh token of this (app, login).
        for token in self._chain_tokens(chain):
            if token.state in ("current", "rotated"):
                token.state = "obsoleted"
        chain.generation += 1
        return self._issue(key, chain, counts=self.settings.code_exchange_counts, reason="code")

    def _refresh(self, client_id: str, form: dict[str, str]) -> Reply:
        token = form.get("refresh_token") or ""
        record = self.refresh_tokens.get(token)
        if record is None or record.key[0] != client_id:
            return self._token_error(
                400,
                "invalid_grant",
                "invalid_grant",
                "Token is not allowed, because of invalid or empty chainId",
            )
        if record.state == "revoked":
            return self._token_error(
                400,
                "revoked",
                "invalid_grant",
                "Token is not allowed, because of invalid or empty chainId",
            )
        if record.state == "obsoleted":
            if self.settings.obsoleted_chain_error == "obsoleted":
                return self._token_error(
                    400,
                    "obsoleted_refresh_token",
                    "invalid_grant",
                    "An obsoleted refresh token can not be used.",
                )
            return self._token_error(
                401, "old_refresh_token", "unauthorized_client", "Old refresh token used."
            )
        successor = self.refresh_tokens.get(record.successor or "")
        grace = (
            record.state == "rotated"
            and self.settings.refresh_grace
            and successor is not None
            and successor.state == "current"
            and not successor.used
        )
        if record.state == "rotated" and not grace:
            # §2.6/§2.7 [C]: rotation; the spent token answers 401 unauthorized_client.
            return self._token_error(
                401, "old_refresh_token", "unauthorized_client", "Old refresh token used."
            )
        now = self.now()
        if record.expires_at <= now:
            return self._token_error(
                400,
                "refresh_token_expired",
                "invalid_request",
                f"The refresh token expired at {us_datetime(record.expires_at)} and it is now "
                f"{us_datetime(now)}.",
            )
        chain = self.chains[record.key]
        refused = self._too_early(chain) or self._daily_cap(chain)
        if refused:
            return refused
        record.used = True
        record.state = "rotated"
        if grace and successor is not None:
            successor.state = "rotated"
            successor.successor = None
        reply = self._issue(record.key, chain, counts=True, reason="refresh")
        record.successor = json.loads(reply.body)["refresh_token"]
        return reply

    def _issue(self, key: tuple[str, str], chain: Chain, *, counts: bool, reason: str) -> Reply:
        now = self.now()
        access = "AAEAA" + secrets.token_urlsafe(48)
        refresh = "Gcp7!IAAAA" + secrets.token_urlsafe(48)
        # Every issue invalidates earlier refresh tokens of the chain (§2.6 [C]).
        for token in self._chain_tokens(chain):
            if token.state == "current":
                token.state = "rotated"
        self.access_tokens[access] = AccessRecord(key, now + self.settings.access_token_seconds)
        self.refresh_tokens[refresh] = RefreshRecord(
            key, chain.generation, now, now + self.settings.refresh_token_days * 86400
        )
        chain.tokens.append(refresh)
        if counts:
            chain.last_success = now
        chain.day_calls += 1
        self.token_successes[reason] += 1
        return Reply.json(
            200,
            {
                "access_token": access,
                "token_type": self.settings.token_type,
                "expires_in": str(self.settings.access_token_seconds),  # a string (§2.5 [C])
                "refresh_token": refresh,
            },
            [("Cache-Control", "no-store"), ("Pragma", "no-cache")],
        )

    def _chain_tokens(self, chain: Chain) -> list[RefreshRecord]:
        return [self.refresh_tokens[t] for t in chain.tokens]

    def revoke(self, client_id: str, user_id: str) -> int:
        """Security Center > Revoke (§2.9): every token of the chain stops working."""
        with self.lock:
            killed = 0
            for token in self.refresh_tokens.values():
                if token.key == (client_id, user_id) and token.state != "revoked":
                    token.state = "revoked"
                    killed += 1
            for record in self.access_tokens.values():
                if record.key == (client_id, user_id):
                    record.revoked = True
            return killed

    def chain_json(self, client_id: str, user_id: str) -> dict:
        with self.lock:
            chain = self.chains.get((client_id, user_id))
            tokens = [t for t in self.refresh_tokens.values() if t.key == (client_id, user_id)]
            return {
                "generation": chain.generation if chain else 0,
                "last_token_call": chain.last_success if chain else None,
                "token_calls_today": chain.day_calls if chain else 0,
                "refresh_tokens": dict(Counter(t.state for t in tokens)),
                "live": any(t.state == "current" for t in tokens),
            }

    # ------------------------------------------------------------------ REST: access tokens
    def bearer(self, header: str | None) -> AccessRecord | str | None:
        """The access record for an Authorization header; "expired" for a known dead one."""
        if not header or not header.lower().startswith("bearer "):
            return None
        record = self.access_tokens.get(header[7:].strip())
        if record is None:
            return None
        if record.revoked or record.expires_at <= self.now():
            return "expired"
        return record

    # ------------------------------------------------------------------ REST: limits
    def error_key(self, client_id: str, user_id: str, division: str, endpoint: str) -> tuple:
        return (client_id, user_id, division, endpoint)

    def blocked(self, key: tuple) -> float | None:
        until = self.blocked_until.get(key)
        if until is not None and until > self.now():
            return until
        return None

    def record_error(self, key: tuple) -> None:
        """§5.1 [C]: more than ``error_limit`` errors an hour on one endpoint blocks it for 1 h."""
        now = self.now()
        window = [t for t in self.errors[key] if t > now - self.settings.error_window_seconds]
        window.append(now)
        self.errors[key] = window
        if len(window) > self.settings.error_limit:
            self.blocked_until[key] = now + self.settings.error_block_seconds
            self.errors[key] = []
            self.error_blocks[key[2]] += 1

    def meter(self, client_id: str, division: str) -> tuple[bool, list[tuple[str, str]]]:
        """Count one call against (app, division); returns (allowed, rate-limit headers).

        §5.2 [C]: minutely windows align to the clock minute, the daily one resets at 00:00 UTC,
        resets are epoch milliseconds, and a 429 carries only the family that was exceeded.
        """
        now = self.now()
        minute, day = int(now // 60), int(now // 86400)
        key = (client_id, division)
        m_key, m_count = self.minute.get(key, (minute, 0))
        d_key, d_count = self.daily.get(key, (day, 0))
        if m_key != minute:
            m_key, m_count = minute, 0
        if d_key != day:
            d_key, d_count = day, 0
        s = self.settings
        minutely = [
            ("X-RateLimit-Minutely-Limit", str(s.minutely_limit)),
            ("X-RateLimit-Minutely-Reset", str((minute + 1) * 60_000)),
        ]
        daily = [
            ("X-RateLimit-Limit", str(s.daily_limit)),
            ("X-RateLimit-Reset", str((day + 1) * 86_400_000)),
        ]
        if d_count >= s.daily_limit:
            self.daily[key] = (d_key, d_count)
            return False, [*daily, ("X-RateLimit-Remaining", "0")]
        if m_count >= s.minutely_limit:
            self.minute[key] = (m_key, m_count)
            return False, [*minutely, ("X-RateLimit-Minutely-Remaining", "0")]
        m_count += 1
        d_count += 1
        self.minute[key] = (m_key, m_count)
        self.daily[key] = (d_key, d_count)
        return True, [
            *daily,
            ("X-RateLimit-Remaining", str(s.daily_limit - d_count)),
            *minutely,
            ("X-RateLimit-Minutely-Remaining", str(s.minutely_limit - m_count)),
        ]

    # ------------------------------------------------------------------ controls
    def set_grant(self, login: Login, body: dict) -> dict:
        with self.lock:
            client_id = body.get("client_id") or self.app["client_id"]
            grant = self.grant(client_id, login.user_id)
            if "all" in body:
                grant.all = bool(body["all"])
            if "divisions" in body:
                grant.divisions = {int(d) for d in body["divisions"]}
            for d in body.get("add", []):
                grant.divisions.add(int(d))
            for d in body.get("remove", []):
                grant.divisions.discard(int(d))
            return {"username": login.username, "client_id": client_id, **grant.to_json()}

    def set_access(self, login: Login, division: int, has_access: bool) -> dict:
        with self.lock:
            if has_access:
                self.access[login.user_id].add(division)
            else:
                self.access[login.user_id].discard(division)
            return {
                "username": login.username,
                "division": division,
                "has_access": division in self.access[login.user_id],
                "divisions": sorted(self.access[login.user_id]),
            }

    def basic_credentials(self, header: str | None) -> tuple[str, str] | None:
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            raw = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        user, _, password = raw.partition(":")
        return unquote_plus(user), unquote_plus(password)
