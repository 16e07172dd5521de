"""What doctor reports (the data the CLI renders) and what it may use: `Check`, `Report`, `Inputs`.

`Session` is one run's state: what the checks found so far, for the checks after them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exactlink.errors import ExactlinkError
from exactlink.i18n import _
from exactlink.models import Client, Connection, Division, Portal
from exactlink.services.ports import ExactPort

if TYPE_CHECKING:
    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store import Store

OK = "ok"
WARN = "warn"
FAIL = "fail"
SYMBOLS = {OK: "✓", WARN: "!", FAIL: "✗"}


@dataclass(frozen=True)
class Check:
    """One line of the checklist (``--json``: id, status, message, fix)."""

    id: str
    status: str
    message: str
    fix: str | None = None
    cause: str | None = None  # a stable key (activation's causes) when a ✗ has a named cause

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "status": self.status, "message": self.message, "fix": self.fix}
        if self.cause is not None:
            data["cause"] = self.cause
        return data


@dataclass
class Report:
    """The whole checklist; ``ok`` when nothing failed."""

    checks: list[Check] = field(default_factory=list)
    division: int | None = None
    client: str | None = None
    portal: str | None = None

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        if self.failures:
            return FAIL
        return WARN if any(c.status == WARN for c in self.checks) else OK

    def get(self, check_id: str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "portal": self.portal,
            "client": self.client,
            "division": self.division,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class Inputs:
    """What doctor may use, each built only when its check runs (so a broken keyring does not
    stop the store check, and no network is touched before it is needed)."""

    store: Callable[[], Store]
    config: Callable[[], Any]
    secrets: Callable[[], SecretStore]
    portal_name: Callable[[], str | None]
    portal: Callable[[], Portal]  # NotFound when none is chosen or it does not exist
    app: Callable[[], Any]  # services.exact_app.AppSettings (NotFound when not configured)
    client_secret: Callable[[], str]
    port: Callable[[Portal], ExactPort]
    now: Callable[[], float] = time.time
    max_age: float = 15 * 60.0  # seconds the cached division list stays fresh (config)


def describe_error(exc: Exception) -> str:
    return exc.message if isinstance(exc, ExactlinkError) else f"{type(exc).__name__}: {exc}"


@dataclass
class Session:
    """One run: the report so far and what the earlier checks found for the later ones."""

    inputs: Inputs
    client_name: str | None
    report: Report
    code: int | None = None  # the division: asked for, the client's, or matched
    store: Store | None = None
    portal: Portal | None = None
    client: Client | None = None
    connection: Connection | None = None
    port: ExactPort | None = None
    divisions: list[Division] | None = None
    fetched: bool = False  # the list was fetched in this run (not the fresh cache)

    def add(
        self,
        check_id: str,
        status: str,
        message: str,
        fix: str | None = None,
        cause: str | None = None,
    ) -> None:
        self.report.checks.append(Check(check_id, status, message, fix, cause))

    def cannot(self, check_id: str, why: str) -> None:
        self.add(check_id, WARN, _("Not checked: {why}.").format(why=why))
