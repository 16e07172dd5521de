"""Exact's OData v2 answers read (reference §3.2, §3.6): envelopes and dates.

A leaf of the Exact adapter: the REST client and the OAuth client both read these shapes, and
neither imports the other (the error envelope is refusals.py's, another leaf).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_date(value: Any) -> Any:
    """``"/Date(1641034800000)/"`` → 1641034800.0 (epoch seconds, UTC); anything else as is."""
    if isinstance(value, str):
        match = _DATE.match(value)
        if match:
            return int(match.group(1)) / 1000.0
    return value


def convert_dates(record: dict[str, Any]) -> dict[str, Any]:
    return {key: parse_date(value) for key, value in record.items() if key != "__metadata"}


def unwrap(payload: Any) -> tuple[Any, str | None]:
    """(records, next link) of an OData v2 response: a list for collections (``d.results`` or
    a bare ``d`` array), a dict for a single entity."""
    if not isinstance(payload, dict) or "d" not in payload:
        return payload, None
    body = payload["d"]
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        nxt = body.get("__next")
        return body["results"], nxt if isinstance(nxt, str) and nxt else None
    return body, None


def first_record(payload: Any) -> dict[str, Any] | None:
    """The record of a one-record answer such as ``current/Me`` (a collection of one, §4.1),
    dates as epoch seconds; None when the answer holds no record."""
    records, _next = unwrap(payload)
    record = records[0] if isinstance(records, list) and records else records
    return convert_dates(record) if isinstance(record, dict) else None
