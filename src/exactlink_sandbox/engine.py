"""The simulated Exact Online: state and rules, independent of HTTP.

One :class:`Engine` holds the world (seed), the clock, the OAuth state (codes, token chains,
grants; the token rules themselves are in :mod:`.oauth`), the rate-limit counters and the
statistics. Every public method takes the engine lock, so the threading HTTP server can call it
from any number of request threads at once: sixteen processes racing to refresh one chain see
exactly the serialisation the real token endpoint imposes (one wins, the others get "Old refresh
token used." or the 570 s refusal).

Rule numbers in comments refer to ``reference/exact-online.md`` (``docs/exact-rules.md``).
"""

from __future__ import annotations

import base64
import bisect
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from . import odata
from .records import AccessRecord, Chain, CodeRecord, Grant, Pending, RefreshRecord, Reply
from .seed import Company, Login, World
from .settings import Settings

# Kept importable from here: older code and tests name them through the engine.
__all__ = ["AccessRecord", "Engine", "Grant", "Reply"]

# The furthest the clock may be moved in one call (ten years): beyond it dates overflow.
MAX_ADVANCE_SECONDS = 10 * 366 * 86400


class Engine:
    """All state of one sandbox; thread-safe; HTTP-free (see ``server.py`` for the wire)."""

    def __init__(self, world: World, settings: Settings) -> None:
        self.world = world
        self.settings = settings
        self.lock = threading.RLock()
        self.offset = 0.0
        self.base_url = ""
        self.site_urls: dict[str, str] = {}  # country site → its base URL, once started
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
        self.block_count: Counter[tuple] = Counter()
        self._accounts: dict[int, list[dict]] = {}
        # Sorted indexes of what a login sees, rebuilt only when grants, access or companies
        # change: a page of system/Divisions then costs the same at 500 or 20,000 divisions.
        self._version = 0
        self._visible: dict[tuple[str, str], tuple[tuple, list[Company], list[int]]] = {}
        self.reset_stats()

    # ------------------------------------------------------------------ clock and stats
    def now(self) -> float:
        """The sandbox clock: real time plus the offset tests add with /_sandbox/clock."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> dict:
        if not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise ValueError(
                f"'advance_seconds' must be between 0 and {MAX_ADVANCE_SECONDS} (ten years)"
            )
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

    def set_grant_record(self, client_id: str, user_id: str, grant: Grant) -> None:
        self.grants[(client_id, user_id)] = grant
        self.changed()

    def changed(self) -> None:
        """Grants, access or companies changed: the visible-division indexes are stale."""
        self._version += 1

    def accessible(self, user_id: str) -> list[Company]:
        return [self.companies[d] for d in sorted(self.access[user_id]) if d in self.companies]

    def in_scope(self, client_id: str, user_id: str, division: int) -> bool:
        if not self.settings.division_scoping:
            return True
        return self.grant(client_id, user_id).covers(division)

    def licence_out_of_reach(self, user_id: str, company: Company) -> bool:
        """A Premium client licence seen through an accountant's (firm) login (notes item 7 [R]):
        out of reach unless ``premium_licence`` is "reachable"."""
        if company.edition != "premium" or self.settings.premium_licence == "reachable":
            return False
        login = self.logins_by_id.get(user_id)
        if login is None or login.role != "firm":
            return False
        own = self.companies.get(login.company) if login.company is not None else None
        return own is None or own.license != company.license

    def visible_divisions(self, client_id: str, user_id: str) -> list[Company]:
        """system/Divisions: user-accessible ∩ granted, across licenses, no HQ (§4.2)."""
        return self.visible_index(client_id, user_id)[0]

    def visible_index(self, client_id: str, user_id: str) -> tuple[list[Company], list[int]]:
        """The visible divisions sorted by code, and their codes (for a bisect per page)."""
        key = (client_id, user_id)
        stamp = (
            self._version,
            self.settings.list_archived,
            self.settings.division_scoping,
            self.settings.premium_licence,
        )
        cached = self._visible.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        out = []
        for company in self.accessible(user_id):
            if company.hq:
                continue  # HQ virtual divisions are never listed (§4.2 [R])
            if company.status == 2 and not self.settings.list_archived:
                continue
            if self.licence_out_of_reach(user_id, company) and (
                self.settings.premium_licence == "unlisted"
            ):
                continue  # Dec-2026 notes item 7 [R]: Premium, through an accountant's login
            if self.in_scope(client_id, user_id, company.division):
                out.append(company)
        codes = [c.division for c in out]
        self._visible[key] = (stamp, out, codes)
        return out, codes

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

    # ------------------------------------------------------------------ REST: access tokens
    def bearer(self, header: str | None, site: str = "nl") -> AccessRecord | str | None:
        """The access record for an Authorization header; "expired" for a known dead one.

        A token of another country site is unknown here (§1.1: tokens belong to a site).
        """
        if not header or not header.lower().startswith("bearer "):
            return None
        record = self.access_tokens.get(header[7:].strip())
        if record is None or record.site != site:
            return None
        if record.revoked or record.expires_at <= self.now():
            return "expired"
        return record

    # ------------------------------------------------------------------ limits
    def error_key(self, client_id: str, user_id: str, division: str, endpoint: str) -> tuple:
        return (client_id, user_id, division, endpoint)

    def blocked(self, key: tuple) -> float | None:
        until = self.blocked_until.get(key)
        if until is not None and until > self.now():
            return until
        return None

    def block_reply(self, key: tuple, *, oauth: bool = False) -> Reply | None:
        """The answer while ``key`` is blocked for errors (§5.1), or None when it is not.

        [U] the real answer is unknown: ``blocked_status`` (429), the header
        ``Reason: ErrorLimitExceeded`` and a message saying until when, in the envelope of the
        endpoint (OAuth's for the token endpoint, OData's for the REST API).
        """
        until = self.blocked(key)
        if until is None:
            return None
        s = self.settings
        blocked_at = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        where = "on this endpoint" if oauth else "on this endpoint in this division"
        message = (
            f"Too many errors: more than {s.error_limit} errors in an hour {where}. "
            f"The app is blocked here until {blocked_at}."
        )
        headers = [("Reason", "ErrorLimitExceeded"), ("Retry-After", str(int(until - self.now())))]
        if oauth:
            self.token_errors["ErrorLimitExceeded"] += 1
            body: dict = {"error": "access_denied", "error_description": message}
            return Reply.json(s.blocked_status, body, headers)
        return Reply.json(s.blocked_status, odata.error_body(message), headers)

    def record_error(self, key: tuple) -> None:
        """§5.1 [C]: more than ``error_limit`` errors an hour on one endpoint blocks it for 1 h;
        with ``error_block_escalates`` every further block of that endpoint lasts twice as long."""
        now = self.now()
        s = self.settings
        window = [t for t in self.errors[key] if t > now - s.error_window_seconds]
        window.append(now)
        self.errors[key] = window
        if len(window) > s.error_limit:
            self.block_count[key] += 1
            factor = 2 ** (self.block_count[key] - 1) if s.error_block_escalates else 1
            self.blocked_until[key] = now + s.error_block_seconds * min(factor, 64)
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
        """POST /_sandbox/grant: every value is checked before anything changes."""
        with self.lock:
            client_id = body.get("client_id") or self.app["client_id"]
            replace = _codes(body["divisions"], "divisions") if "divisions" in body else None
            add = _codes(body.get("add", []), "add")
            remove = _codes(body.get("remove", []), "remove")
            if "all" in body and not isinstance(body["all"], bool):
                raise ValueError("'all' must be true or false")
            grant = self.grant(client_id, login.user_id)
            if "all" in body:
                grant.all = body["all"]
            if replace is not None:
                grant.divisions = set(replace)
            grant.divisions |= set(add)
            grant.divisions -= set(remove)
            self.changed()
            return {"username": login.username, "client_id": client_id, **grant.to_json()}

    def set_access(self, login: Login, division: int, has_access: bool) -> dict:
        with self.lock:
            if has_access:
                self.access[login.user_id].add(division)
            else:
                self.access[login.user_id].discard(division)
            self.changed()
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


def _codes(value: object, name: str) -> list[int]:
    """A list of division codes from a control's JSON, or ValueError (nothing is applied)."""
    if not isinstance(value, list):
        raise ValueError(f"'{name}' must be a list of division codes")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | str) or not str(item).isdigit():
            raise ValueError(f"'{name}' must be a list of division codes, not {item!r}")
        out.append(int(item))
    return out


def page_start(codes: list[int], after: int | None) -> int:
    """Where a page that follows ``$skiptoken=after`` starts in the sorted ``codes``."""
    return 0 if after is None else bisect.bisect_right(codes, after)
