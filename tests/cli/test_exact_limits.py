"""Rate limits (reference §5): the minutely 429 waits and succeeds, the daily one stops with
the reset time (exit 7), the hourly error block stops too; headers are kept per division."""

from __future__ import annotations

import io
import json

from support.exactkit import advance, connect_inprocess, control, make_world, stats


def _connected(sandbox_factory, cli, monkeypatch, **limits):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    if limits:
        control(world.sb, "POST", "/_sandbox/limits", limits)
    division = cli("exact", "status", "--json").json()["current_division"]
    return world, division


def _accounts(cli, division):
    return cli("exact", "api", "--division", str(division), "crm/Accounts", "-f", "$select=ID")


def test_minutely_429_waits_for_the_reset_and_succeeds(sandbox_factory, cli, monkeypatch):
    world, division = _connected(sandbox_factory, cli, monkeypatch, minutely_limit=2)
    slept = []

    def fake_sleep(seconds):  # advance Exact's clock instead of sleeping
        slept.append(seconds)
        advance(world.sb, seconds)

    monkeypatch.setattr("exactlink.adapters.exact.client.sleep", fake_sleep)
    for _ in range(2):
        assert _accounts(cli, division).exit_code == 0
    third = _accounts(cli, division)
    assert third.exit_code == 0, third.stderr
    assert "minute limit" in third.stderr
    assert 0 < sum(slept) <= 61  # waited for the minutely reset, never more than a minute
    assert stats(world.sb)["rate_limited"].get(str(division)) == 1
    limits = cli("exact", "status", "--json").json()["rate_limits"]
    row = next(r for r in limits if r["division"] == division)
    assert row["minutely_limit"] == 2 and row["daily_limit"] == 5000


def test_the_minute_wait_is_measured_by_exacts_clock_not_ours(sandbox_factory, cli, monkeypatch):
    """Exact's clock is hours ahead of this computer's (the sandbox's is, once advanced): the
    wait for the minute's reset is the seconds left in Exact's minute, measured against the
    Date of Exact's answer, not the whole minute that our clock would make of it (§5.2)."""
    world, division = _connected(sandbox_factory, cli, monkeypatch, minutely_limit=1)
    ahead = 3 * 3600 + 45 - (world.sb.engine.now() % 60)  # Exact's clock: 45 s into a minute
    advance(world.sb, ahead)
    slept = []

    def fake_sleep(seconds):
        slept.append(seconds)
        advance(world.sb, seconds)

    monkeypatch.setattr("exactlink.adapters.exact.client.sleep", fake_sleep)
    assert _accounts(cli, division).exit_code == 0
    waited = _accounts(cli, division)
    assert waited.exit_code == 0, waited.stderr
    assert stats(world.sb)["rate_limited"].get(str(division)) == 1
    # 15 s left in Exact's minute, give or take the Date's whole seconds and the 0.5 s margin
    # (our own clock, 3 hours behind, would have made it the full 60.5 s).
    assert 13 <= sum(slept) <= 17.5, slept


def test_the_minute_wait_names_the_endpoint_when_there_is_no_division(
    sandbox_factory, cli, monkeypatch
):
    """current/Me has no division; the strict sandbox meters it all the same (§5.2)."""
    world, _division = _connected(sandbox_factory, cli, monkeypatch, minutely_limit=1)
    monkeypatch.setattr(
        "exactlink.adapters.exact.client.sleep", lambda seconds: advance(world.sb, seconds)
    )
    assert cli("exact", "api", "current/Me").exit_code == 0
    waited = cli("exact", "api", "current/Me")
    assert waited.exit_code == 0, waited.stderr
    assert "Exact's minute limit for current/Me reached; waiting" in waited.stderr
    assert "for -" not in waited.stderr
    assert stats(world.sb)["rate_limited"].get("current", 0) >= 1  # Exact said 429 there


def test_daily_limit_exits_7_with_the_reset_time(sandbox_factory, cli, monkeypatch):
    _world, division = _connected(sandbox_factory, cli, monkeypatch, daily_limit=1)
    assert _accounts(cli, division).exit_code == 0
    second = cli(
        "--json", "exact", "api", "--division", str(division), "crm/Accounts", "-f", "$select=ID"
    )
    assert second.exit_code == 7
    assert "resets at" in second.stderr
    error = json.loads(second.stdout)["errors"][0]
    assert error["code"] == "rate_limited"
    assert error["details"]["reset_at"].endswith("T00:00:00+00:00")


def test_error_block_is_rate_limited_and_not_retried(sandbox_factory, cli, monkeypatch):
    world, division = _connected(sandbox_factory, cli, monkeypatch, error_limit=2)
    bad = ["exact", "api", "--division", str(division), "crm/Accounts", "-f", "$filter=Nope eq 1"]
    codes = [cli(*bad).exit_code for _ in range(4)]
    assert codes[:3] == [6, 6, 6]  # 400s: refused, never retried
    assert codes[3] == 7  # the hour-long block
    assert stats(world.sb)["api_calls"][str(division)] == 4


def test_countdown_on_a_terminal(monkeypatch):
    from exactlink.cli.context import AppContext
    from exactlink.cli.output import Output

    class Tty(io.StringIO):
        def isatty(self):
            return True

    ctx = AppContext()
    err = Tty()
    ctx.__dict__["out"] = Output(stderr=err)
    ctx.exact_countdown(42, "minutely:123")
    ctx.exact_countdown(41, "minutely:123")
    ctx.exact_countdown(0, "minutely:123")
    text = err.getvalue()
    assert "\r" in text and "42 s" in text and "41 s" in text
    assert "minute limit for administration 123 reached" in text
