"""What the services need from the outside world, as protocols.

The adapters implement these for real (SQLite, the keyring, Exact Online over HTTP); unit tests of
services may pass in-memory fakes. Integration tests always use the real adapters.
"""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from exactlink.exact_records import DivisionRecord, MeRecord
from exactlink.models import Connection, RateLimitState

__all__ = [
    "ApiAnswer",
    "ConnectionsLike",
    "DivisionRecord",
    "ExactPort",
    "MeRecord",
    "RateLimitState",
]


class ApiAnswer(Protocol):
    """One raw API call's answer, as `exact api` prints it."""

    status: int
    data: Any  # Exact's JSON as it came; None for 204


class ExactPort(Protocol):
    """One live Exact Online connection (one token chain), as the services use it.

    Every method may raise ``NotConnected``/``ReconnectNeeded`` (5), ``ExactRefused`` (6, with
    ``status`` and ``reason``), ``RateLimited`` (7) or ``ExactUnreachable`` (8).
    """

    def me(self) -> MeRecord:
        """The ``current/Me`` record, Exact's field names (UserID, UserName, CurrentDivision,
        ServerTime as epoch seconds float, ...)."""
        ...

    def divisions(self, via: int | None = None) -> list[DivisionRecord]:
        """``system/Divisions``, every page, Exact's field names (Code, Description, Hid,
        CustomerName, VATNumber, ChamberOfCommerceNumber, Status, BlockingStatus,
        IsMainDivision, Country). Fetched through ``Me.CurrentDivision``; when that division is
        refused (the 2021 chicken-and-egg, reference §4.2) it retries once through ``via``."""
        ...

    def probe(self, division: int) -> bool:
        """One call inside ``division`` (``users/UserHasRights`` for GET crm/Accounts) that proves
        the connection reaches it. True/False is Exact's answer; refusals raise."""
        ...

    def rate_limit(self, division: int) -> RateLimitState | None:
        """The last rate-limit headers seen for ``division`` (from this process or the store)."""
        ...

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> ApiAnswer:
        """One raw call (``path`` relative to /api/v1/, or a full URL of the same site) with
        the retries that are safe."""
        ...

    def collection(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every record of a GET, following ``__next`` page by page."""
        ...


class ConnectionsLike(Protocol):
    """The connections repository (``adapters.store.connections``), as the services use it."""

    def find(self, portal_id: int, client_id: int | None = None) -> Connection | None: ...

    def get(self, connection_id: int) -> Connection | None: ...

    def list(self, portal_id: int | None = None) -> list[Connection]: ...

    def same_identity(
        self, base_url: str, app_client_id: str, exact_user_id: str | None = None
    ) -> builtins.list[Connection]: ...

    def save_connected(
        self,
        *,
        portal_id: int,
        client_id: int | None,
        base_url: str,
        app_client_id: str,
        storage: str,
        access_expires_at: float,
        token_call_at: float,
    ) -> Connection: ...

    def set_identity(
        self,
        connection_id: int,
        *,
        user_id: str | None,
        username: str | None,
        full_name: str | None,
        email: str | None,
        current_division: int | None,
    ) -> None: ...

    def set_status(
        self, connection_id: int, status: str, last_error: str | None = None
    ) -> None: ...

    def mark_disconnected(self, connection_id: int) -> None: ...

    def rate_limits(self, connection_id: int) -> builtins.list[RateLimitState]: ...
