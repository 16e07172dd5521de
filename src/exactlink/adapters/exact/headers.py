"""Exact's answer headers, read: the rate-limit headers (reference §5.2) and the ``Date`` its
servers put on an answer (Exact's clock, to measure a Reset against)."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from exactlink.models import RateLimitState

if TYPE_CHECKING:
    import requests


def int_header(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value.strip() != "" else None
    except ValueError:
        return None


def reset_ms(value: str | None) -> int | None:
    """Reset headers are epoch milliseconds; tolerate seconds (a 10-digit value, §5.2)."""
    number = int_header(value)
    if number is not None and number < 100_000_000_000:
        number *= 1000
    return number


def server_time(response: requests.Response) -> float | None:
    """When Exact answered, by its own clock (the ``Date`` header); None without a valid one."""
    raw = response.headers.get("Date")
    if not raw:
        return None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def rate_limit_from_headers(division: int, headers: Any) -> RateLimitState | None:
    daily = (
        int_header(headers.get("X-RateLimit-Limit")),
        int_header(headers.get("X-RateLimit-Remaining")),
        reset_ms(headers.get("X-RateLimit-Reset")),
    )
    minutely = (
        int_header(headers.get("X-RateLimit-Minutely-Limit")),
        int_header(headers.get("X-RateLimit-Minutely-Remaining")),
        reset_ms(headers.get("X-RateLimit-Minutely-Reset")),
    )
    if all(v is None for v in (*daily, *minutely)):
        return None
    return RateLimitState(division, *daily, *minutely)
