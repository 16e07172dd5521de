"""The domain's records: immutable records the store returns and the services pass around.

They are ``NamedTuple``s rather than frozen dataclasses: just as immutable, and several times
cheaper to define, which every command pays at start-up. For the same reason this module does
not use ``from __future__ import annotations``: NamedTuple compiles every string annotation into
a ``ForwardRef``, which cost more than the records themselves. ``to_dict`` gives the stable
snake_case shape used by ``--json`` output; none of these ever holds a secret (tokens and the
client secret live only in the keyring).
"""

from typing import Any, NamedTuple


class Portal(NamedTuple):
    """An accounting firm's portal: the one place that connects to Exact Online."""

    id: int
    name: str
    email: str
    billing_name: str | None
    billing_email: str | None
    vat: str | None
    address: str | None
    created_at: str
    updated_at: str

    @property
    def has_billing(self) -> bool:
        """A portal may create managed client accounts only with billing details."""
        return bool(self.billing_name and self.billing_email and self.address)

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


CLIENT_PENDING = "pending"
CLIENT_GRANTED = "granted"
CLIENT_ACTIVE = "active"


class Client(NamedTuple):
    """A client account in a portal.

    ``status`` is derived: *pending* until the client granted the firm's e-mail in Toegangsbeheer,
    *granted* after, *active* once linked to an Exact administration (division).
    """

    id: int
    portal_id: int
    name: str
    email: str | None
    vat: str | None
    coc: str | None
    managed: bool
    access_granted_at: str | None
    created_at: str
    updated_at: str
    division: int | None = None

    @property
    def status(self) -> str:
        if self.division is not None:
            return CLIENT_ACTIVE
        return CLIENT_GRANTED if self.access_granted_at else CLIENT_PENDING

    def to_dict(self) -> dict[str, Any]:
        data = self._asdict()
        data["status"] = self.status
        return data


CONNECTION_CONNECTED = "connected"
CONNECTION_NEEDS_RECONNECT = "needs-reconnect"
CONNECTION_DISCONNECTED = "disconnected"


class Connection(NamedTuple):
    """Metadata of one OAuth token chain: a portal's (``client_id`` None) or a client's own link.

    The tokens themselves are in the secret store under ``secret_key``; only times live here.
    """

    id: int
    portal_id: int
    client_id: int | None
    base_url: str
    app_client_id: str
    status: str
    storage: str
    exact_user_id: str | None
    exact_username: str | None
    exact_full_name: str | None
    exact_email: str | None
    current_division: int | None
    access_expires_at: float | None
    refresh_issued_at: float | None
    last_token_call_at: float | None
    last_error: str | None
    created_at: str
    updated_at: str

    @property
    def secret_key(self) -> str:
        """The secret-store prefix of this chain's token pair (``adapters/exact/token_store``:
        ``connection-N/tokens`` and its generations)."""
        return f"connection-{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


_BLOCKING = {
    0: "",
    1: "backup/restore",
    2: "conversion busy",
    3: "conversion shadow",
    4: "conversion waiting",
    5: "copy data waiting",
    6: "copy data busy",
}


class Division(NamedTuple):
    """One Exact administration as listed by ``system/Divisions`` (cached)."""

    code: int
    description: str
    hid: int | None
    customer_name: str | None
    vat_number: str | None
    coc_number: str | None
    status: int
    blocking_status: int
    is_main: bool
    country: str | None
    fetched_at: str

    @property
    def status_name(self) -> str:
        # system/Divisions Status: 0 inactive, 1 active, 2 archived (reference §4.3)
        return {0: "inactive", 1: "active", 2: "archived"}.get(self.status, str(self.status))

    @property
    def blocking_name(self) -> str:
        """What ``BlockingStatus`` means (reference §4.3); empty when not blocked."""
        return _BLOCKING.get(self.blocking_status, str(self.blocking_status))

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Activation(NamedTuple):
    """A client linked to an administration on top of a connection."""

    client_id: int
    connection_id: int
    division: int
    division_name: str | None
    matched_by: str
    activated_at: str

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Event(NamedTuple):
    """One line of the append-only audit log."""

    id: int
    at: str
    os_user: str
    portal: str | None
    client: str | None
    action: str
    subject: str | None
    details: dict[str, Any]
    host: str | None = None  # the computer it ran on (older events: None)
    exact_user: str | None = None  # the Exact login, for events of an Exact call

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class RateLimitState(NamedTuple):
    """The last ``X-RateLimit-*`` headers seen for one (app, division) (reference §5.2).

    Resets are epoch milliseconds (UTC); a value is None when Exact did not send it.
    """

    division: int
    daily_limit: int | None = None
    daily_remaining: int | None = None
    daily_reset_ms: int | None = None
    minutely_limit: int | None = None
    minutely_remaining: int | None = None
    minutely_reset_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()
