"""What activation returns: the division list, one client's outcome, a bulk run's results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from exactlink.errors import ExactRefused, ExactUnreachable, NotFound, RateLimited
from exactlink.models import Client, Division
from exactlink.services import matching
from exactlink.services.activation.causes import (
    CAUSE_RATE_LIMITED,
    CAUSE_UNREACHABLE,
    FAILED_OUTCOMES,
    REFUSED,
)
from exactlink.services.activation.rules import Verdict
from exactlink.services.ports import ExactPort

PortFactory = Callable[[], ExactPort]
# The terminal's picker when there is no unique match: a division code, or None to cancel.
Chooser = Callable[[Client, Sequence[matching.Candidate], Sequence[Division]], int | None]
# --all's progress: (done, total, client name).
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class DivisionRow:
    """One line of `exact divisions`: the division and the client it is activated for."""

    division: Division
    client: str | None

    def to_dict(self) -> dict[str, Any]:
        d = self.division
        return {
            "code": d.code,
            "name": d.description,
            "customer_name": d.customer_name,
            "vat": d.vat_number,
            "coc": d.coc_number,
            "status": d.status_name,
            "blocking_status": d.blocking_status,
            "is_main": d.is_main,
            "country": d.country,
            "activated_for": self.client,
        }


@dataclass(frozen=True)
class DivisionList:
    """The cached list of one connection, with its fetch time."""

    connection_id: int
    fetched_at: str | None
    refreshed: bool
    rows: list[DivisionRow]

    def to_dict(self) -> dict[str, Any]:
        return {
            "connection_id": self.connection_id,
            "fetched_at": self.fetched_at,
            "refreshed": self.refreshed,
            "divisions": [row.to_dict() for row in self.rows],
        }


@dataclass
class Outcome:
    """What happened to one client."""

    client: str
    outcome: str
    division: int | None = None
    division_name: str | None = None
    matched_by: str | None = None
    score: float | None = None
    cause: str | None = None
    message: str | None = None
    fix: str | None = None
    candidates: list[matching.Candidate] = field(default_factory=list)
    replaced: dict[str, Any] | None = None
    changed: bool = False
    check: dict[str, Any] | None = None  # a hand-picked division compared with the client
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "client": self.client,
            "outcome": self.outcome,
            "changed": self.changed,
            "division": self.division,
            "division_name": self.division_name,
            "matched_by": self.matched_by,
            "score": self.score,
        }
        if self.cause:
            data["cause"] = self.cause
        if self.message:
            data["message"] = self.message
        if self.fix:
            data["fix"] = self.fix
        if self.candidates:
            data["candidates"] = [c.to_dict() for c in self.candidates]
        if self.replaced:
            data["replaced"] = self.replaced
        if self.check is not None:
            data["check"] = self.check
        if self.warnings:
            data["warnings"] = self.warnings
        return data


@dataclass
class BulkResult:
    """`exact activate --all`: one outcome per client, and how many of each."""

    outcomes: list[Outcome]
    dry_run: bool
    division_count: int
    probes: int
    aborted: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.outcomes:
            counts[item.outcome] = counts.get(item.outcome, 0) + 1
        return counts

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]

    @property
    def status(self) -> str:
        """``success`` when no client failed, ``error`` when none succeeded, else ``partial``."""
        failed = len(self.failed)
        if not failed and not self.aborted:
            return "success"
        return "error" if failed == len(self.outcomes) else "partial"

    @property
    def exit_code(self) -> int:
        """0 on success, else the exit code of the gravest kind of failure: unreachable or
        stopped early (8), rate limited (7), refused (6), no unique match (3)."""
        if self.status == "success":
            return 0
        causes = {o.cause for o in self.failed}
        if self.aborted or CAUSE_UNREACHABLE in causes:
            return ExactUnreachable.exit_code
        if CAUSE_RATE_LIMITED in causes:
            return RateLimited.exit_code
        if any(o.outcome == REFUSED for o in self.failed):
            return ExactRefused.exit_code
        return NotFound.exit_code

    def errors(self) -> list[dict[str, Any]]:
        """The result envelope's ``errors``: one per failed client."""
        return [
            {
                "code": o.cause or o.outcome,
                "client": o.client,
                "message": o.message or o.outcome,
                **({"hint": o.fix} if o.fix else {}),
            }
            for o in self.failed
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "counts": self.counts,
            "divisions": self.division_count,
            "probes": self.probes,
            "aborted": self.aborted,
            "clients": [o.to_dict() for o in self.outcomes],
        }


def outcome_of(client: str, outcome: str, verdict: Verdict, **fields: Any) -> Outcome:
    """The outcome a verdict gives one client, with the division it concerns."""
    fields.setdefault("division", verdict.division)
    fields.setdefault("division_name", verdict.division_name)
    return Outcome(client=client, outcome=outcome, **fields)
