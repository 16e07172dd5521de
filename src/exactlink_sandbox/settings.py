"""Switches and limits of the sandbox, and the two profiles that set them.

``strict`` (the default) is as strict as ``docs/exact-rules.md`` says Exact Online is: every
confirmed rule ([C]) on, and every reported or unconfirmed behaviour ([R], [U]) at the value the
reference recommends. ``lenient`` keeps the forgiving behaviour older clients were written against.
Every switch can still be set on top of a profile; ``docs/sandbox.md`` has one table of them all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

PROFILES = ("strict", "lenient")

# Keys that /_sandbox/limits reads and writes (numbers, not behaviour).
LIMIT_KEYS = (
    "minutely_limit",
    "daily_limit",
    "error_limit",
    "error_window_seconds",
    "error_block_seconds",
    "token_daily_cap",
    "too_early_seconds",
    "access_token_seconds",
    "code_seconds",
    "refresh_token_days",
    "page_size",
    "latency_ms",
)
# Switches whose value may also be null (None).
# How a division of a Premium client licence answers the firm's (accountant's) login: left out of
# system/Divisions, listed but refused, or like any other (December 2026 notes item 7 [R]).
PREMIUM_SHAPES = ("unlisted", "listed", "reachable")
_NULLABLE = {"token_daily_cap": int, "app_scopes": str}
_CHOICES = {
    "obsoleted_chain_error": ("old_refresh_token", "obsoleted"),
    "token_type": ("bearer", "Bearer"),
    "premium_licence": PREMIUM_SHAPES,
}
# The scopes a strict app is registered with (reference §2.1: chosen in the App Store, per area).
STRICT_APP_SCOPES = "Organization administration,CRM accounts"
# The longest a request may take to arrive, and the latency a test may ask for (robustness).
MAX_LATENCY_MS = 60_000


@dataclass
class Settings:
    """Everything a test or a rehearsal may want to change about the simulated Exact Online.

    The field defaults are the **strict** profile; :data:`LENIENT` lists what ``lenient`` changes.
    """

    # --- lifetimes and the too-early rule (§2.3, §2.6 [C]) ---
    access_token_seconds: int = 600
    code_seconds: int = 180
    too_early_seconds: int = 570
    refresh_token_days: int = 30
    # [C] (Dec-2026 review, item 2): the 570 s rule counts from any successful token issue, the
    # code exchange included.
    code_exchange_counts: bool = True
    # [R] §2.6 (Invantive only): the previous refresh token keeps working until the new one is
    # used for the first time. Off as the reference recommends.
    refresh_grace: bool = False
    # [R] §2.6: 200 token calls per (app, user) per UTC day. None = no cap (the reference: a
    # warning threshold only, never a hard stop); set 200 to rehearse it.
    token_daily_cap: int | None = None
    # [R] §2.7: what a refresh token of a chain killed by re-authorisation answers.
    obsoleted_chain_error: str = "old_refresh_token"
    # [C]/[U] §2.5: both spellings appear; the reference's own example uses lower case.
    token_type: str = "bearer"
    # [R] (review item 3): codes and tokens start with the site's stamp ``stampNL001.``.
    token_stamp: bool = True
    # [U] §2.5: token lengths are unknown; long, so every storage path meets long secrets.
    token_length: int = 1200
    # [R] (review item 4): a used or expired code answers "invalid or empty chainId".
    code_error_chain_id: bool = True
    # [U] §2.4: HTTP Basic client authentication on the token endpoint (alone it works).
    accept_basic_auth: bool = True
    # RFC 6749 §2.3: a client must not use more than one way to authenticate in a request.
    refuse_double_credentials: bool = True
    # [C] §2.1: registered redirect URIs must be HTTPS (any host). The strict rule below
    # includes it; this weaker one is for rehearsing HTTPS alone on top of ``lenient``.
    require_https_redirect: bool = False
    # [C] (review item 1): HTTPS on a public host, never localhost, loopback or a private address.
    require_public_https_redirect: bool = True
    # [R] §6.1: production apps have division scoping; self-registered test apps do not.
    division_scoping: bool = True
    # [C] §2.2: the consent page refuses an empty selection (nothing to grant, no code).
    consent_requires_selection: bool = True
    # [R] §2.1: the app's scopes (comma-separated areas); None = scopes not enforced.
    app_scopes: str | None = STRICT_APP_SCOPES

    # --- REST behaviour ---
    # [R] §3.7: a 401 may come as an HTML "Object moved" page instead of the OData envelope.
    html_401: bool = False
    # [U] §6.3 item 6: whether archived divisions appear in system/Divisions. Listed (Status 2).
    list_archived: bool = True
    # [R] §4.2: system/* through a {division} the app was not granted fails (the Nov-2021
    # behaviour). Off: the {division} of system/Divisions is not validated (Exact support, 2021).
    strict_divisions_url: bool = True
    # [R] (Dec-2026 review, item 7): Premium client licences are unreachable through an
    # accountant's login even when linked, "a cause for a missing division": left out of
    # system/Divisions ("unlisted"). How a direct call answers is [U]: 403 with
    # ``Reason: NoDivisionAccess``, as for any division the login cannot reach. "listed": in the
    # list, yet every call there answers that 403. "reachable": like any other licence.
    premium_licence: str = "unlisted"
    # [R] §3.3: with $top and no $inlinecount, "d" is a bare array.
    top_bare_array: bool = True
    # [C] §3.3: page size of ordinary endpoints.
    page_size: int = 60
    # [C] §3.1: without ``Accept: application/json`` the answer is Atom/XML.
    atom_without_accept: bool = True
    # [C] §3.3: ``$skip`` (and any unknown ``$`` option) is refused with an OData error.
    refuse_unknown_options: bool = True
    # [R] §3.1: URLs over about 6,000 characters are refused (0 = no limit).
    max_url_length: int = 6000

    # --- rate limits (§5 [C]) ---
    minutely_limit: int = 60
    daily_limit: int = 5000
    error_limit: int = 10
    error_window_seconds: int = 3600
    error_block_seconds: int = 3600
    # [U] §5.1: the response while blocked for errors. 429 with an OData message.
    blocked_status: int = 429
    # [C] §5.1/§2.6: token-endpoint errors count for the hourly error block too ([R] picqer#475).
    token_errors_count: bool = True
    # [C] §5.1: the block "gradually increases" if errors continue: each new block of the same
    # endpoint doubles (1 h, 2 h, 4 h ...).
    error_block_escalates: bool = True

    # --- speed and robustness (not Exact rules) ---
    # Each answer is delayed this much, so benchmarks show what a real firm waits. 0 = none.
    latency_ms: int = 0
    # A client that sends half a request is cut off after this many seconds.
    request_timeout_seconds: int = 30

    profile: str = "strict"

    @classmethod
    def for_profile(cls, profile: str = "strict") -> Settings:
        """The settings of ``profile`` (``strict`` or ``lenient``); ValueError otherwise."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}: use {' or '.join(PROFILES)}")
        settings = cls()
        if profile == "lenient":
            for key, value in LENIENT.items():
                setattr(settings, key, value)
        return settings

    def update(self, values: dict, *, only: tuple[str, ...] | None = None) -> None:
        """Change settings from a JSON object, all or nothing.

        Unknown keys or wrong types raise ValueError and change nothing.
        """
        checked = {key: self._checked(key, value, only) for key, value in values.items()}
        for key, value in checked.items():
            setattr(self, key, value)

    def _checked(self, key: str, value: object, only: tuple[str, ...] | None) -> object:
        known = {f.name for f in fields(self)} - {"profile"}
        if key not in known or (only is not None and key not in only):
            raise ValueError(f"unknown setting: {key}")
        if key in _NULLABLE:
            kind = _NULLABLE[key]
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise ValueError(f"{key} must be a {kind.__name__} or null")
            if isinstance(value, int) and value < 0:
                raise ValueError(f"{key} must not be negative")
            return value
        current = getattr(self, key)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        elif isinstance(current, int):
            _check_int(key, value)
        elif isinstance(current, str) and not isinstance(value, str):
            raise ValueError(f"{key} must be a string")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ValueError(f"{key} must be one of {', '.join(_CHOICES[key])}")
        return value

    def to_json(self) -> dict:
        return asdict(self)

    def limits(self) -> dict:
        return {key: getattr(self, key) for key in LIMIT_KEYS}

    def scopes(self) -> set[str] | None:
        """The app's scope set, or None when scopes are not enforced."""
        if self.app_scopes is None:
            return None
        return {part.strip() for part in self.app_scopes.split(",") if part.strip()}


_MINIMUM = {"page_size": 1, "blocked_status": 400, "request_timeout_seconds": 1}
_MAXIMUM = {
    "blocked_status": 599,
    "latency_ms": MAX_LATENCY_MS,
    "request_timeout_seconds": 3600,
    "token_length": 100_000,
}


def _check_int(key: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer")
    if value < _MINIMUM.get(key, 0):
        raise ValueError(f"{key} must be at least {_MINIMUM[key]}")
    if value > _MAXIMUM.get(key, math.inf):
        raise ValueError(f"{key} must be at most {_MAXIMUM[key]}")


# What ``lenient`` changes: the sandbox as it was before the strict profile, for old clients.
LENIENT: dict[str, object] = {
    "profile": "lenient",
    "code_exchange_counts": False,
    "token_stamp": False,
    "token_length": 0,  # 0: the short tokens of old (about 70 characters)
    "code_error_chain_id": False,
    "refuse_double_credentials": False,
    "require_public_https_redirect": False,
    "consent_requires_selection": False,
    "app_scopes": None,
    "strict_divisions_url": False,
    "premium_licence": "reachable",
    "atom_without_accept": False,
    "refuse_unknown_options": False,
    "max_url_length": 0,
    "token_errors_count": False,
    "error_block_escalates": False,
}
