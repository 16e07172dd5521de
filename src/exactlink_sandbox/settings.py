"""Switches and limits of the sandbox, each with the default the reference recommends.

Confirmed rules ([C] in ``reference/exact-online.md``) are always on; only their numbers can be
changed (so tests can hit a limit in a few calls). Reported ([R]) or unconfirmed ([U]) behaviour
is a switch; ``docs/sandbox.md`` lists every one with its reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

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
)


@dataclass
class Settings:
    """Everything a test or a rehearsal may want to change about the simulated Exact Online."""

    # --- lifetimes and the too-early rule (§2.3, §2.6 [C]) ---
    access_token_seconds: int = 600
    code_seconds: int = 180
    too_early_seconds: int = 570
    refresh_token_days: int = 30
    # [U] §9: whether a code exchange counts for the 570 s rule. Off: an exchange is never
    # refused by it and does not start the 570 s window.
    code_exchange_counts: bool = False
    # [R] §2.6 (Invantive only): the previous refresh token keeps working until the new one is
    # used for the first time. Off by default as the reference recommends.
    refresh_grace: bool = False
    # [R] §2.6: 200 token calls per (app, user) per UTC day. None = no cap (the reference doubts
    # it is still enforced); set 200 to rehearse it.
    token_daily_cap: int | None = None
    # [R] §2.7: what a refresh token of a chain killed by re-authorisation answers.
    # "old_refresh_token": 401 unauthorized_client "Old refresh token used." (what clients see
    # and handle today); "obsoleted": 400 invalid_grant "An obsoleted refresh token can not be used."
    obsoleted_chain_error: str = "old_refresh_token"
    # [C]/[U] §2.5: both spellings appear; the reference's own example uses lower case.
    token_type: str = "bearer"
    # [U] §2.4: HTTP Basic client authentication on the token endpoint. Accepted by default
    # because exactlink sends both; switch off to rehearse a strict server.
    accept_basic_auth: bool = True
    # [C] §2.1: registered redirect URIs must be HTTPS. Off by default because tests and the
    # demo use an http://127.0.0.1 loopback listener; switch on to rehearse the real rule.
    require_https_redirect: bool = False
    # [R] §6.1: production apps have division scoping; self-registered test apps do not.
    division_scoping: bool = True

    # --- REST behaviour ---
    # [R] §3.7: a 401 may come as an HTML "Object moved" page instead of the OData envelope.
    html_401: bool = False
    # [U] §6.3 item 6: whether archived divisions appear in system/Divisions. Listed (Status 2).
    list_archived: bool = True
    # [R] §4.2: the Nov-2021 behaviour where system/Divisions through a {division} outside the
    # grant fails. Off: the {division} of that one endpoint is not validated (Exact support, 2021).
    strict_divisions_url: bool = False
    # [R] §3.3: with $top and no $inlinecount, "d" is a bare array.
    top_bare_array: bool = True
    # [C] §3.3: page size of ordinary endpoints.
    page_size: int = 60

    # --- rate limits (§5 [C]) ---
    minutely_limit: int = 60
    daily_limit: int = 5000
    error_limit: int = 10
    error_window_seconds: int = 3600
    error_block_seconds: int = 3600
    # [U] §5.1: the response while blocked for errors. 429 with an OData message.
    blocked_status: int = 429

    def update(self, values: dict, *, only: tuple[str, ...] | None = None) -> None:
        """Change settings from a JSON object; unknown keys or wrong types raise ValueError."""
        known = {f.name: f for f in fields(self)}
        for key, value in values.items():
            if key not in known or (only is not None and key not in only):
                raise ValueError(f"unknown setting: {key}")
            current = getattr(self, key)
            if key == "token_daily_cap":
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise ValueError("token_daily_cap must be an integer or null")
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
            elif isinstance(current, int):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{key} must be a non-negative integer")
            elif isinstance(current, str) and not isinstance(value, str):
                raise ValueError(f"{key} must be a string")
            if key == "obsoleted_chain_error" and value not in ("old_refresh_token", "obsoleted"):
                raise ValueError("obsoleted_chain_error must be 'old_refresh_token' or 'obsoleted'")
            if key == "page_size" and value < 1:
                raise ValueError("page_size must be at least 1")
            setattr(self, key, value)

    def to_json(self) -> dict:
        return asdict(self)

    def limits(self) -> dict:
        return {key: getattr(self, key) for key in LIMIT_KEYS}
