"""The activation rules: one pure function decides what may happen to one client.

``decide`` looks only at a `Case` (the client, the division list of the portal's connection, the
client's current activation and own link, who holds which division, what was asked) and returns
a `Verdict`:

- ``LINK``: the client may be linked (one probe still has to prove it, unless ``--dry-run``);
- ``OVERWRITE``: it may be linked, replacing its own link or its other activation (``--overwrite``);
- ``DONE``: it is linked so already; the same activation again changes nothing;
- ``ASK``: no unique match: a person picks (``--division``, or the terminal's chooser);
- ``REFUSE``: not allowed, with a cause (a stable key), a message and the fix.

It reads no store, calls no Exact and prints nothing. ``activate_client``, ``activate_all``,
``--dry-run`` and ``doctor`` gather the facts, ask it, and carry the verdict out or report it.
Each rule is a small function that returns a `Verdict` when it decides, ``None`` when it has no
objection; `decide` tries them in a fixed order (the rules of DESIGN.md "Activation and matching",
each from the reference):

1. a client that has not granted the firm access yet (pending) is refused;
2. ``--all`` leaves a client already active on this connection as it is;
3. the division: the one asked for (``--division``, the chooser), else matching's one clear
   winner, else ask;
4. HQ codes above 10,000,000 (§4.2, never listed), a code the connection does not list, archived,
   inactive and blocked divisions (``Status``/``BlockingStatus``, §4.3) are refused, before any
   call to Exact;
5. a division held by another client is refused, even with ``--overwrite``;
6. the same activation again is done;
7. the firm's own practice administration, and a hand-picked division whose VAT, KvK/KBO number
   or name disagrees with the client's (`identity`), are refused unless ``--force``; a weaker
   match passes with a warning;
8. a client with its own link (``exact connect --client``) or active on another division needs
   ``--overwrite`` (the portal's *Overschrijven*).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from exactlink.i18n import _
from exactlink.models import CLIENT_PENDING, Activation, Client, Connection, Division, Portal
from exactlink.services.activation.causes import (
    CAUSE_ARCHIVED,
    CAUSE_BLOCKED,
    CAUSE_HQ,
    CAUSE_INACTIVE,
    CAUSE_MISMATCH,
    CAUSE_OWN_LINK,
    CAUSE_PENDING,
    CAUSE_PRACTICE,
    CAUSE_TAKEN,
    CAUSE_UNLISTED,
    HQ_CODE_FLOOR,
    fix_archived,
    fix_blocked,
    fix_force,
    fix_hq,
    fix_inactive,
)
from exactlink.services.activation.identity import MISMATCH, compare
from exactlink.services.clients import pending_hint
from exactlink.services.matching import (
    AMBIGUOUS,
    BY_MANUAL,
    BY_NAME,
    MATCHED,
    MISSING,
    Candidate,
    Match,
)

LINK = "link"
OVERWRITE = "overwrite"
DONE = "done"
ASK = "ask"
REFUSE = "refuse"


class Holder(NamedTuple):
    """The client an activation on the connection belongs to."""

    client_id: int
    name: str


@dataclass(frozen=True)
class Case:
    """What the rules may look at for one client; the caller reads it from the store.

    Without a client only the division's own rules apply (what ``doctor`` asks of a code).
    """

    client: Client | None = None
    portal: Portal | None = None
    connection_id: int | None = None
    divisions: Mapping[int, Division] = field(default_factory=dict)  # the connection's list
    current: Activation | None = None  # the client's activation, on whichever connection
    own_link: Connection | None = None  # the client's own connection (exact connect --client)
    holders: Mapping[int, Holder] = field(default_factory=dict)  # division -> its client here
    division: int | None = None  # asked for: --division, or the chooser's pick
    match: Match | None = None  # else matching's answer
    overwrite: bool = False
    keep_active: bool = False  # --all: only clients not active on this connection yet
    practice: frozenset[int] = frozenset()  # the firm's own administration(s)
    force: bool = False  # --force: a practice or mismatching division on purpose
    picked: bool = False  # the person picked it from the list of names (the chooser)


@dataclass(frozen=True)
class Verdict:
    """What may happen to the client, and why."""

    kind: str
    division: int | None = None
    division_name: str | None = None
    matched_by: str | None = None
    score: float | None = None
    cause: str | None = None
    message: str | None = None
    fix: str | None = None
    outcome: str | None = None  # ASK: matching's ``ambiguous`` or ``missing``
    candidates: tuple[Candidate, ...] = ()
    holder: str | None = None  # REFUSE division_taken: the client holding the division
    replaces_activation: Activation | None = None  # OVERWRITE: what is replaced
    replaces_link: Connection | None = None
    identity: Mapping[str, object] | None = None  # a hand-picked division compared (identity)
    warnings: tuple[str, ...] = ()

    @property
    def code(self) -> int:
        """The division of a verdict that has one (LINK, OVERWRITE, DONE)."""
        if self.division is None:
            raise ValueError(f"a {self.kind} verdict names no division")
        return self.division

    @property
    def allowed(self) -> bool:
        """LINK or OVERWRITE: the client may be linked (after the probe)."""
        return self.kind in (LINK, OVERWRITE)


class Target(NamedTuple):
    """The division the rules judge, and how it was chosen."""

    code: int
    by: str
    score: float | None
    division: Division | None  # None: not in the connection's list


def _name(case: Case) -> str:
    return case.client.name if case.client is not None else "?"


def _refuse(target: Target | None, cause: str, message: str, fix: str | None) -> Verdict:
    return Verdict(
        REFUSE,
        division=target.code if target else None,
        division_name=target.division.description if target and target.division else None,
        cause=cause,
        message=message,
        fix=fix,
    )


# -- 1, 2: the client alone --------------------------------------------------------------------
def refuse_pending(case: Case) -> Verdict | None:
    """A client that has not granted the firm access (Toegangsbeheer) cannot be linked."""
    client = case.client
    if client is None or client.status != CLIENT_PENDING:
        return None
    return _refuse(
        None,
        CAUSE_PENDING,
        _("Client '{name}' has not granted the firm access yet (pending).").format(
            name=client.name
        ),
        pending_hint(case.portal, client) if case.portal is not None else None,
    )


def keep_active(case: Case) -> Verdict | None:
    """``--all`` takes only clients not active on this connection; the others stay as they are."""
    current = case.current
    if not case.keep_active or current is None or current.connection_id != case.connection_id:
        return None
    return Verdict(
        DONE,
        division=current.division,
        division_name=current.division_name,
        matched_by=current.matched_by,
    )


def screen(case: Case) -> Verdict | None:
    """The rules that need no division (``--all`` matches only the clients they pass)."""
    return refuse_pending(case) or keep_active(case)


# -- 3: which division -------------------------------------------------------------------------
def pick_division(case: Case) -> Target | Verdict:
    """The division asked for, else matching's one clear winner, else ASK with the candidates."""
    if case.division is not None:
        return Target(case.division, BY_MANUAL, None, case.divisions.get(case.division))
    match = case.match
    if match is not None and match.outcome == MATCHED and match.division is not None:
        return Target(
            match.division, match.by or BY_NAME, match.score, case.divisions.get(match.division)
        )
    return ask(case)


def ask(case: Case) -> Verdict:
    """No unique match: the candidates, for the person to pick from."""
    outcome = case.match.outcome if case.match is not None else MISSING
    candidates = tuple(case.match.candidates) if case.match is not None else ()
    shown = ", ".join(f"{x.division} {x.name} ({x.score:g})" for x in candidates[:5])
    name = _name(case)
    if outcome == AMBIGUOUS:
        message = _("No unique administration for '{client}'; candidates: {list}.").format(
            client=name, list=shown
        )
    elif shown:
        message = _("No administration matches '{client}' well enough; closest: {list}.").format(
            client=name, list=shown
        )
    else:
        message = _("No administration matches '{client}'.").format(client=name)
    if case.match is not None and case.match.note:
        message = f"{message} ({case.match.note})"
    return Verdict(
        ASK,
        cause=outcome,
        outcome=outcome,
        message=message,
        fix=_(
            "Pass --division CODE, or find out why it is missing: `exactlink doctor --client {name}`."
        ).format(name=shlex.quote(name)),
        candidates=candidates,
    )


# -- 4: the division's own state ---------------------------------------------------------------
def refuse_hq(case: Case, target: Target) -> Verdict | None:
    """Premium HQ codes (above 10,000,000) are virtual: never listed, never linkable (§4.2)."""
    if target.code < HQ_CODE_FLOOR:
        return None
    return _refuse(
        target,
        CAUSE_HQ,
        _("Division {code} is an HQ administration (code above 10,000,000).").format(
            code=target.code
        ),
        fix_hq(),
    )


def refuse_unlisted(case: Case, target: Target) -> Verdict | None:
    """A code the connection's ``system/Divisions`` does not list cannot be reached."""
    if target.division is not None:
        return None
    return _refuse(
        target,
        CAUSE_UNLISTED,
        _(
            "Administration {code} is not in system/Divisions ({n} listed): the app was"
            " not granted it, or the firm's login has no access to it."
        ).format(code=target.code, n=len(case.divisions)),
        None,  # which of the two: only a probe tells (doctor), or another portal holds it
    )


def _refuse_state(
    target: Target,
    refused: Callable[[Division], bool],
    cause: str,
    message: str,
    fix: Callable[[], str],
) -> Verdict | None:
    d = target.division
    if d is None or not refused(d):
        return None
    text = message.format(code=d.code, name=d.description, n=d.blocking_status)
    return _refuse(target, cause, text, fix())


def refuse_archived(case: Case, target: Target) -> Verdict | None:
    """``Status`` 2: archived (§4.3)."""
    return _refuse_state(
        target,
        lambda d: d.status == 2,
        CAUSE_ARCHIVED,
        _("Administration {code} ({name}) is archived."),
        fix_archived,
    )


def refuse_inactive(case: Case, target: Target) -> Verdict | None:
    """``Status`` 0: inactive (§4.3)."""
    return _refuse_state(
        target,
        lambda d: d.status == 0,
        CAUSE_INACTIVE,
        _("Administration {code} ({name}) is inactive."),
        fix_inactive,
    )


def refuse_blocked(case: Case, target: Target) -> Verdict | None:
    """``BlockingStatus`` other than 0: Exact blocked it (backup, conversion, license; §4.3)."""
    return _refuse_state(
        target,
        lambda d: d.blocking_status != 0,
        CAUSE_BLOCKED,
        _("Administration {code} ({name}) is blocked by Exact (BlockingStatus {n})."),
        fix_blocked,
    )


# -- 5, 6: the client and the division -----------------------------------------------------------
def refuse_taken(case: Case, target: Target) -> Verdict | None:
    """One division, one client per connection: even --overwrite does not take it from another."""
    holder = case.holders.get(target.code)
    if case.client is None or holder is None or holder.client_id == case.client.id:
        return None
    refusal = _refuse(
        target,
        CAUSE_TAKEN,
        _("Administration {code} is already activated for client '{other}'.").format(
            code=target.code, other=holder.name
        ),
        _("Deactivate that client first: `exactlink exact deactivate --client {other}`.").format(
            other=shlex.quote(holder.name)
        ),
    )
    return replace(refusal, holder=holder.name)


def _same(case: Case, target: Target) -> bool:
    current = case.current
    return (
        current is not None
        and current.division == target.code
        and current.connection_id == case.connection_id
    )


def already_done(case: Case, target: Target) -> Verdict | None:
    """The same activation again, with no own link left to replace, changes nothing."""
    if case.client is None or case.own_link is not None or not _same(case, target):
        return None
    assert case.current is not None  # _same
    return Verdict(
        DONE,
        division=target.code,
        division_name=target.division.description if target.division else None,
        matched_by=case.current.matched_by,
        score=target.score,
    )


def _replacing(case: Case, target: Target) -> list[str]:
    what = []
    if case.own_link is not None:
        what.append(
            _("its own link (Exact login {login})").format(
                login=case.own_link.exact_username or "?"
            )
        )
    if case.current is not None and not _same(case, target):
        what.append(_("its activation on administration {code}").format(code=case.current.division))
    return what


def refuse_without_overwrite(case: Case, target: Target) -> Verdict | None:
    """Replacing the client's own link or its other activation needs --overwrite."""
    replacing = _replacing(case, target)
    if case.client is None or not replacing or case.overwrite:
        return None
    return _refuse(
        target,
        CAUSE_OWN_LINK,
        _("Client '{name}' already has {what}.").format(
            name=case.client.name, what=_(" and ").join(replacing)
        ),
        _(
            "Switch it to the portal's connection with `exactlink exact activate --client {name}"
            " --overwrite` (Overschrijven); the replaced link's tokens are removed."
        ).format(name=shlex.quote(case.client.name)),
    )


def allow(case: Case, target: Target) -> Verdict:
    """No rule objects: LINK, or OVERWRITE when something of the client's is replaced."""
    replaced = case.current if case.current is not None and not _same(case, target) else None
    overwrite = case.client is not None and (replaced is not None or case.own_link is not None)
    return Verdict(
        OVERWRITE if overwrite else LINK,
        division=target.code,
        division_name=target.division.description if target.division else None,
        matched_by=target.by,
        score=target.score,
        replaces_activation=replaced,
        replaces_link=case.own_link if overwrite else None,
    )


# -- 7: is it really the client's? --------------------------------------------------------------
def refuse_practice(case: Case, target: Target) -> Verdict | None:
    """The firm's own practice administration is never a client's (unless ``--force``)."""
    if case.client is None or case.force or target.code not in case.practice:
        return None
    return _refuse(
        target,
        CAUSE_PRACTICE,
        _(
            "Administration {code} ({name}) is the firm's own practice administration, not"
            " client '{client}'s."
        ).format(
            code=target.code,
            name=target.division.description if target.division else "?",
            client=case.client.name,
        ),
        fix_force(target.code),
    )


def check_identity(case: Case, target: Target) -> Verdict | None:
    """A hand-picked division whose VAT, KvK/KBO number or name differs is refused (``--force``
    passes it); matching's own picks were chosen on that evidence already."""
    if case.client is None or target.by != BY_MANUAL or target.division is None:
        return None
    identity = compare(case.client, target.division)
    if case.force or case.picked or identity.strength != MISMATCH:
        return None
    refusal = _refuse(
        target,
        CAUSE_MISMATCH,
        _("Administration {code} ({name}) does not look like client '{client}'s: {what}.").format(
            code=target.code,
            name=target.division.description,
            client=case.client.name,
            what="; ".join(identity.differences()),
        ),
        fix_force(target.code),
    )
    return replace(refusal, identity=identity.to_dict())


def with_identity(case: Case, target: Target, verdict: Verdict) -> Verdict:
    """An allowed hand-picked division carries its comparison, and a warning when it is weak
    (or forced past a mismatch or the practice rule)."""
    if case.client is None or target.by != BY_MANUAL or target.division is None:
        return verdict
    identity = compare(case.client, target.division)
    warnings = identity.warnings(practice=target.code in case.practice)
    return replace(verdict, identity=identity.to_dict(), warnings=warnings)


Rule = Callable[[Case, Target], Verdict | None]

# The order is part of the rules: what is known locally first, the cheapest explanation first.
RULES: tuple[Rule, ...] = (
    refuse_hq,
    refuse_unlisted,
    refuse_archived,
    refuse_inactive,
    refuse_blocked,
    refuse_taken,
    already_done,
    refuse_practice,
    check_identity,
    refuse_without_overwrite,
)


def decide(case: Case) -> Verdict:
    """What may happen to the client of ``case``: LINK, OVERWRITE, DONE, ASK or REFUSE."""
    early = screen(case)
    if early is not None:
        return early
    target = pick_division(case)
    if isinstance(target, Verdict):
        return target
    for rule in RULES:
        verdict = rule(case, target)
        if verdict is not None:
            return verdict if verdict.kind == REFUSE else with_identity(case, target, verdict)
    return with_identity(case, target, allow(case, target))
