"""The sandbox's records: an HTTP answer, and the OAuth state an engine keeps (plain data)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime


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
    current: str | None = None  # the last one issued: the only one that can still be current


@dataclass
class RefreshRecord:
    key: tuple[str, str]  # (client_id, user_id)
    generation: int
    issued_at: float
    expires_at: float
    state: str = "current"  # current | rotated | obsoleted | revoked
    used: bool = False
    successor: str | None = None
    site: str = "nl"


@dataclass
class AccessRecord:
    key: tuple[str, str]
    expires_at: float
    revoked: bool = False
    site: str = "nl"


@dataclass
class CodeRecord:
    client_id: str
    user_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False
    site: str = "nl"


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
