"""The activation rules as tables: each named rule alone, then `decide` over the whole order.

Pure functions: no store, no Exact, no files; every row builds its `Case` from plain records.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from exactlink.models import Activation, Client, Connection, Division, Portal
from exactlink.services.activation import causes as c
from exactlink.services.activation import rules as r
from exactlink.services.matching import AMBIGUOUS, MATCHED, MISSING, Candidate, Match

CONN = 1  # the portal's connection
OTHER_CONN = 2  # an earlier connection of the same portal
ME = 10  # the client under judgement
OTHER = 11  # another client of the portal
VAT = "NL123456782B01"  # the client's and every listed division's: the identity rule agrees
PORTAL = Portal(*([None] * len(Portal._fields)))._replace(id=1, name="Kantoor", email="k@x.nl")


def client(*, granted: bool = True, division: int | None = None) -> Client:
    return Client(
        ME, 1, "Bakkerij", None, VAT, None, False,
        "2026-01-01T00:00:00Z" if granted else None, "", "", division,
    )  # fmt: skip


def div(code: int, *, status: int = 1, blocking: int = 0) -> Division:
    return Division(code, f"Adm {code}", 1, None, VAT, None, status, blocking, True, "NL", "")


def act(division: int, connection_id: int = CONN, by: str = "vat") -> Activation:
    return Activation(ME, connection_id, division, f"Adm {division}", by, "")


def own_link() -> Connection:
    fields = dict.fromkeys(Connection._fields)
    fields.update(id=7, portal_id=1, client_id=ME, exact_username="eigen@bakkerij.nl")
    return Connection(**fields)


LIST = {d.code: d for d in (div(100), div(200), div(300, status=2), div(400, status=0))}
LIST[500] = div(500, blocking=1)


def case(**kw) -> r.Case:
    base = {"client": client(), "portal": PORTAL, "connection_id": CONN, "divisions": LIST}
    return r.Case(**{**base, **kw})


def matched(code: int, by: str = "vat", score: float | None = None) -> Match:
    return Match(ME, MATCHED, code, by, score)


def target(code: int, by: str = "manual") -> r.Target:
    return r.Target(code, by, None, LIST.get(code))


# -- each rule alone: (the case, the division it judges, the cause it gives or None) ------------
DIVISION_RULES = [
    (r.refuse_hq, case(), 12_345_678, c.CAUSE_HQ),
    (r.refuse_hq, case(), 100, None),
    (r.refuse_hq, case(), 10_000_000, c.CAUSE_HQ),
    (r.refuse_hq, case(), 9_999_999, None),
    (r.refuse_unlisted, case(), 999, c.CAUSE_UNLISTED),
    (r.refuse_unlisted, case(), 100, None),
    (r.refuse_archived, case(), 300, c.CAUSE_ARCHIVED),
    (r.refuse_archived, case(), 400, None),
    (r.refuse_inactive, case(), 400, c.CAUSE_INACTIVE),
    (r.refuse_inactive, case(), 300, None),
    (r.refuse_blocked, case(), 500, c.CAUSE_BLOCKED),
    (r.refuse_blocked, case(), 100, None),
    (r.refuse_taken, case(holders={100: r.Holder(OTHER, "Ander")}), 100, c.CAUSE_TAKEN),
    (r.refuse_taken, case(holders={100: r.Holder(ME, "Bakkerij")}), 100, None),
    (r.refuse_taken, case(holders={200: r.Holder(OTHER, "Ander")}), 100, None),
    (r.refuse_taken, case(client=None, holders={100: r.Holder(OTHER, "A")}), 100, None),
    (r.refuse_without_overwrite, case(own_link=own_link()), 100, c.CAUSE_OWN_LINK),
    (r.refuse_without_overwrite, case(current=act(200)), 100, c.CAUSE_OWN_LINK),
    (r.refuse_without_overwrite, case(current=act(100, OTHER_CONN)), 100, c.CAUSE_OWN_LINK),
    (r.refuse_without_overwrite, case(current=act(100)), 100, None),
    (r.refuse_without_overwrite, case(current=act(200), overwrite=True), 100, None),
    (r.refuse_without_overwrite, case(own_link=own_link(), overwrite=True), 100, None),
    (r.refuse_without_overwrite, case(), 100, None),
    (r.refuse_practice, case(practice=frozenset({100})), 100, c.CAUSE_PRACTICE),
    (r.refuse_practice, case(practice=frozenset({100}), force=True), 100, None),
    (r.refuse_practice, case(practice=frozenset({100})), 200, None),
    (r.refuse_practice, case(client=None, practice=frozenset({100})), 100, None),
]


def named(name: str, vat: str | None = None, coc: str | None = None) -> Client:
    return client()._replace(name=name, vat=vat, coc=coc)


def listed(name: str, vat: str | None = None, coc: str | None = None) -> dict[int, Division]:
    return {
        100: div(100)._replace(description=name, customer_name=None, vat_number=vat, coc_number=coc)
    }


# the identity rule on a hand-picked division: (client, division, cause or None, the check)
IDENTITY = [
    (named("Bakkerij", VAT), listed("Iets Anders", VAT), None, "strong"),  # the number decides
    (named("Bakkerij", VAT), listed("Bakkerij", "NL004495445B01"), c.CAUSE_MISMATCH, "mismatch"),
    (named("Bakkerij"), listed("Bakkerij B.V."), None, "strong"),
    (named("Bakkerij Jansen Holding"), listed("Bakkerij Jansen B.V."), None, "weak"),
    (named("Slagerij Pieters"), listed("Garage Willems"), c.CAUSE_MISMATCH, "mismatch"),
    (named("X", coc="12345678"), listed("Y", coc="87654321"), c.CAUSE_MISMATCH, "mismatch"),
    (named("X", coc="0403170701"), listed("Y", vat="BE0403170701"), None, "strong"),  # KBO = BE VAT
]


@pytest.mark.parametrize(("who", "divisions", "cause", "result"), IDENTITY)
def test_a_hand_picked_division_is_compared_with_the_client(who, divisions, cause, result):
    the_case = case(client=who, divisions=divisions)
    verdict = r.check_identity(the_case, r.Target(100, "manual", None, divisions[100]))
    if cause is None:
        assert verdict is None
    else:
        assert (verdict.kind, verdict.cause) == (r.REFUSE, cause)
        assert verdict.identity["differs"] and "--force" in verdict.fix
    decided = r.decide(replace(the_case, division=100))
    assert (decided.identity or {}).get("result") == result
    assert bool(decided.warnings) == (result == "weak")
    # matching's own picks are not second-guessed, and --force passes a mismatch with a warning
    assert r.check_identity(the_case, r.Target(100, "vat", 100.0, divisions[100])) is None
    forced = r.decide(replace(the_case, division=100, force=True))
    assert forced.kind == r.LINK and bool(forced.warnings) == (result != "strong")


@pytest.mark.parametrize(("rule", "the_case", "code", "cause"), DIVISION_RULES)
def test_each_division_rule(rule, the_case, code, cause):
    verdict = rule(the_case, target(code))
    if cause is None:
        assert verdict is None
    else:
        assert (verdict.kind, verdict.cause, verdict.division) == (r.REFUSE, cause, code)
        assert verdict.message and verdict.message != cause


def test_a_refusal_says_why_and_how_to_fix_it():
    archived = r.refuse_archived(case(), target(300))
    assert "300" in archived.message and "archived" in archived.message
    assert "--division" in archived.fix
    taken = r.refuse_taken(case(holders={100: r.Holder(OTHER, "De Ander")}), target(100))
    assert taken.holder == "De Ander" and "'De Ander'" in taken.fix
    own = r.refuse_without_overwrite(case(own_link=own_link()), target(100))
    assert "eigen@bakkerij.nl" in own.message and "--overwrite" in own.fix


@pytest.mark.parametrize(
    ("the_case", "done"),
    [
        (case(current=act(100)), True),
        (case(current=act(100), own_link=own_link()), False),  # the own link still to replace
        (case(current=act(100, OTHER_CONN)), False),  # another chain: switch needs --overwrite
        (case(current=act(200)), False),
        (case(), False),
        (case(client=None, current=act(100)), False),
    ],
)
def test_already_done(the_case, done):
    verdict = r.already_done(the_case, target(100))
    assert (verdict is not None) == done
    if done:
        assert (verdict.kind, verdict.division, verdict.matched_by) == (r.DONE, 100, "vat")


@pytest.mark.parametrize(
    ("the_case", "kind"),
    [
        (case(client=client(granted=False)), r.REFUSE),
        (case(client=client()), None),
        (case(client=None), None),
    ],
)
def test_refuse_pending(the_case, kind):
    verdict = r.refuse_pending(the_case)
    assert (verdict.kind if verdict else None) == kind
    if verdict:
        assert verdict.cause == c.CAUSE_PENDING
        assert "Toegangsbeheer" in verdict.fix and "k@x.nl" in verdict.fix


@pytest.mark.parametrize(
    ("the_case", "kept"),
    [
        (case(keep_active=True, current=act(100)), True),
        (case(keep_active=True, current=act(100, OTHER_CONN)), False),
        (case(keep_active=True), False),
        (case(keep_active=False, current=act(100)), False),  # one client: the rules judge it
    ],
)
def test_keep_active(the_case, kept):
    verdict = r.keep_active(the_case)
    assert (verdict is not None) == kept
    if kept:
        assert (verdict.kind, verdict.division, verdict.division_name) == (r.DONE, 100, "Adm 100")


CANDIDATES = (Candidate(100, "Adm 100", 80.0, "name"), Candidate(200, "Adm 200", 78.0, "name"))


@pytest.mark.parametrize(
    ("the_case", "expected"),
    [
        (case(division=200), (200, "manual", None)),
        (case(division=200, match=matched(100)), (200, "manual", None)),  # asked beats matched
        (case(match=matched(100, "coc", 100.0)), (100, "coc", 100.0)),
        (case(match=Match(ME, AMBIGUOUS, candidates=CANDIDATES)), AMBIGUOUS),
        (case(match=Match(ME, MISSING)), MISSING),
        (case(), MISSING),
    ],
)
def test_pick_division(the_case, expected):
    picked = r.pick_division(the_case)
    if isinstance(expected, str):
        assert isinstance(picked, r.Verdict)
        assert (picked.kind, picked.outcome, picked.cause) == (r.ASK, expected, expected)
        assert "--division" in picked.fix and "doctor --client" in picked.fix
    else:
        assert (picked.code, picked.by, picked.score) == expected


def test_ask_lists_the_candidates_and_matchings_note():
    note = "several administrations have this name"
    verdict = r.ask(case(match=Match(ME, AMBIGUOUS, candidates=CANDIDATES, note=note)))
    assert verdict.candidates == CANDIDATES
    assert "100 Adm 100 (80)" in verdict.message and note in verdict.message


# -- decide: the whole order ---------------------------------------------------------------------
HELD = {200: r.Holder(OTHER, "Ander")}
DECIDE = [
    # (what the row shows, the case, kind, cause)
    ("matched and free: link", case(match=matched(100)), r.LINK, None),
    ("asked and free: link", case(division=100), r.LINK, None),
    ("no unique match: ask", case(match=Match(ME, AMBIGUOUS)), r.ASK, AMBIGUOUS),
    ("pending first", case(client=client(granted=False), division=12_345_678), r.REFUSE,
     c.CAUSE_PENDING),
    ("HQ before unlisted", case(division=12_345_678), r.REFUSE, c.CAUSE_HQ),
    ("unlisted", case(division=999), r.REFUSE, c.CAUSE_UNLISTED),
    ("archived", case(division=300), r.REFUSE, c.CAUSE_ARCHIVED),
    ("inactive", case(division=400), r.REFUSE, c.CAUSE_INACTIVE),
    ("blocked", case(division=500), r.REFUSE, c.CAUSE_BLOCKED),
    ("the state before being done", case(division=300, current=act(300)), r.REFUSE,
     c.CAUSE_ARCHIVED),
    ("taken, even with --overwrite", case(division=200, holders=HELD, overwrite=True), r.REFUSE,
     c.CAUSE_TAKEN),
    ("the same again: done", case(division=100, current=act(100)), r.DONE, None),
    ("matched again: done", case(match=matched(100), current=act(100)), r.DONE, None),
    ("own link: needs --overwrite", case(division=100, own_link=own_link()), r.REFUSE,
     c.CAUSE_OWN_LINK),
    ("own link, --overwrite", case(division=100, own_link=own_link(), overwrite=True),
     r.OVERWRITE, None),
    ("another division: needs --overwrite", case(division=100, current=act(200)), r.REFUSE,
     c.CAUSE_OWN_LINK),
    ("another division, --overwrite", case(division=100, current=act(200), overwrite=True),
     r.OVERWRITE, None),
    ("--all keeps an active client", case(keep_active=True, current=act(300)), r.DONE, None),
    ("--all takes one active elsewhere", case(keep_active=True, current=act(100, OTHER_CONN),
     match=matched(200)), r.REFUSE, c.CAUSE_OWN_LINK),
    ("no client: the division alone", case(client=None, division=100, holders=HELD), r.LINK,
     None),
    ("no client: its state", case(client=None, division=500), r.REFUSE, c.CAUSE_BLOCKED),
]  # fmt: skip


@pytest.mark.parametrize(("the_case", "kind", "cause"), [row[1:] for row in DECIDE],
                         ids=[row[0] for row in DECIDE])  # fmt: skip
def test_decide(the_case, kind, cause):
    verdict = r.decide(the_case)
    assert (verdict.kind, verdict.cause) == (kind, cause)
    assert verdict.allowed == (kind in (r.LINK, r.OVERWRITE))


def test_an_overwrite_names_what_it_replaces():
    verdict = r.decide(case(division=100, current=act(200), own_link=own_link(), overwrite=True))
    assert verdict.kind == r.OVERWRITE
    assert verdict.replaces_activation == act(200)
    assert verdict.replaces_link == own_link()
    kept = r.decide(case(division=100, current=act(100), own_link=own_link(), overwrite=True))
    assert kept.kind == r.OVERWRITE and kept.replaces_activation is None  # same division stays


def test_a_link_carries_the_division_and_how_it_was_matched():
    verdict = r.decide(case(match=matched(100, "coc", 99.0)))
    assert (verdict.code, verdict.division_name, verdict.matched_by, verdict.score) == (
        100,
        "Adm 100",
        "coc",
        99.0,
    )
    with pytest.raises(ValueError):
        _ = r.decide(case(match=Match(ME, MISSING))).code


def test_decide_is_pure():
    """The same case, the same verdict; the case is not changed (a frozen record)."""
    the_case = case(division=100, current=act(200), overwrite=True)
    assert r.decide(the_case) == r.decide(the_case)
    with pytest.raises(AttributeError):
        the_case.division = 200  # type: ignore[misc]
