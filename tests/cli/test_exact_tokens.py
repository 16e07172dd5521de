"""Tokens shared by many processes: one refresh for sixteen, a broken chain reported, the
too-early rule never tripped, and nothing hangs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from support.crashkit import make_stale
from support.exactkit import advance, connect_inprocess, control, make_world, stats


def _expire_locally(home) -> None:
    """Expired for us: the row and the token pair's own expiry (the pair decides since the
    pair store; the row alone sent every process to Exact with a dead token, 16 401s)."""
    make_stale(home, insecure=True)


def _spawn(n: int, home, *args: str) -> list[subprocess.Popen]:
    env = {**os.environ, "EXACTLINK_HOME": str(home)}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "exactlink", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]


@pytest.mark.slow
@pytest.mark.crowd
def test_sixteen_processes_with_an_expired_token_make_one_token_call(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    before = stats(world.sb)
    advance(world.sb, 601)  # expired for Exact...
    _expire_locally(isolated_home)  # ...and for us
    procs = _spawn(16, isolated_home, "exact", "api", "current/Me")
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, err
        assert '"UserName"' in out
    after = stats(world.sb)
    assert after["token_calls"] - before["token_calls"] == 1
    assert after["token_errors"].get("TooEarlyToRefreshTokens", 0) == 0


def test_sandbox_clock_ahead_401_path_refreshes_once(sandbox_factory, cli, monkeypatch):
    """Our clock says the token is valid, Exact's says it expired: 401 → one refresh."""
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    before = stats(world.sb)["token_calls"]
    advance(world.sb, 605)
    for _ in range(3):
        result = cli("exact", "api", "current/Me")
        assert result.exit_code == 0, result.stderr
    after = stats(world.sb)
    assert after["token_calls"] - before == 1
    assert after["token_errors"].get("TooEarlyToRefreshTokens", 0) == 0


@pytest.mark.slow
def test_fault_after_rotation_reports_the_broken_chain(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    control(world.sb, "POST", "/_sandbox/faults", {"kind": "drop_after_rotate", "path": "token"})
    advance(world.sb, 601)
    _expire_locally(isolated_home)
    procs = _spawn(4, isolated_home, "exact", "api", "current/Me")
    for p in procs:
        code = p.wait(timeout=60)
        _out, err = p.communicate()
        assert code == 5, err
        assert "exactlink exact connect" in err
    status = cli("exact", "status", "--json")
    assert status.json()["status"] == "needs-reconnect"
    assert stats(world.sb)["token_errors"].get("TooEarlyToRefreshTokens", 0) == 0
    # Reconnecting brings it back (after the 570 s since the last token issue, strict).
    advance(world.sb, 570)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    assert cli("exact", "api", "current/Me").exit_code == 0


def test_revoked_chain_needs_reconnect(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    control(
        world.sb, "POST", "/_sandbox/revoke", {"username": world.sb.seed["logins"][0]["username"]}
    )
    result = cli("exact", "api", "current/Me")
    assert result.exit_code == 5
    assert "exactlink exact connect" in result.stderr
    again = cli("exact", "api", "current/Me")  # no token call for a known-dead chain
    assert again.exit_code == 5


def test_expired_refresh_token_after_30_idle_days(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    advance(world.sb, 31 * 86400)
    result = cli("exact", "api", "current/Me")
    assert result.exit_code == 5
    assert "30" in result.stderr
    assert cli("exact", "status", "--json").json()["last_error"] == "expired"


def test_keepalive_refreshes_idle_chains_only(sandbox_factory, cli, monkeypatch, isolated_home):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    skipped = cli("--json", "exact", "keepalive", "--older-than", "7")
    assert skipped.exit_code == 0, skipped.stderr
    assert skipped.json()["data"][0]["result"] == "skipped"
    # Pretend the last token call was 8 days ago (both clocks).
    db = sqlite3.connect(isolated_home / "state.db")
    db.execute(
        "UPDATE connections SET last_token_call_at = ?, refresh_issued_at = ?",
        (time.time() - 8 * 86400, time.time() - 8 * 86400),
    )
    db.commit()
    db.close()
    advance(world.sb, 8 * 86400)
    before = stats(world.sb)["token_calls"]
    done = cli("--json", "exact", "keepalive", "--older-than", "7")
    assert done.exit_code == 0, done.stderr
    assert done.json()["data"][0]["result"] == "refreshed"
    assert stats(world.sb)["token_calls"] - before == 1
    days_left = cli("exact", "status", "--json").json()["refresh_token_days_left"]
    assert days_left > 29.9
