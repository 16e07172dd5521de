"""``doctor --all``: every client of the portal in one run, within Exact's budget.

The firm-wide checks (store, keyring, portal, app, connection with one ``current/Me``) run once;
the division list is the fresh cache or one ``system/Divisions`` (all pages), fetched once more
only when a cached list leaves a client unexplained (it may predate a grant). Each client is then
judged from the list by the activation rules, with no call to Exact. Only a division *in doubt*
(a client is activated on it, but the list leaves it out) is probed, once however many clients
point at it; at Exact's rate limit the remaining probes are reported as not made, never retried
(reference §5.1: more than 10 errors an hour on one endpoint in one division blocks the app).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from exactlink.errors import ExactlinkError, ExactRefused, RateLimited
from exactlink.i18n import _
from exactlink.models import Client, Division
from exactlink.services import matching
from exactlink.services.activation.causes import (
    CAUSE_HIDDEN,
    CAUSE_LICENCE_UNREACHABLE,
    CAUSE_NOT_ACTIVATED,
    CAUSE_PENDING,
    CAUSE_RATE_LIMITED,
    CAUSE_STALE_ACTIVATION,
    explain_refusal,
    fix_archived,
    fix_license_listed,
    message_license,
)
from exactlink.services.activation.facts import by_code
from exactlink.services.activation.identity import MISMATCH, compare
from exactlink.services.activation.rules import REFUSE, Case, Verdict, decide, refuse_pending
from exactlink.services.doctor.causes import CAUSE_NOT_LISTED, missing_cause
from exactlink.services.doctor.connection import check_connection
from exactlink.services.doctor.division import read_divisions
from exactlink.services.doctor.local import (
    check_app,
    check_config,
    check_keyring,
    check_portal,
    check_store,
)
from exactlink.services.doctor.report import FAIL, OK, WARN, Inputs, Report, Session

# How long a recorded NoDivisionAccess answer still explains a listed division.
REFUSAL_MEMORY_DAYS = 7
IN_DOUBT = "in_doubt"  # activated on a division the list leaves out: the probe decides


@dataclass
class ClientStatus:
    """One client's line: ok, or the cause with its message and fix."""

    client: str
    status: str
    cause: str | None = None
    message: str | None = None
    fix: str | None = None
    division: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "status": self.status,
            "cause": self.cause,
            "division": self.division,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class FirmReport:
    """The firm-wide checks and one status per client."""

    report: Report
    clients: list[ClientStatus] = field(default_factory=list)
    probes: int = 0
    divisions_fetched: bool = False

    @property
    def problems(self) -> list[ClientStatus]:
        return [c for c in self.clients if c.status != OK]

    @property
    def ok(self) -> bool:
        return self.report.ok and not any(c.status == FAIL for c in self.clients)

    @property
    def by_cause(self) -> dict[str, list[ClientStatus]]:
        groups: dict[str, list[ClientStatus]] = {}
        for c in self.problems:
            groups.setdefault(c.cause or c.status, []).append(c)
        return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))

    @property
    def totals(self) -> dict[str, int]:
        totals = {OK: 0, WARN: 0, FAIL: 0}
        for c in self.clients:
            totals[c.status] += 1
        return totals

    def to_dict(self) -> dict[str, Any]:
        data = self.report.to_dict()
        data["status"] = FAIL if not self.ok else data["status"]
        data["totals"] = self.totals
        data["causes"] = {k: len(v) for k, v in self.by_cause.items()}
        data["probes"] = self.probes
        data["clients"] = [c.to_dict() for c in self.clients]
        return data


def diagnose_all(inputs: Inputs) -> FirmReport:
    """The firm-wide checks once, then every client from the list (and a probe per division in
    doubt); never raises for what it finds."""
    s = Session(inputs, None, Report())
    check_store(s)
    check_config(s)
    check_keyring(s)
    check_portal(s)
    app = check_app(s)
    check_connection(s, app)
    firm = FirmReport(s.report)
    if s.port is None or s.store is None or s.portal is None:
        s.cannot("clients", _("the connection is not usable"))
        return firm
    if not read_divisions(s, need=None):
        return firm
    clients = s.store.clients.list(s.portal.id)
    judged = _judge_all(s, clients)
    unexplained = (IN_DOUBT, CAUSE_NOT_LISTED, matching.AMBIGUOUS)
    if not s.fetched and any(j.cause in unexplained for j in judged):
        s.divisions = None
        if not read_divisions(s, need=-1):  # the cache may predate a grant: fetch once more
            return firm
        judged = _judge_all(s, clients)
    firm.divisions_fetched = s.fetched
    firm.probes = _probe_doubts(s, judged)
    firm.clients = judged
    s.add(
        "division_listed",
        OK,
        _("{n} administrations reachable ({source}).").format(
            n=len(s.divisions or []),
            source=_("fetched now") if s.fetched else _("cached"),
        ),
    )
    return firm


def _judge_all(s: Session, clients: list[Client]) -> list[ClientStatus]:
    listed = by_code(s.divisions or [])
    todo = [c for c in clients if c.division is None and refuse_pending(_case(s, c)) is None]
    matches = matching.match_clients(todo, list(listed.values()))
    judged = [judge(s, c, listed, matches.get(c.id)) for c in clients]
    refused = _refused_in(s)
    for j in judged:
        if j.cause == CAUSE_NOT_ACTIVATED and j.division in refused:
            # Listed, yet Exact refused the firm's login there: no probe needed to know why.
            j.cause, j.message, j.fix = (
                CAUSE_LICENCE_UNREACHABLE,
                message_license(j.division),
                fix_license_listed(),
            )
    return judged


def _refused_in(s: Session) -> set[int]:
    """Divisions where Exact answered NoDivisionAccess lately (the store's record of Exact's
    errors, e.g. from a refused `exact activate`): read, not asked again."""
    assert s.store is not None
    if s.connection is None:
        return set()
    since = (datetime.now(UTC) - timedelta(days=REFUSAL_MEMORY_DAYS)).isoformat(timespec="seconds")
    errors = s.store.connections.errors(
        s.connection.id, since=since.replace("+00:00", "Z"), limit=10_000
    )
    return {
        e.division
        for e in errors
        if e.division is not None and (e.reason or "").startswith("NoDivisionAccess")
    }


def _case(s: Session, client: Client, **kw: Any) -> Case:
    return Case(client=client, portal=s.portal, **kw)


def judge(
    s: Session, client: Client, listed: dict[int, Division], match: matching.Match | None
) -> ClientStatus:
    """One client, from the list alone."""
    pending = refuse_pending(_case(s, client))
    if pending is not None:
        return _from_verdict(client, pending, CAUSE_PENDING)
    if client.division is not None:
        return _activated(client, client.division, listed)
    verdict = decide(_case(s, client, divisions=listed, match=match))
    if verdict.kind == REFUSE:
        return _from_verdict(client, verdict, verdict.cause)
    if verdict.division is None:  # ambiguous or missing
        cause, message, fix = missing_cause(client, verdict, len(listed))
        return ClientStatus(client.name, FAIL, cause, message, fix)
    return ClientStatus(
        client.name,
        FAIL,
        CAUSE_NOT_ACTIVATED,
        _("Granted but not activated: administration {code} ({name}) is ready for it.").format(
            code=verdict.division, name=verdict.division_name
        ),
        _("Activate it: `exactlink exact activate --client {name}`.").format(
            name=shlex.quote(client.name)
        ),
        verdict.division,
    )


def _activated(client: Client, code: int, listed: dict[int, Division]) -> ClientStatus:
    if code not in listed:
        return ClientStatus(client.name, WARN, IN_DOUBT, division=code)
    verdict = decide(Case(divisions=listed, division=code))
    if verdict.kind == REFUSE:
        return _from_verdict(client, verdict, verdict.cause)
    identity = compare(client, listed[code])
    if identity.strength == MISMATCH:
        return ClientStatus(
            client.name,
            FAIL,
            CAUSE_STALE_ACTIVATION,
            _("Activated on administration {code}, which no longer matches: {what}.").format(
                code=code, what="; ".join(identity.differences())
            ),
            _(
                "Correct the client (`exactlink client update`) if Exact is right, or link the"
                " right administration: `exactlink exact activate --client {name} --division"
                " CODE --overwrite`."
            ).format(name=shlex.quote(client.name)),
            code,
        )
    return ClientStatus(client.name, OK, division=code)


def _from_verdict(client: Client, verdict: Verdict, cause: str | None) -> ClientStatus:
    return ClientStatus(
        client.name, FAIL, cause, verdict.message, verdict.fix, verdict.division or client.division
    )


def _probe_doubts(s: Session, judged: list[ClientStatus]) -> int:
    """One probe per division in doubt; at the rate limit the rest are reported, not made."""
    assert s.port is not None
    results: dict[int, tuple[str, str, str | None, str | None]] = {}
    stopped: str | None = None
    made = 0
    for code in dict.fromkeys(j.division for j in judged if j.cause == IN_DOUBT):
        if code is None:
            continue
        if stopped is not None:
            results[code] = (FAIL, CAUSE_RATE_LIMITED, stopped, None)
            continue
        try:
            made += 1
            answer = _probe(s, code)
        except RateLimited as exc:
            # The division is not listed (a ✗ for sure); which cause, only a probe tells.
            stopped = _(
                "Not in system/Divisions, and not probed: Exact's rate limit was reached ({error})."
            ).format(error=exc.message)
            results[code] = (FAIL, CAUSE_RATE_LIMITED, stopped, exc.hint)
            continue
        results[code] = answer
    for j in judged:
        if j.cause == IN_DOUBT and j.division in results:
            j.status, j.cause, j.message, j.fix = results[j.division]
    return made


def _probe(s: Session, code: int) -> tuple[str, str, str | None, str | None]:
    assert s.port is not None
    try:
        s.port.probe(code)
    except ExactRefused as exc:
        cause, fix = explain_refusal(exc, listed=False)
        return (
            FAIL,
            cause,
            _(
                "Administration {code} is not in system/Divisions and Exact refused it: {error}"
            ).format(code=code, error=exc.message),
            fix,
        )
    except RateLimited:
        raise
    except ExactlinkError as exc:
        return FAIL, "unreachable", exc.message, exc.hint
    return (
        FAIL,
        CAUSE_HIDDEN,
        _(
            "Administration {code} answers but is not in system/Divisions: it is archived or"
            " removed, not a missing match."
        ).format(code=code),
        fix_archived(),
    )
