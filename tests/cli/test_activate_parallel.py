"""`exact activate --all` with its probes overlapping (exact.probe_workers) against the strict
sandbox with answer latency: the same outcomes as one after another, no 429, fewer seconds; and
Ctrl-C or kill -9 in the middle of the probes leave the store as it was (then a run completes)."""

from __future__ import annotations

import csv
import io
import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from support.exactkit import connected, control, seed_clients, stats

EXACTLINK = [sys.executable, "-m", "exactlink"]


def import_all(cli, sb) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["name", "vat", "access_granted"])
    for c in seed_clients(sb):
        writer.writerow([c["name"], c["vat_number"], "yes"])
    result = cli("client", "import", "-", "--format", "csv", input=buf.getvalue())
    assert result.exit_code == 0, result.stderr


def set_workers(home, n: int) -> None:
    config = home / "config.toml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("probe_workers")]
    text = "\n".join(lines) + "\n"
    config.write_text(text.replace("[exact]", f"[exact]\nprobe_workers = {n}", 1))


def outcomes(result) -> dict[str, tuple]:
    body = result.json()
    return {
        c["client"]: (c["outcome"], c.get("cause"), c.get("division"), c.get("matched_by"))
        for c in body["data"]["clients"]
    }


def activations(home) -> int:
    db = sqlite3.connect(home / "state.db")
    try:
        return db.execute("SELECT count(*) FROM activations").fetchone()[0]
    finally:
        db.close()


def test_overlapping_probes_give_the_outcomes_of_one_after_another(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    world = connected(sandbox_factory, cli, monkeypatch, clients=240, latency_ms=40)
    sb = world.sb
    import_all(cli, sb)
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    # After the list was cached: some refuse the probe, so not every outcome is "activated".
    ok = [c for c in seed_clients(sb) if c["granted_to_app"] and c["login_has_access"]]
    for c in ok[:6]:
        control(sb, "POST", "/_sandbox/access", {"division": c["division"], "has_access": False})
    for c in ok[6:9]:
        control(sb, "POST", "/_sandbox/company", {"division": c["division"], "blocking_status": 1})

    runs = {}
    for workers in (1, 8):
        set_workers(isolated_home, workers)
        db = sqlite3.connect(isolated_home / "state.db")
        db.execute("DELETE FROM activations")  # the same starting point for both runs
        db.commit()
        db.close()
        before = stats(sb)
        start = time.perf_counter()
        result = cli("--json", "exact", "activate", "--all")
        wall = time.perf_counter() - start
        after = stats(sb)
        assert result.exit_code in (0, 6), result.stderr
        limited = sum(after["rate_limited"].values()) - sum(before["rate_limited"].values())
        calls = sum(after["api_calls"].values()) - sum(before["api_calls"].values())
        runs[workers] = (outcomes(result), wall, limited, calls, activations(isolated_home))

    serial, parallel = runs[1], runs[8]
    assert parallel[0] == serial[0]
    kinds = {o[0] for o in serial[0].values()}
    assert {"activated", "refused"} <= kinds
    assert parallel[2] == serial[2] == 0  # no 429
    assert parallel[3] == serial[3]  # the same calls: one probe per planned client
    assert parallel[4] == serial[4] > 150  # the same activations stored
    assert parallel[1] < serial[1] / 2, (parallel[1], serial[1])


@pytest.mark.parametrize("how", ["sigint", "sigkill"])
def test_an_interrupted_run_leaves_the_store_as_it_was(
    sandbox_factory, cli, monkeypatch, isolated_home, how
):
    world = connected(sandbox_factory, cli, monkeypatch, clients=120, latency_ms=150)
    sb = world.sb
    import_all(cli, sb)
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    control(sb, "POST", "/_sandbox/stats/reset")
    proc = subprocess.Popen(
        [*EXACTLINK, "--json", "exact", "activate", "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while stats(sb)["api_calls_by_endpoint"].get("users/UserHasRights", 0) < 20:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the probes never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT if how == "sigint" else signal.SIGKILL)
        code = proc.wait(timeout=30)
        _out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
    if how == "sigint":
        assert code == 130, err
        assert "Traceback" not in err
    else:
        assert code == -signal.SIGKILL
    assert activations(isolated_home) == 0  # the run's writes land together, at its end
    db = sqlite3.connect(isolated_home / "state.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    again = cli("--json", "exact", "activate", "--all")
    assert again.exit_code in (0, 6), again.stderr
    assert (
        activations(isolated_home)
        == sum(
            1 for c in json.loads(again.stdout)["data"]["clients"] if c["outcome"] == "activated"
        )
        > 80
    )
