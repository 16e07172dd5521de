"""The doctor service with an in-memory ExactPort: the probe budget and the rate-limit line.

(Named test_doctor_checks.py: tests/cli/test_doctor.py holds the CLI tests, and the test folders
have no __init__.py, so two modules called test_doctor would collide.)
"""

from __future__ import annotations

import pytest

from exactlink.errors import ExactRefused
from exactlink.models import RateLimitState
from exactlink.services import doctor
from services.test_activation import (
    ARCHIVED,
    BAKKER,
    BLOCKED,
    FakePort,
    MemorySecrets,
    World,
    activate,
    not_in_scope,
)


@pytest.fixture
def store(tmp_path, store_backend):
    """The real store, SQLite and PostgreSQL (``store_backend`` runs each test on both)."""
    import os

    from exactlink.adapters.store import Store

    s = Store(tmp_path / "state.db", os.environ.get("EXACTLINK_STORE"))
    yield s
    s.close()


class App:
    client_id = "app"
    site = "http://127.0.0.1:1"
    base_url = site  # a sandbox: its own redirect rule applies
    redirect_uri = "http://127.0.0.1:2/callback"
    real_site = False


def inputs(world, port, *, now=None):
    return doctor.Inputs(
        store=lambda: world.store,
        config=lambda: type("Cfg", (), {"path": "config.toml"})(),
        secrets=MemorySecrets,
        portal_name=lambda: "Kantoor",
        portal=lambda: world.portal,
        app=App,
        client_secret=lambda: "s",
        port=lambda portal: port,
        **({"now": now} if now else {}),
    )


def test_probe_is_skipped_near_the_error_block(store):
    port = FakePort(refuse={BAKKER: not_in_scope()})
    world = World(store, port)
    from exactlink.adapters.store.db import utc_now

    with store.transaction():
        for _ in range(doctor.ERROR_BUDGET_SKIP):
            store.db.execute(
                "INSERT INTO exact_errors (connection_id, division, method, endpoint, status,"
                " reason, message, at) VALUES (?, ?, 'GET', 'users/UserHasRights', 403, NULL,"
                " 'scope', ?)",
                (world.connection_id, BAKKER, utc_now()),
            )
    report = doctor.diagnose(inputs(world, port), division=BAKKER)
    assert report.get("probe").status == doctor.WARN
    assert port.count("probe") == 0


def test_one_probe_and_the_rate_limit_budget(store):
    port = FakePort()
    port.rate_limit = lambda division: RateLimitState(division, 5000, 42, 1_800_000_000_000)
    world = World(store, port)
    report = doctor.diagnose(inputs(world, port), division=BAKKER)
    assert report.get("probe").status == doctor.OK
    assert report.get("rate_limit").status == doctor.WARN
    assert "42" in report.get("rate_limit").message
    assert port.count("probe") == 1 and port.count("divisions") == 1
    assert report.ok


def test_report_keys_are_stable(store):
    port = FakePort()
    world = World(store, port)
    data = doctor.diagnose(inputs(world, port)).to_dict()
    assert set(data) == {"status", "portal", "client", "division", "checks"}
    for check in data["checks"]:
        assert set(check) == {"id", "status", "message", "fix"}
        assert check["status"] in ("ok", "warn", "fail")


@pytest.mark.parametrize(
    ("code", "check_id"),
    [(ARCHIVED, "division_state"), (BLOCKED, "division_state"), (12_345_678, "hq")],
)
def test_doctor_and_activate_refuse_a_division_in_the_same_words(store, code, check_id):
    """Both ask the activation rules: the diagnosis is the refusal, word for word."""
    port = FakePort()
    world = World(store, port)
    world.client("Klant")
    report = doctor.diagnose(inputs(world, port), division=code)
    with pytest.raises(ExactRefused) as err:
        activate(world, "Klant", division=code)
    check = report.get(check_id)
    assert check.status == doctor.FAIL
    assert (check.message, check.fix) == (err.value.message, err.value.hint)
    assert port.count("probe") == 0


def test_a_redirect_uri_exact_refuses_is_a_failing_check(store):
    from dataclasses import replace

    port = FakePort()
    world = World(store, port)
    local = type("LocalApp", (App,), {"base_url": None, "real_site": True})
    report = doctor.diagnose(replace(inputs(world, port), app=lambda: local)).to_dict()
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["exact_app"]["status"] == "fail"
    assert "will be refused by Exact Online" in checks["exact_app"]["message"]
    assert "relay-page" in checks["exact_app"]["fix"]
