"""`exact keepalive`: refresh idle token chains so they outlive Exact's 30-day idle expiry
(reference §2.6), and the run's verdict for cron."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exactlink.models import CONNECTION_CONNECTED, Connection


@dataclass
class KeepaliveOutcome:
    connection_id: int
    portal: str
    client_id: int | None
    result: str  # refreshed | skipped | failed | not-connected
    error: dict[str, Any] | None = None
    exit_code: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = {
            "connection_id": self.connection_id,
            "portal": self.portal,
            "client_id": self.client_id,
            "result": self.result,
        }
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class KeepaliveResult:
    """What `exact keepalive` reports: one outcome per connection, and the run's verdict."""

    outcomes: list[KeepaliveOutcome]

    @property
    def failed(self) -> list[KeepaliveOutcome]:
        return [o for o in self.outcomes if o.result == "failed"]

    @property
    def status(self) -> str:
        """``success`` when nothing failed, ``error`` when everything did, else ``partial``."""
        failed = self.failed
        if not failed:
            return "success"
        return "error" if len(failed) == len(self.outcomes) else "partial"

    @property
    def exit_code(self) -> int:
        """The worst exit code of the failures; 0 when none failed."""
        return max((o.exit_code for o in self.failed), default=0)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [o.error for o in self.failed if o.error]


def keepalive(
    connections: list[Connection],
    *,
    older_than_days: float,
    refresh: Callable[[Connection, str | None, float], bool],
    portal_names: Callable[[int], str],
    client_names: Callable[[int], str | None],
) -> KeepaliveResult:
    """Refresh every connected chain whose last token call is older than ``older_than_days``,
    so a firm that uses the tool monthly keeps its link past the 30-day idle expiry (§2.6).

    ``refresh(connection, client_name, idle_seconds)`` makes the token call when still due and
    says whether it did; ``client_name`` (None for a portal's own login) names the command
    in the hint of a dead chain."""
    from exactlink.errors import ExactlinkError

    outcomes = []
    for connection in connections:
        name = portal_names(connection.portal_id)
        if connection.status != CONNECTION_CONNECTED:
            outcomes.append(
                KeepaliveOutcome(connection.id, name, connection.client_id, "not-connected")
            )
            continue
        client_name = (
            client_names(connection.client_id) if connection.client_id is not None else None
        )
        try:
            done = refresh(connection, client_name, older_than_days * 86400)
        except ExactlinkError as exc:
            outcomes.append(
                KeepaliveOutcome(
                    connection.id,
                    name,
                    connection.client_id,
                    "failed",
                    exc.to_dict(),
                    exc.exit_code,
                )
            )
            continue
        outcomes.append(
            KeepaliveOutcome(
                connection.id, name, connection.client_id, "refreshed" if done else "skipped"
            )
        )
    return KeepaliveResult(outcomes)
