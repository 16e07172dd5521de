"""One administration, one client: two `exact activate --division D` for two clients at once,
as two real processes against the sandbox, conflict cleanly (one wins, the other exits 4), and
the store's unique rule refuses a second holder even when the service's check was passed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import pytest

from support.exactkit import connected, control, seed_clients, stats

EXACTLINK = [sys.executable, "-m", "exactlink"]


def _healthy(sb) -> dict:
    return next(
        c
        for c in seed_clients(sb)
        if c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
        and not c["own_login"]
    )


def test_two_concurrent_activations_of_one_division_conflict(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    world = connected(sandbox_factory, cli, monkeypatch)
    division = _healthy(world.sb)["division"]
    for name in ("Alpha Een", "Beta Twee"):
        assert cli("client", "add", name, "--access-granted").exit_code == 0
    assert cli("exact", "divisions").exit_code == 0  # the cache: no store write before the check
    control(world.sb, "POST", "/_sandbox/stats/reset")

    # Hold the store's write lock: both processes read (no holder yet), probe Exact, then queue
    # for the write. Released once the sandbox has seen both probes, so both passed the check.
    lock = sqlite3.connect(isolated_home / "state.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    procs = [
        subprocess.Popen(
            [
                *EXACTLINK,
                "--json",
                "exact",
                "activate",
                "--client",
                name,
                "--division",
                str(division),
                "--force",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("Alpha Een", "Beta Twee")
    ]
    try:
        deadline = time.monotonic() + 60
        while stats(world.sb)["api_calls"].get(str(division), 0) < 2:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            assert time.monotonic() < deadline, "the two probes never arrived"
            time.sleep(0.05)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]

    codes = sorted(code for code, _out, _err in results)
    assert codes == [0, 4], results
    loser = next(r for r in results if r[0] == 4)
    body = json.loads(loser[1])
    assert body["status"] == "error"
    assert body["errors"][0]["code"] == "conflict"
    assert body["errors"][0]["details"]["division"] == division
    assert "Unexpected error" not in loser[2]

    db = sqlite3.connect(isolated_home / "state.db")
    try:
        holders = db.execute(
            "SELECT client_id FROM activations WHERE division = ?", (division,)
        ).fetchall()
    finally:
        db.close()
    assert len(holders) == 1


def test_the_store_refuses_a_second_holder_of_a_division(tmp_path):
    """Two store connections interleaved: both see no holder, the second write is a Conflict."""
    from exactlink.adapters.store import Store
    from exactlink.errors import Conflict

    path = tmp_path / "state.db"
    first, second = Store(path), Store(path)
    now = "2026-12-01T00:00:00Z"
    with first.transaction() as db:
        db.execute(
            "INSERT INTO portals VALUES (1, 'K', 'k@k.be', NULL, NULL, NULL, NULL, ?, ?)",
            (now, now),
        )
        for cid, name in ((1, "Eerste"), (2, "Tweede")):
            db.execute(
                "INSERT INTO clients (id, portal_id, name, created_at, updated_at)"
                " VALUES (?, 1, ?, ?, ?)",
                (cid, name, now, now),
            )
        db.execute(
            "INSERT INTO connections (id, portal_id, base_url, app_client_id, status, storage,"
            " created_at, updated_at) VALUES (1, 1, 'https://x', 'app', 'connected', 'file', ?, ?)",
            (now, now),
        )
    assert first.activations.holder(1, 7) is None and second.activations.holder(1, 7) is None
    with first.transaction():
        first.activations.put(1, connection_id=1, division=7, division_name="D", matched_by="m")
    with pytest.raises(Conflict) as caught, second.transaction():
        second.activations.put(2, connection_id=1, division=7, division_name="D", matched_by="m")
    assert caught.value.exit_code == 4
    assert "Eerste" in caught.value.message
    assert caught.value.details["division"] == 7
    assert second.activations.get(2) is None
    first.close()
    second.close()
