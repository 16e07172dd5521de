"""``exact activate --all``: the rules' verdict for every client, carried out in one run.

The division list is fetched once (its pages are the only list calls), matching is
O(clients + divisions), each client the rules allow costs one probe, and everything lands in one
transaction at the end. The probes overlap, a few at a time (``PROBE_WORKERS``): each is in
another division, and Exact's limits are per division (reference §5.1), so a 5,000-client firm
waits minutes, not the quarter of an hour Exact's answer times add up to one after another. The
outcomes are those of a run one after another (a test compares them); store writes stay on the
command's own thread. Nothing is overwritten: a client with its own link is reported with the
command that switches it. A dead chain or an unreachable Exact stops the run; what was proven
before that is still stored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exactlink.errors import ExactRefused, ExactUnreachable, NotConnected, RateLimited
from exactlink.models import Activation, Client, Connection, Portal
from exactlink.services import matching
from exactlink.services.activation.causes import (
    ACTIVATED,
    ALREADY_ACTIVE,
    CAUSE_LICENCE_UNREACHABLE,
    CAUSE_NO_ACCESS,
    CAUSE_RATE_LIMITED,
    CAUSE_REFUSED,
    CAUSE_UNREACHABLE,
    REFUSED,
    WOULD_ACTIVATE,
    fix_license_listed,
    message_license,
)
from exactlink.services.activation.divisions import (
    DEFAULT_MAX_AGE,
    current_divisions,
    portal_connection,
)
from exactlink.services.activation.facts import Facts, read_facts
from exactlink.services.activation.results import (
    BulkResult,
    Outcome,
    PortFactory,
    Progress,
    outcome_of,
)
from exactlink.services.activation.rules import ASK, DONE, Verdict, decide, screen
from exactlink.services.activation.single import probe_division, record_activation

if TYPE_CHECKING:
    from exactlink.adapters.store import Store

Plan = list[tuple[Client, Verdict]]
_PROBE_ERRORS = (ExactRefused, RateLimited, NotConnected, ExactUnreachable)
_SKIPPED = object()  # a probe not made: the run was stopping
# Probes in flight at once (config exact.probe_workers). Each is in its own division (Exact's 60
# a minute and its error budget are per division, §5.1), so this bounds only exactlink's own
# load: 8 × Exact's few hundred ms per answer brings 5,000 probes within about three minutes.
PROBE_WORKERS = 8


def activate_all(
    store: Store,
    portal: Portal,
    port_factory: PortFactory,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    workers: int = PROBE_WORKERS,
) -> BulkResult:
    """Activate every granted client that is not active yet, matched automatically.

    The division list comes from the cache while it is fresh (``max_age`` seconds), so a run that
    changes nothing makes no list call: at 5,000 administrations the list's pages alone exceed
    Exact's 60 calls a minute. A client left without a match in a cached list is reported as such;
    `exact divisions --refresh` (or the single `exact activate --client`, which refetches for what
    it needs) picks up a grant made since.
    """
    conn = portal_connection(store, portal)
    divisions, _fetched = current_divisions(store, portal, conn, port_factory, max_age=max_age)
    clients = store.clients.list(portal.id)
    facts = read_facts(store, portal, conn, divisions)
    outcomes, plan = judge_all(clients, facts)
    run = _Run(port_factory, dry_run, progress, workers)
    proven = run.prove(plan, outcomes)
    _licences(outcomes)
    if proven:
        _store(store, portal, conn, proven)
    return BulkResult(
        outcomes=[outcomes[c.id] for c in clients],
        dry_run=dry_run,
        division_count=len(divisions),
        probes=run.probes,
        aborted=run.aborted,
    )


def judge_all(clients: list[Client], facts: Facts) -> tuple[dict[int, Outcome], Plan]:
    """The verdict for each client: its outcome when it ends here, else its place in the plan.

    Only the clients the division-free rules pass are matched, together (matching must see
    them all at once to notice two clients claiming one administration).
    """
    outcomes: dict[int, Outcome] = {}
    todo: list[Client] = []
    for client in clients:
        early = screen(facts.case(client, keep_active=True))
        if early is None:
            todo.append(client)
        else:
            outcomes[client.id] = report(client, early)
    matches = matching.match_clients(todo, list(facts.base.divisions.values()))
    plan: Plan = []
    for client in todo:
        verdict = decide(facts.case(client, keep_active=True, match=matches[client.id]))
        if verdict.allowed:
            plan.append((client, verdict))
        else:
            outcomes[client.id] = report(client, verdict)
    return outcomes, plan


def report(client: Client, verdict: Verdict) -> Outcome:
    """The outcome of a client the rules stop: already active, a question, or a refusal."""
    if verdict.kind == DONE:
        return outcome_of(client.name, ALREADY_ACTIVE, verdict, matched_by=verdict.matched_by)
    if verdict.kind == ASK:
        return Outcome(
            client=client.name,
            outcome=verdict.outcome or matching.MISSING,
            cause=verdict.outcome,
            message=verdict.message,
            fix=verdict.fix,
            candidates=list(verdict.candidates),
        )
    return outcome_of(
        client.name, REFUSED, verdict, cause=verdict.cause, message=verdict.message, fix=verdict.fix
    )


def _matched(client: Client, outcome: str, verdict: Verdict, **fields: Any) -> Outcome:
    return outcome_of(
        client.name, outcome, verdict, matched_by=verdict.matched_by, score=verdict.score, **fields
    )


def _cause(exc: ExactRefused | RateLimited | NotConnected | ExactUnreachable) -> str:
    if isinstance(exc, ExactRefused):
        return str(exc.details.get("cause", CAUSE_REFUSED))
    if isinstance(exc, RateLimited):
        return CAUSE_RATE_LIMITED
    return CAUSE_UNREACHABLE


@dataclass
class _Run:
    """The probes of one run: one per planned client, none after the chain or Exact is gone."""

    port: PortFactory
    dry_run: bool
    progress: Progress | None
    workers: int = PROBE_WORKERS
    probes: int = 0
    aborted: str | None = None
    proven: Plan = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    stop_error: Any = None  # the unreachable answer that stopped the overlapping probes

    def prove(self, plan: Plan, outcomes: dict[int, Outcome]) -> Plan:
        port = None if self.dry_run or len(plan) < 2 or self.workers < 2 else self.port()
        concurrently = getattr(port, "concurrently", None)
        if concurrently is None:
            for i, (client, verdict) in enumerate(plan, start=1):
                if self.progress is not None:
                    self.progress(i, len(plan), client.name)
                outcomes[client.id] = self.one(client, verdict)
            return self.proven
        return self._overlapping(plan, outcomes, concurrently)

    def _overlapping(self, plan: Plan, outcomes: dict[int, Outcome], concurrently: Any) -> Plan:
        """The probes a few at a time; the outcomes exactly those of one after another: a
        client planned after the first unreachable answer is reported as not tried."""
        done = 0

        def finished(_index: int) -> None:
            nonlocal done
            done += 1
            if self.progress is not None:
                self.progress(done, len(plan), plan[_index][0].name)

        jobs = [lambda code=v.code: self._probe_only(code) for _c, v in plan]  # type: ignore[misc]
        answers = concurrently(jobs, self.workers, finished)
        self.probes = sum(1 for a in answers if a is not _SKIPPED)
        for (client, verdict), answer in zip(plan, answers, strict=True):
            if isinstance(answer, BaseException) and not isinstance(answer, _PROBE_ERRORS):
                raise answer
            if self.aborted is not None:
                outcome = _matched(
                    client, REFUSED, verdict, cause=CAUSE_UNREACHABLE, message=self.aborted
                )
            elif answer is None:
                self.proven.append((client, verdict))
                outcome = _matched(client, ACTIVATED, verdict, changed=True)
            else:
                outcome = self._refused(client, verdict, answer)
            outcomes[client.id] = outcome
        return self.proven

    def _probe_only(self, code: int) -> Any:
        """A worker's job: the probe's error, None when it proved the link, or _SKIPPED once the
        run is aborted (later probes would fail the same way)."""
        if self.stop.is_set():
            return _SKIPPED
        try:
            probe_division(self.port(), code)
        except _PROBE_ERRORS as exc:
            if _cause(exc) == CAUSE_UNREACHABLE and not self.stop.is_set():
                self.stop_error = exc
                self.stop.set()
            return exc
        return None

    def _refused(self, client: Client, verdict: Verdict, exc: Any) -> Outcome:
        if exc is _SKIPPED:  # never probed: an earlier planned client found Exact gone
            exc = self.stop_error
        cause = _cause(exc)
        if cause == CAUSE_UNREACHABLE:
            self.aborted = exc.message
        return _matched(client, REFUSED, verdict, cause=cause, message=exc.message, fix=exc.hint)

    def one(self, client: Client, verdict: Verdict) -> Outcome:
        if self.aborted is not None:
            return _matched(client, REFUSED, verdict, cause=CAUSE_UNREACHABLE, message=self.aborted)
        if self.dry_run:
            return _matched(client, WOULD_ACTIVATE, verdict)
        try:
            self.probes += 1
            probe_division(self.port(), verdict.code)
        except (ExactRefused, RateLimited, NotConnected, ExactUnreachable) as exc:
            cause = _cause(exc)
            if cause == CAUSE_UNREACHABLE:  # every later probe would fail the same way
                self.aborted = exc.message
            return _matched(
                client, REFUSED, verdict, cause=cause, message=exc.message, fix=exc.hint
            )
        self.proven.append((client, verdict))
        return _matched(client, ACTIVATED, verdict, changed=True)


def _licences(outcomes: dict[int, Outcome]) -> None:
    """Probes refused with NoDivisionAccess in divisions the list holds: the licence (notes item
    7 [R]; the list holds only what the login can access, §4.2 [C]). No list fetch to re-check:
    at 5,000 administrations its pages alone exceed a minute's budget, on every run with such a
    client. The fix says how to tell a user who lost access since the list was cached."""
    for outcome in outcomes.values():
        if outcome.cause == CAUSE_NO_ACCESS and outcome.division:
            outcome.cause = CAUSE_LICENCE_UNREACHABLE
            outcome.message = message_license(outcome.division)
            outcome.fix = fix_license_listed()


def _store(store: Store, portal: Portal, conn: Connection, proven: Plan) -> None:
    from exactlink.adapters.store.db import utc_now

    now = utc_now()
    with store.transaction():
        store.activations.put_many(
            Activation(
                c.id, conn.id, v.code, v.division_name, v.matched_by or matching.BY_NAME, now
            )
            for c, v in proven
        )
        for c, v in proven:
            record_activation(store, portal, c, v, conn.exact_username, bulk=True)
