"""The activation service with the real SQLite store on tmp_path and an in-memory ExactPort."""

from __future__ import annotations

import time

import pytest

from exactlink.errors import (
    REASON_NOT_IN_SCOPE,
    Conflict,
    ExactRefused,
    NotConnected,
    NotFound,
    UsageError,
)
from exactlink.services import activation

PRACTICE = 100_001
BAKKER = 200_002
PEETERS = 300_003
ARCHIVED = 400_004
BLOCKED = 500_005
HIDDEN = 600_006  # exists in Exact, but the app was not granted it (never listed)
NOACCESS = 700_007


def division(code, name, vat=None, coc=None, status=1, blocking=0, country="NL"):
    return {
        "Code": code,
        "Description": name,
        "Hid": 1,
        "CustomerName": name,
        "VATNumber": vat,
        "ChamberOfCommerceNumber": coc,
        "Status": status,
        "BlockingStatus": blocking,
        "IsMainDivision": True,
        "Country": country,
    }


DIVISIONS = [
    division(PRACTICE, "Jansen Accountants B.V.", "NL004495445B01"),
    division(BAKKER, "Bakkerij de Vries B.V.", "NL123456782B01", "12345678"),
    division(PEETERS, "Peeters Bouw BVBA", "BE0403170701", "0403170701", country="BE"),
    division(ARCHIVED, "Oud Bedrijf B.V.", status=2),
    division(BLOCKED, "Geblokkeerd B.V.", blocking=1),
    division(NOACCESS, "Zonder Toegang B.V."),
]


class FakePort:
    """An ExactPort in memory: a division list, probe answers, refusals; records every call."""

    def __init__(self, divisions=None, refuse=None, rights=None, server_time=None):
        self._divisions = list(DIVISIONS if divisions is None else divisions)
        self.refuse = dict(refuse or {})
        # NoDivisionAccess because the login lost access: a list read afterwards leaves these
        # out, as Exact's does (system/Divisions holds only what the login can access). Any
        # other NoDivisionAccess division stays listed: the licence (notes item 7).
        self.gone: set[int] = {NOACCESS}
        self.rights = dict(rights or {})
        self.server_time = server_time
        self.calls: list[tuple] = []

    def me(self):
        self.calls.append(("me",))
        return {
            "UserID": "u-1",
            "UserName": "jan@kantoor.nl",
            "CurrentDivision": PRACTICE,
            "ServerTime": self.server_time if self.server_time is not None else time.time(),
        }

    def divisions(self, via=None):
        self.calls.append(("divisions", via))
        return list(self._divisions)

    def probe(self, division):
        self.calls.append(("probe", division))
        if division in self.refuse:
            if division in self.gone:
                self._divisions = [d for d in self._divisions if d["Code"] != division]
            raise self.refuse[division]
        return self.rights.get(division, True)

    def rate_limit(self, division):
        return None

    def count(self, kind):
        return sum(1 for call in self.calls if call[0] == kind)


def not_in_scope():
    return ExactRefused(
        "Forbidden - User division is not within division scope",
        status=403,
        reason=REASON_NOT_IN_SCOPE,
    )


def no_access():
    return ExactRefused("Forbidden", status=403, reason="NoDivisionAccess")


class World:
    """A store with one portal, its connection and a few clients."""

    def __init__(self, store, port):
        self.store = store
        self.port = port
        with store.transaction():
            self.portal = store.portals.insert(name="Kantoor", email="kantoor@example.nl")
            self.connection_id = add_connection(store, self.portal.id, None)

    def client(self, name, vat=None, coc=None, granted=True):
        with self.store.transaction():
            return self.store.clients.insert(
                self.portal.id,
                name=name,
                vat=vat,
                coc=coc,
                access_granted_at="2026-01-01T00:00:00Z" if granted else None,
            )

    def factory(self):
        return self.port


def add_connection(store, portal_id, client_id, status="connected", username="jan@kantoor.nl"):
    cursor = store.db.execute(
        "INSERT INTO connections (portal_id, client_id, base_url, app_client_id, status, storage,"
        " exact_user_id, exact_username, current_division, created_at, updated_at)"
        " VALUES (?, ?, 'http://127.0.0.1:1', 'app', ?, 'insecure-file', 'u', ?, ?,"
        " '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        (portal_id, client_id, status, username, PRACTICE),
    )
    return cursor.lastrowid


class MemorySecrets:
    backend_name = "memory"
    secure = True

    def __init__(self):
        self.data = {}

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value):
        self.data[key] = value

    def delete(self, key):
        self.data.pop(key, None)


@pytest.fixture
def store(tmp_path, store_backend):
    """The real store, SQLite and PostgreSQL (``store_backend`` runs each test on both)."""
    import os

    from exactlink.adapters.store import Store

    s = Store(tmp_path / "state.db", os.environ.get("EXACTLINK_STORE"))
    yield s
    s.close()


@pytest.fixture
def world(store):
    return World(store, FakePort(refuse={NOACCESS: no_access()}))


def activate(world, name, **kwargs):
    # These tests hand-pick administrations for other rules; the identity check has its own.
    kwargs.setdefault("force", True)
    return activation.activate_client(
        world.store, MemorySecrets(), world.portal, name, world.factory, **kwargs
    )


# -- divisions --------------------------------------------------------------------------------
def test_divisions_are_fetched_once_then_served_from_the_cache(world):
    first = activation.list_divisions(world.store, world.portal, world.factory)
    assert first.refreshed and len(first.rows) == len(DIVISIONS)
    assert first.fetched_at
    second = activation.list_divisions(world.store, world.portal, world.factory)
    assert not second.refreshed
    assert world.port.count("divisions") == 1
    activation.list_divisions(world.store, world.portal, world.factory, refresh=True)
    assert world.port.count("divisions") == 2


def test_divisions_show_status_and_who_holds_them(world):
    world.client("Bakkerij De Vries", vat="NL123456782B01")
    activate(world, "Bakkerij De Vries")
    listing = activation.list_divisions(world.store, world.portal, world.factory)
    rows = {row.division.code: row.to_dict() for row in listing.rows}
    assert rows[BAKKER]["activated_for"] == "Bakkerij De Vries"
    assert rows[ARCHIVED]["status"] == "archived"
    assert rows[BLOCKED]["blocking_status"] == 1
    unmapped = activation.list_divisions(world.store, world.portal, world.factory, unmapped=True)
    assert BAKKER not in {row.division.code for row in unmapped.rows}


def test_no_connection_is_exit_5(store):
    w = World.__new__(World)
    w.store, w.port = store, FakePort()
    with store.transaction():
        w.portal = store.portals.insert(name="Leeg", email="x@example.nl")
    with pytest.raises(NotConnected) as err:
        activation.list_divisions(store, w.portal, w.factory)
    assert err.value.exit_code == 5
    assert "exact connect" in err.value.hint


# -- activate one -----------------------------------------------------------------------------
def test_activate_by_vat_probes_once_and_stores(world):
    world.client("Bakkerij De Vries", vat="NL123456782B01")
    outcome = activate(world, "Bakkerij De Vries")
    assert outcome.outcome == activation.ACTIVATED and outcome.changed
    assert (outcome.division, outcome.matched_by) == (BAKKER, "vat")
    assert world.port.count("probe") == 1
    assert world.store.activations.get(
        world.store.clients.get(world.portal.id, "Bakkerij De Vries").id
    )
    actions = [e.action for e in world.store.events.list()]
    assert "exact.activate" in actions


def test_activate_again_is_a_success_that_changes_nothing(world):
    world.client("Bakkerij De Vries", vat="NL123456782B01")
    activate(world, "Bakkerij De Vries")
    events = len(world.store.events.list())
    again = activate(world, "Bakkerij De Vries")
    assert again.outcome == activation.ALREADY_ACTIVE and not again.changed
    assert world.port.count("probe") == 1  # no second probe
    assert len(world.store.events.list()) == events


def test_activate_by_kbo_and_by_name(world):
    world.client("Peeters Bouw", coc="0403170701")
    world.client("bakkerij de vries bv")
    assert activate(world, "Peeters Bouw").matched_by == "coc"
    assert activate(world, "bakkerij de vries bv").matched_by == "name"


def test_no_match_without_chooser_is_exit_3_with_candidates(world):
    world.client("Bakkerij Vriesland")  # alike (80), not close enough to guess
    with pytest.raises(NotFound) as err:
        activate(world, "Bakkerij Vriesland")
    assert err.value.exit_code == 3
    assert err.value.details["candidates"][0]["division"] == BAKKER
    assert "doctor --client" in err.value.hint
    assert world.port.count("probe") == 0


def test_a_chooser_picks_when_there_is_no_unique_match(world):
    world.client("Iets Anders")
    seen = {}

    def choose(client, candidates, divisions):
        seen["n"] = len(divisions)
        return PEETERS

    outcome = activate(world, "Iets Anders", choose=choose)
    assert outcome.division == PEETERS and outcome.matched_by == "manual"
    assert seen["n"] == len(DIVISIONS)


@pytest.mark.parametrize(
    ("code", "cause"),
    [(ARCHIVED, "archived"), (BLOCKED, "blocked"), (12_345_678, "hq_division")],
)
def test_archived_blocked_and_hq_are_refused_without_a_call(world, code, cause):
    world.client("Klant")
    with pytest.raises(ExactRefused) as err:
        activate(world, "Klant", division=code)
    assert err.value.details["cause"] == cause
    assert err.value.exit_code == 6
    assert world.port.count("probe") == 0


def test_pending_client_is_refused_with_the_toegangsbeheer_hint(world):
    world.client("Nieuw", granted=False)
    with pytest.raises(ExactRefused) as err:
        activate(world, "Nieuw", division=BAKKER)
    assert "Toegangsbeheer" in err.value.hint
    assert "kantoor@example.nl" in err.value.hint
    assert world.port.count("probe") == 0


def test_probe_refusal_tells_not_granted_from_no_access(world):
    world.port.refuse[BAKKER] = not_in_scope()
    world.client("A")
    world.client("B")
    with pytest.raises(ExactRefused) as err:
        activate(world, "A", division=BAKKER)
    assert err.value.details["cause"] == "not_granted_to_app"
    assert "Beveiligingscentrum" in err.value.hint and "Security Center" in err.value.hint
    with pytest.raises(ExactRefused) as err:
        activate(world, "B", division=NOACCESS)
    assert err.value.details["cause"] == "login_has_no_access"
    assert "Toegangsrechten" in err.value.hint
    assert world.store.activations.for_portal(world.portal.id) == []


def test_probe_false_is_refused(world):
    world.port.rights[BAKKER] = False
    world.client("A")
    with pytest.raises(ExactRefused) as err:
        activate(world, "A", division=BAKKER)
    assert err.value.details["cause"] == "no_rights"


def test_bad_inputs(world):
    world.client("A")
    with pytest.raises(NotFound):
        activate(world, "Niemand", division=BAKKER)
    with pytest.raises(NotFound) as err:
        activate(world, "A", division=HIDDEN)
    assert "doctor --division" in err.value.hint
    assert world.port.count("divisions") == 1 and world.port.count("probe") == 0
    # with a cached list, an unknown code costs one refresh (the cache may predate a grant)
    with pytest.raises(NotFound):
        activate(world, "A", division=HIDDEN)
    assert world.port.count("divisions") == 2 and world.port.count("probe") == 0
    for bad in ("abc", "-5", "0", "1.5"):
        with pytest.raises(UsageError):
            activation.parse_division(bad)
    assert activation.parse_division(" 42 ") == 42


def test_a_division_of_another_portals_connection_is_not_found_and_named(world):
    store = world.store
    with store.transaction():
        other = store.portals.insert(name="Ander Kantoor", email="ander@example.nl")
        other_conn = add_connection(store, other.id, None, username="piet@ander.nl")
        from exactlink.adapters.store.divisions import from_exact

        store.divisions.replace(
            other_conn, [from_exact(division(HIDDEN, "Elders B.V."), "2026-01-01T00:00:00Z")]
        )
    world.client("A")
    with pytest.raises(NotFound) as err:
        activate(world, "A", division=HIDDEN)
    assert "Ander Kantoor" in err.value.message
    assert err.value.details["portal"] == "Ander Kantoor"


def test_overwrite_of_a_clients_own_link(world):
    client = world.client("Bakkerij De Vries", vat="NL123456782B01")
    own_id = add_connection(world.store, world.portal.id, client.id, username="eigen@bakkerij.nl")
    secrets = MemorySecrets()
    secrets.set(f"connection-{own_id}/access", "ACCESS-SECRET")
    secrets.set(f"connection-{own_id}/refresh", "REFRESH-SECRET")
    with pytest.raises(Conflict) as err:
        activation.activate_client(
            world.store, secrets, world.portal, "Bakkerij De Vries", world.factory
        )
    assert "--overwrite" in err.value.hint and "eigen@bakkerij.nl" in err.value.message
    assert secrets.data and world.port.count("probe") == 0
    outcome = activation.activate_client(
        world.store, secrets, world.portal, "Bakkerij De Vries", world.factory, overwrite=True
    )
    assert outcome.outcome == activation.ACTIVATED
    assert outcome.replaced["own_link"]["connection_id"] == own_id
    assert secrets.data == {}
    assert world.store.connections.find(client.portal_id, client.id) is None
    actions = [e.action for e in world.store.events.list(client="Bakkerij De Vries")]
    assert "exact.link.replaced" in actions and "exact.activate" in actions


def test_switching_division_needs_overwrite_and_audits_both_sides(world):
    world.client("Klant")
    activate(world, "Klant", division=BAKKER)
    with pytest.raises(Conflict):
        activate(world, "Klant", division=PEETERS)
    outcome = activate(world, "Klant", division=PEETERS, overwrite=True)
    assert outcome.replaced["activation"]["division"] == BAKKER
    actions = [(e.action, e.subject) for e in world.store.events.list(client="Klant")]
    assert ("exact.deactivate", str(BAKKER)) in actions
    assert ("exact.activate", str(PEETERS)) in actions


def test_a_division_held_by_another_client_is_a_conflict_even_with_overwrite(world):
    world.client("Een")
    world.client("Twee")
    activate(world, "Een", division=BAKKER)
    with pytest.raises(Conflict) as err:
        activate(world, "Twee", division=BAKKER, overwrite=True)
    assert "Een" in err.value.message


def test_dry_run_probes_and_stores_nothing(world):
    world.client("Bakkerij De Vries", vat="NL123456782B01")
    outcome = activate(world, "Bakkerij De Vries", dry_run=True)
    assert outcome.outcome == activation.WOULD_ACTIVATE
    assert world.port.count("probe") == 0
    assert world.store.activations.for_portal(world.portal.id) == []


def test_deactivate(world):
    world.client("Klant")
    activate(world, "Klant", division=BAKKER)
    assert activation.deactivate_client(world.store, world.portal, "Klant").changed
    again = activation.deactivate_client(world.store, world.portal, "Klant")
    assert not again.changed and again.outcome == "not_active"


# -- activate --all ---------------------------------------------------------------------------
def test_activate_all_reports_each_cause_and_a_second_run_changes_nothing(world):
    world.port.refuse[PEETERS] = not_in_scope()
    world.client("Bakkerij De Vries", vat="NL123456782B01")
    world.client("Peeters Bouw", vat="BE0403170701")
    world.client("Oud Bedrijf")
    world.client("Zonder Toegang")
    world.client("Onbekend")
    world.client("Wacht Nog", granted=False)
    result = activation.activate_all(world.store, world.portal, world.factory)
    by = {o.client: o for o in result.outcomes}
    assert by["Bakkerij De Vries"].outcome == "activated"
    assert by["Peeters Bouw"].cause == "not_granted_to_app"
    assert by["Oud Bedrijf"].cause == "archived"
    # The list was read in this run and still holds it: Exact refusing the firm's login in a
    # listed administration is the licence (a list holds only what the login can access).
    assert by["Zonder Toegang"].cause == "licence_unreachable"
    assert "Premium" in by["Zonder Toegang"].fix
    assert by["Onbekend"].outcome == "missing"
    assert by["Wacht Nog"].cause == "access_pending"
    assert result.status == "partial"
    assert world.port.count("divisions") == 1
    assert world.port.count("probe") == 3  # Bakkerij, Peeters, Zonder Toegang: one each

    events = len(world.store.events.list())
    probes = world.port.count("probe")
    second = activation.activate_all(world.store, world.portal, world.factory)
    by2 = {o.client: o for o in second.outcomes}
    assert by2["Bakkerij De Vries"].outcome == "already_active"
    assert not any(o.changed for o in second.outcomes)
    # the refused ones are probed again (their grants may have changed), the active one is not
    assert world.port.count("probe") - probes == 2
    # within the freshness window the list comes from the cache: no list call, nothing logged
    assert world.port.count("divisions") == 1
    assert len(world.store.events.list()) == events
    # past it (max_age 0: always) the list is fetched again, and only that refresh is logged
    activation.activate_all(world.store, world.portal, world.factory, max_age=0)
    assert world.port.count("divisions") == 2
    assert len(world.store.events.list()) == events + 1


def test_activate_all_dry_run_and_own_links(world):
    client = world.client("Bakkerij De Vries", vat="NL123456782B01")
    add_connection(world.store, world.portal.id, client.id, username="eigen@bakkerij.nl")
    world.client("Peeters Bouw", vat="BE0403170701")
    result = activation.activate_all(world.store, world.portal, world.factory, dry_run=True)
    by = {o.client: o for o in result.outcomes}
    assert by["Bakkerij De Vries"].cause == "needs_overwrite"
    assert "--overwrite" in by["Bakkerij De Vries"].fix
    assert by["Peeters Bouw"].outcome == "would_activate"
    assert world.port.count("probe") == 0
    assert world.store.activations.for_portal(world.portal.id) == []


def test_activate_all_stops_probing_when_the_chain_dies(world):
    from exactlink.errors import ReconnectNeeded

    world.port.refuse[BAKKER] = ReconnectNeeded("dead", hint="`exactlink exact connect`")
    world.client("Bakkerij De Vries", vat="NL123456782B01")
    world.client("Peeters Bouw", vat="BE0403170701")
    result = activation.activate_all(world.store, world.portal, world.factory)
    assert result.aborted
    assert world.port.count("probe") == 1
    assert result.status == "error"


def test_one_and_all_refuse_in_the_same_words(world):
    """activate --client and --all ask the same rules: the same cause, message and fix."""
    world.client("Een")
    activate(world, "Een", division=BAKKER)
    world.client("Bakkerij De Vries", vat="NL123456782B01")  # matches BAKKER, which Een holds
    mine = world.client("Peeters Bouw", vat="BE0403170701")
    add_connection(world.store, world.portal.id, mine.id, username="eigen@peeters.be")
    by = {
        o.client: o
        for o in activation.activate_all(world.store, world.portal, world.factory).outcomes
    }
    for name, cause in (
        ("Bakkerij De Vries", "division_taken"),
        ("Peeters Bouw", "needs_overwrite"),
    ):
        with pytest.raises(Conflict) as err:
            activate(world, name)
        assert err.value.details["cause"] == by[name].cause == cause
        assert (err.value.message, err.value.hint) == (by[name].message, by[name].fix)


def test_a_listed_division_refused_with_no_access_is_the_licence(world):
    """Premium (notes item 7): the list holds it, Exact refuses the firm's login there. Once
    the cached list is read again (one fetch) and still holds it, the cause is the licence; a
    division the fresh list has lost was the user's access (the test above)."""
    premium = 800_008
    world.port._divisions.append(division(premium, "Premium Klant B.V."))
    world.port.refuse[premium] = no_access()
    world.client("Premium Klant")
    assert activation.list_divisions(world.store, world.portal, world.factory).rows
    lists = world.port.count("divisions")
    with pytest.raises(ExactRefused) as err:
        activate(world, "Premium Klant", force=False)
    assert err.value.details["cause"] == "licence_unreachable"
    assert err.value.details["division"] == premium
    assert "Premium" in err.value.message and "exact connect --client" in err.value.hint
    assert world.port.count("divisions") == lists + 1  # the cached list read again, once
    assert (
        world.store.activations.get(world.store.clients.get(world.portal.id, "Premium Klant").id)
        is None
    )


def test_activate_all_names_the_licence_without_a_list_fetch(world):
    """In bulk a listed division refused with NoDivisionAccess is the licence at once: no list
    fetch to re-check it (its pages would come back on every run while such a client stays)."""
    premium = 800_008
    world.port._divisions.append(division(premium, "Premium Klant B.V."))
    world.port.refuse[premium] = no_access()
    world.client("Premium Klant")
    world.client("Bakkerij De Vries", vat="NL123456782B01")
    assert activation.list_divisions(world.store, world.portal, world.factory).rows
    lists = world.port.count("divisions")
    result = activation.activate_all(world.store, world.portal, world.factory)
    by = {o.client: o for o in result.outcomes}
    assert by["Premium Klant"].cause == "licence_unreachable"
    assert "exact connect --client" in by["Premium Klant"].fix
    assert "--refresh" in by["Premium Klant"].fix
    assert by["Bakkerij De Vries"].outcome == "activated"
    assert world.port.count("divisions") == lists
