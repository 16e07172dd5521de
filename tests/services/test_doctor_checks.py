"""The doctor service with an in-memory ExactPort: the probe budget and the rate-limit line.

(Named test_doctor_checks.py: tests/cli/test_doctor.py holds the CLI tests, and the test folders
have no __init__.py, so two modules called test_doctor would collide.)
"""

from __future__ import annotations

import pytest

from exactlink.models import RateLimitState
from exactlink.services import doctor
from services.test_activation import (
    BAKKER,
    FakePort,
    MemorySecrets,
    World,
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
