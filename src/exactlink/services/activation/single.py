"""``exact activate --client`` and ``exact deactivate``: one client, the rules' verdict carried out.

The rules (`rules.decide`) say what may happen; this module does the I/O around them: it reads
the facts, fetches the division list when there is none (or once more when an asked code is not
in a cached one: it may predate a grant), asks the chooser when there is no unique match, turns
a refusal into its error (and exit code), and otherwise proves the link with one probe in the
division (``users/UserHasRights``, §4.5: an empty list would prove nothing; a failed probe is
never retried, §5.3) before it stores anything, in one transaction with its audit events. The
replaced chain's secrets leave the keyring.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from exactlink.errors import Cancelled, Conflict, ExactlinkError, ExactRefused, NotFound
from exactlink.i18n import _
from exactlink.models import Client, Connection, Portal
from exactlink.services import matching
from exactlink.services.activation.causes import (
    ACTIVATED,
    ALREADY_ACTIVE,
    CAUSE_LICENCE_UNREACHABLE,
    CAUSE_MISMATCH,
    CAUSE_NO_ACCESS,
    CAUSE_NO_RIGHTS,
    CAUSE_OWN_LINK,
    CAUSE_PRACTICE,
    CAUSE_TAKEN,
    CAUSE_UNLISTED,
    WOULD_ACTIVATE,
    explain_refusal,
    fix_license_listed,
    fix_no_rights,
    message_license,
)
from exactlink.services.activation.divisions import (
    DEFAULT_MAX_AGE,
    current_divisions,
    fetch_divisions,
    portal_connection,
    unknown_division,
)
from exactlink.services.activation.facts import by_code, read_facts
from exactlink.services.activation.results import Chooser, Outcome, PortFactory
from exactlink.services.activation.rules import (
    ASK,
    DONE,
    OVERWRITE,
    REFUSE,
    Case,
    Verdict,
    decide,
    refuse_pending,
)
from exactlink.services.clients import get_client
from exactlink.services.ports import ExactPort

if TYPE_CHECKING:
    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store import Store


def refusal_error(verdict: Verdict) -> ExactlinkError:
    """The error a refusal (ExactRefused 6, Conflict 4) or a question (NotFound 3) raises."""
    message = verdict.message or verdict.kind
    if verdict.kind == ASK:
        return NotFound(
            message,
            hint=verdict.fix,
            details={
                "outcome": verdict.outcome,
                "candidates": [c.to_dict() for c in verdict.candidates],
            },
        )
    details: dict[str, Any] = {"cause": verdict.cause}
    if verdict.division is not None:
        details["division"] = verdict.division
    if verdict.holder is not None:
        details["client"] = verdict.holder
    if verdict.identity is not None:
        details["check"] = dict(verdict.identity)
    if verdict.cause in (CAUSE_TAKEN, CAUSE_OWN_LINK, CAUSE_PRACTICE, CAUSE_MISMATCH):
        return Conflict(message, hint=verdict.fix, details=details)
    return ExactRefused(message, hint=verdict.fix, details=details)


def probe_division(port: ExactPort, division: int) -> None:
    """One call inside the division; a refusal or a False answer explains itself."""
    try:
        ok = port.probe(division)
    except ExactRefused as exc:
        cause, fix = explain_refusal(exc)
        raise ExactRefused(
            _("Exact refused access to administration {code}: {error}").format(
                code=division, error=exc.message
            ),
            hint=fix,
            status=exc.status,
            reason=exc.reason,
            details={"cause": cause, "division": division},
        ) from None
    if not ok:
        raise ExactRefused(
            _(
                "The firm's Exact login has no rights to read accounts in administration {code}."
            ).format(code=division),
            hint=fix_no_rights(),
            details={"cause": CAUSE_NO_RIGHTS, "division": division},
        )


def still_listed(
    store: Store, portal: Portal, conn: Connection, port: ExactPort, code: int, fetched: bool
) -> bool:
    """Whether ``code`` is in a list read now (``fetched``: the one in hand is): system/Divisions
    holds only what the login can access (§4.2 [C]), so a NoDivisionAccess for a division still
    listed is the licence, not the user card. One list fetch at most; False if it fails."""
    if fetched:
        return True
    try:
        fresh = fetch_divisions(store, portal, conn, port)
    except ExactlinkError:
        return False
    return code in {d.code for d in fresh}


def licence_refusal(code: int, exc: ExactRefused) -> ExactRefused:
    """The probe's NoDivisionAccess, for a division the list holds (notes item 7 [R])."""
    return ExactRefused(
        message_license(code),
        hint=fix_license_listed(),
        status=exc.status,
        reason=exc.reason,
        details={"cause": CAUSE_LICENCE_UNREACHABLE, "division": code},
    )


def activate_client(
    store: Store,
    secrets: SecretStore | None,
    portal: Portal,
    name: str,
    port_factory: PortFactory,
    *,
    division: int | None = None,
    overwrite: bool = False,
    force: bool = False,
    dry_run: bool = False,
    choose: Chooser | None = None,
    max_age: float = DEFAULT_MAX_AGE,
) -> Outcome:
    """Link one client to its administration on the portal's connection.

    Raises NotFound (3: client, division, no unique match without ``choose``), Conflict (4: needs
    ``--overwrite``, the division is another client's, or a hand-picked division is the firm's
    own or differs from the client without ``force``), ExactRefused (6: pending client,
    archived/blocked/HQ, or the probe refused), and the connection's own errors.
    """
    client = get_client(store, portal, name)
    pending = refuse_pending(Case(client=client, portal=portal))  # before any connection is used
    if pending is not None:
        raise refusal_error(pending)
    conn = portal_connection(store, portal)
    get_port = cache(port_factory)
    asked = Asked(division, overwrite, force, max_age)
    verdict, case, fetched = _judge(store, portal, conn, client, get_port, asked)
    if verdict.kind == ASK and choose is not None:
        picked = choose(client, verdict.candidates, list(case.divisions.values()))
        if picked is None:
            raise Cancelled(_("No administration chosen."))
        verdict = decide(replace(case, division=picked, picked=True))
    if verdict.cause == CAUSE_UNLISTED and verdict.division is not None:
        raise unknown_division(store, portal, conn, verdict.division)
    if verdict.kind in (ASK, REFUSE):
        raise refusal_error(verdict)
    outcome = Outcome(
        client=client.name,
        outcome=ALREADY_ACTIVE if verdict.kind == DONE else ACTIVATED,
        division=verdict.division,
        division_name=verdict.division_name,
        matched_by=verdict.matched_by,
        score=verdict.score,
        check=dict(verdict.identity) if verdict.identity is not None else None,
        warnings=list(verdict.warnings),
    )
    if verdict.kind == DONE:
        return outcome
    if dry_run:
        outcome.outcome = WOULD_ACTIVATE
        return outcome
    try:
        probe_division(get_port(), verdict.code)
    except ExactRefused as exc:
        if exc.details.get("cause") == CAUSE_NO_ACCESS and still_listed(
            store, portal, conn, get_port(), verdict.code, fetched
        ):
            raise licence_refusal(verdict.code, exc) from None
        raise
    outcome.replaced = _link(store, secrets, portal, conn, client, verdict) or None
    outcome.changed = True
    return outcome


class Asked(NamedTuple):
    """What the person asked for: ``--division``, ``--overwrite``, ``--force``."""

    division: int | None
    overwrite: bool
    force: bool
    max_age: float


def _judge(
    store: Store,
    portal: Portal,
    conn: Connection,
    client: Client,
    get_port: PortFactory,
    asked: Asked,
) -> tuple[Verdict, Case, bool]:
    """The facts read (the list fetched when it is missing or stale), the rules' verdict, and
    whether the list was fetched now."""
    divisions, fetched = current_divisions(store, portal, conn, get_port, max_age=asked.max_age)
    match = matching.match_client(client, divisions) if asked.division is None else None
    case = read_facts(store, portal, conn, divisions).case(
        client, division=asked.division, match=match, overwrite=asked.overwrite, force=asked.force
    )
    verdict = decide(case)
    if (verdict.cause == CAUSE_UNLISTED or verdict.kind == ASK) and not fetched:
        # The cache may predate a grant made since: one list fetch, never a probe.
        fresh = fetch_divisions(store, portal, conn, get_port())
        if asked.division is None:
            case = replace(case, match=matching.match_client(client, fresh))
        case = replace(case, divisions=by_code(fresh))
        verdict = decide(case)
        fetched = True
    return verdict, case, fetched


def _link(
    store: Store,
    secrets: SecretStore | None,
    portal: Portal,
    conn: Connection,
    client: Client,
    verdict: Verdict,
) -> dict[str, Any]:
    """Store the activation and retire what it replaces, with the audit events, in one go."""
    replaced: dict[str, Any] = {}
    with store.transaction():
        old = verdict.replaces_activation
        if old is not None:
            replaced["activation"] = {"division": old.division, "connection_id": old.connection_id}
            store.events.record(
                "exact.deactivate",
                str(old.division),
                portal=portal.name,
                client=client.name,
                details={"division": old.division, "replaced_by": verdict.division},
            )
        store.activations.put(
            client.id,
            connection_id=conn.id,
            division=verdict.code,
            division_name=verdict.division_name,
            matched_by=verdict.matched_by or matching.BY_MANUAL,
        )
        if verdict.replaces_link is not None:
            replaced["own_link"] = _replace_own_link(
                store, secrets, portal, client, verdict.replaces_link, verdict.code
            )
        record_activation(
            store,
            portal,
            client,
            verdict,
            exact_user=conn.exact_username,
            overwrite=verdict.kind == OVERWRITE,
        )
    return replaced


def record_activation(
    store: Store,
    portal: Portal,
    client: Client,
    verdict: Verdict,
    exact_user: str | None = None,
    **details: Any,
) -> None:
    """Inside the caller's transaction: the audit event of one activation (``exact_user``: the
    Exact login whose chain it rides on)."""
    store.events.record(
        "exact.activate",
        str(verdict.code),
        portal=portal.name,
        client=client.name,
        exact_user=exact_user,
        details={
            "division": verdict.code,
            "division_name": verdict.division_name,
            "matched_by": verdict.matched_by,
            "score": verdict.score,
            **details,
        },
    )


def _replace_own_link(
    store: Store,
    secrets: SecretStore | None,
    portal: Portal,
    client: Client,
    own: Connection,
    division: int,
) -> dict[str, Any]:
    """Inside the caller's transaction: the client's own chain leaves the store and the keyring."""
    if secrets is None:
        raise ExactlinkError(_("a secret store is needed to remove the replaced link"))
    store.connections.retire(own.id)
    from exactlink.adapters.exact.token_store import TokenPairStore

    TokenPairStore(secrets).delete(own.secret_key)
    store.events.record(
        "exact.link.replaced",
        str(own.id),
        portal=portal.name,
        client=client.name,
        details={
            "connection_id": own.id,
            "exact_user": own.exact_username,
            "replaced_by_division": division,
        },
    )
    return {
        "kind": "own_link",
        "connection_id": own.id,
        "exact_user": own.exact_username,
        "status": own.status,
    }


def deactivate_client(store: Store, portal: Portal, name: str) -> Outcome:
    """Remove the client's activation; a client that is not active is a success, unchanged."""
    client = get_client(store, portal, name)
    with store.transaction():
        current = store.activations.get(client.id)
        if current is None:
            return Outcome(client=client.name, outcome="not_active")
        store.activations.delete(client.id)
        store.events.record(
            "exact.deactivate",
            str(current.division),
            portal=portal.name,
            client=client.name,
            details={"division": current.division, "connection_id": current.connection_id},
        )
    return Outcome(
        client=client.name,
        outcome="deactivated",
        division=current.division,
        division_name=current.division_name,
        changed=True,
    )
