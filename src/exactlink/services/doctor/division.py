"""The division checks: the list, the match, the division's state by the activation rules, one
probe, and the rate limit left.

Exact blocks an app for an hour after more than 10 errors an hour on one endpoint in one division
(reference §5.1, §5.3). These checks therefore make at most the pages of one ``system/Divisions``
and one probe in the division, and the probe only when the list did not already explain the
problem; it is skipped when the store shows the division close to the limit.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta

from exactlink.errors import ExactlinkError, ExactRefused
from exactlink.i18n import _, label, local_time
from exactlink.models import Division
from exactlink.services import matching
from exactlink.services.activation import (
    CAUSE_BLOCKED,
    CAUSE_HIDDEN,
    CAUSE_HQ,
    CAUSE_LICENSE,
    CAUSE_NO_ACCESS,
    CAUSE_NOT_GRANTED,
    CAUSE_UNLISTED,
    explain_refusal,
    fetch_divisions,
    fix_archived,
    fix_no_rights,
)
from exactlink.services.activation.causes import (
    CAUSE_LICENCE_UNREACHABLE,
    fix_no_access,
    message_license,
)
from exactlink.services.activation.divisions import is_fresh
from exactlink.services.activation.facts import by_code
from exactlink.services.activation.rules import (
    REFUSE,
    Case,
    Target,
    Verdict,
    decide,
    pick_division,
)
from exactlink.services.doctor.activation import check_activation
from exactlink.services.doctor.causes import CAUSE_NOT_LISTED, missing_cause
from exactlink.services.doctor.report import FAIL, OK, WARN, Session

# Exact blocks after more than 10 errors an hour (§5.1): leave room for the person's own work.
ERROR_BUDGET_SKIP = 8
DAILY_WARN_REMAINING = 100


def check_division(s: Session) -> None:
    if s.port is None or s.connection is None or s.store is None or not s.portal:
        s.cannot("division_listed", _("no live connection"))
        return
    if s.code is not None:
        # Without the list the rules can refuse only an HQ code (never listed, reference §4.2).
        early = decide(Case(division=s.code))
        if early.cause == CAUSE_HQ:
            s.add("hq", FAIL, early.message or "", early.fix, cause=CAUSE_HQ)
            return
    if not read_divisions(s, need=s.code):
        return
    if s.code is None and s.client is not None and not _matched(s):
        return
    if s.code is None:
        s.add(
            "division_listed",
            OK,
            _("{n} administrations reachable (system/Divisions, all pages).").format(
                n=len(s.divisions or [])
            ),
        )
        return
    s.report.division = s.code
    listed = by_code(s.divisions or [])
    _check_state(s, listed, decide(Case(divisions=listed, division=s.code)))
    check_activation(s, listed)


def read_divisions(s: Session, *, need: int | None) -> bool:
    """The list: the cached one while it is fresh and holds the division needed, else fetched
    (all pages); False with a ✗ when Exact would not give it."""
    assert s.store is not None and s.connection is not None and s.portal is not None
    cached = s.store.divisions.list(s.connection.id)
    if is_fresh(cached, s.inputs.max_age, s.inputs.now()) and (
        need is None or need in {d.code for d in cached}
    ):
        s.divisions = cached
        return True
    try:
        assert s.port is not None
        s.divisions = fetch_divisions(s.store, s.portal, s.connection, s.port)
    except ExactlinkError as exc:
        cause, fix = explain_refusal(exc) if isinstance(exc, ExactRefused) else (None, exc.hint)
        s.add(
            "division_listed",
            FAIL,
            _("system/Divisions could not be read: {error}").format(error=exc.message),
            fix,
            cause=cause,
        )
        return False
    s.fetched = True
    return True


def _matched(s: Session) -> bool:
    """The client's division by matching, as activation picks it (a cached list that finds none
    is fetched once more: it may predate a grant); a ✗ when there is none."""
    assert s.client is not None and s.divisions is not None
    picked = _pick(s)
    if isinstance(picked, Verdict) and not s.fetched:
        s.divisions = None
        if not read_divisions(s, need=-1):
            return False
        picked = _pick(s)
    divisions = s.divisions or []
    if not isinstance(picked, Verdict):
        s.code = picked.code
        s.add(
            "division_match",
            OK,
            _("Matched administration {code} by {by}.").format(
                code=picked.code, by=label(picked.by)
            ),
        )
        return True
    cause, message, fix = missing_cause(s.client, picked, len(divisions))
    if cause == CAUSE_NOT_LISTED:
        fix = _("{fix} Then run `exactlink doctor --client {name}` again.").format(
            fix=fix, name=shlex.quote(s.client.name)
        )
    s.add("division_listed", FAIL, message, fix, cause=cause)
    return False


def _pick(s: Session) -> Target | Verdict:
    assert s.client is not None and s.divisions is not None
    match = matching.match_client(s.client, s.divisions)
    return pick_division(Case(client=s.client, divisions=by_code(s.divisions), match=match))


def _check_state(s: Session, listed: dict[int, Division], verdict: Verdict) -> None:
    """Listed, and linkable by the rules' own verdict; then the probe unless that explains it."""
    assert s.code is not None
    if verdict.cause == CAUSE_UNLISTED:
        s.add("division_listed", FAIL, verdict.message or "", _("The probe below tells which."))
        probe(s, explained=False, listed=False)
        found = s.report.get("probe")
        if found is not None and found.status == OK:
            hidden(s)
        return
    s.add(
        "division_listed",
        OK,
        _("Administration {code} ({name}) is in system/Divisions.").format(
            code=s.code, name=listed[s.code].description
        ),
    )
    if verdict.kind == REFUSE:
        s.add("division_state", FAIL, verdict.message or "", verdict.fix, cause=verdict.cause)
        probe(s, explained=True)
        return
    s.add("division_state", OK, _("Active and not blocked."))
    probe(s, explained=False, listed=True)


def _recent_errors(s: Session) -> int:
    assert s.store is not None
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    recent = s.store.connections.errors(
        s.connection.id if s.connection else None,
        division=s.code,
        since=hour_ago.replace("+00:00", "Z"),
        limit=50,
    )
    return len(recent)


def probe(s: Session, *, explained: bool, listed: bool | None = None) -> None:
    if explained:
        s.add(
            "probe",
            WARN,
            _("Not probed: the list already explains the problem (saves Exact's error budget)."),
        )
        return
    recent = _recent_errors(s)
    if recent >= ERROR_BUDGET_SKIP:
        s.add(
            "probe",
            WARN,
            _(
                "Not probed: {n} errors from administration {code} in the last hour; Exact"
                " blocks the app there after 10."
            ).format(n=recent, code=s.code),
            _("Wait an hour, then run doctor again."),
        )
        return
    if _probe_once(s, listed):
        check_rate_limit(s)


def _still_listed(s: Session) -> bool:
    """The division in a list read now (one fetch unless it was just fetched): a listed division
    refused with NoDivisionAccess is the licence; one gone from the list lost the user's access."""
    if not s.fetched and not read_divisions(s, need=-1):
        return True  # the ✗ of the list is shown; keep what the list in hand said
    return s.code in {d.code for d in s.divisions or []}


def _probe_once(s: Session, listed: bool | None = None) -> bool:
    """One call in the division; False (with its ✗) when Exact refused it or could not answer."""
    assert s.port is not None and s.code is not None
    try:
        allowed = s.port.probe(s.code)
    except ExactRefused as exc:
        cause, fix = explain_refusal(exc, listed=listed)
        if cause == CAUSE_LICENCE_UNREACHABLE and not _still_listed(s):
            cause, fix = CAUSE_NO_ACCESS, fix_no_access()
        messages = {
            CAUSE_NOT_GRANTED: _(
                "Administration {code} is not granted to the app (division scope)."
            ),
            CAUSE_NO_ACCESS: _("The firm's Exact login has no access to administration {code}."),
            CAUSE_BLOCKED: _("Administration {code} is blocked by Exact."),
            CAUSE_LICENSE: _("The license of administration {code} is blocked or has expired."),
            CAUSE_LICENCE_UNREACHABLE: message_license(s.code),
        }
        message = messages.get(cause, _("Exact refused administration {code}: {error}"))
        s.add("probe", FAIL, message.format(code=s.code, error=exc.message), fix, cause=cause)
        return False
    except ExactlinkError as exc:  # rate limited, the chain died, Exact unreachable
        s.add("probe", FAIL, exc.message, exc.hint)
        return False
    if not allowed:
        s.add(
            "probe",
            FAIL,
            _("The firm's login has no rights to read accounts in administration {code}.").format(
                code=s.code
            ),
            fix_no_rights(),
        )
    else:
        s.add(
            "probe", OK, _("One call inside administration {code} succeeded.").format(code=s.code)
        )
    return True


def check_rate_limit(s: Session) -> None:
    assert s.port is not None and s.code is not None
    state = s.port.rate_limit(s.code)
    if state is None or state.daily_remaining is None:
        s.cannot("rate_limit", _("Exact sent no rate-limit headers yet"))
        return
    reset = ""
    if state.daily_reset_ms:
        reset = local_time(state.daily_reset_ms / 1000)
    if state.daily_remaining <= 0:
        s.add(
            "rate_limit",
            FAIL,
            _("The daily API limit for administration {code} is used up.").format(code=s.code),
            _("Wait until {reset}.").format(reset=reset or _("midnight UTC")),
        )
    elif state.daily_remaining < DAILY_WARN_REMAINING:
        s.add(
            "rate_limit",
            WARN,
            _("Only {n} API calls left today for administration {code}.").format(
                n=state.daily_remaining, code=s.code
            ),
            _("Resets at {reset}.").format(reset=reset or _("midnight UTC")),
        )
    else:
        s.add(
            "rate_limit",
            OK,
            _("{n} of {limit} API calls left today for administration {code}.").format(
                n=state.daily_remaining, limit=state.daily_limit or "?", code=s.code
            ),
        )


def hidden(s: Session) -> None:
    """Exact answers inside the division, yet ``system/Divisions`` leaves it out: it is archived
    and the list hides archived administrations (reference §6.3), or it was removed since."""
    s.add(
        "division_state",
        FAIL,
        _(
            "Administration {code} answers but is not in system/Divisions: it is archived or"
            " removed (Exact leaves archived administrations out of the list), not a missing match."
        ).format(code=s.code),
        fix_archived(),
        cause=CAUSE_HIDDEN,
    )
