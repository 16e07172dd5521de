"""ExactClient (the ExactPort) against the sandbox over real HTTP, plus its pure helpers."""

from __future__ import annotations

import pytest

from exactlink.errors import (
    REASON_NOT_IN_SCOPE,
    ExactRefused,
    ExactUnreachable,
    RateLimited,
)
from support.exactkit import connect_inprocess, control, login, make_world, stats


@pytest.fixture
def port(sandbox_factory, cli, monkeypatch):
    """A connected portal's ExactClient, built the way commands build it."""
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    from exactlink.cli.context import AppContext

    ctx = AppContext()
    client = ctx.exact(ctx.portal())
    monkeypatch.setattr("exactlink.adapters.exact.client.sleep", lambda s: None)
    yield world, client
    ctx.close()


def _company(world, **where):
    return next(c for c in world.sb.seed["companies"] if all(c[k] == v for k, v in where.items()))


def test_me_parses_dates(port):
    world, client = port
    me = client.me()
    assert me["UserName"] == login(world.sb)["username"]
    assert isinstance(me["ServerTime"], float)
    assert "__metadata" not in me


def test_divisions_follow_every_page(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch, select="all").exit_code == 0
    control(world.sb, "POST", "/_sandbox/limits", {"page_size": 2})
    from exactlink.cli.context import AppContext

    ctx = AppContext()
    client = ctx.exact(ctx.portal())
    before = stats(world.sb)["api_calls_by_endpoint"].get("system/Divisions", 0)
    divisions = client.divisions()
    calls = stats(world.sb)["api_calls_by_endpoint"]["system/Divisions"] - before
    visible = [c for c in world.sb.seed["companies"] if c["login_has_access"] and not c["hq"]]
    assert sorted(d["Code"] for d in divisions) == sorted(c["division"] for c in visible)
    assert calls == -(-len(visible) // 2)  # one call per page of 2
    assert set(divisions[0]) >= {"Code", "Description", "VATNumber", "IsMainDivision", "Country"}
    ctx.close()


def test_divisions_retry_once_through_via(port):
    world, client = port
    control(world.sb, "POST", "/_sandbox/switches", {"strict_divisions_url": True})
    ungranted = _company(world, granted_to_app=False, login_has_access=True, hq=False)
    granted = _company(world, kind="practice")
    control(
        world.sb,
        "POST",
        "/_sandbox/current-division",
        {"username": login(world.sb)["username"], "division": ungranted["division"]},
    )
    with pytest.raises(ExactRefused) as refused:
        client.divisions()
    assert refused.value.status == 403 and refused.value.reason == REASON_NOT_IN_SCOPE
    codes = {d["Code"] for d in client.divisions(via=granted["division"])}
    assert granted["division"] in codes


def test_probe_and_its_refusals(port):
    world, client = port
    assert client.probe(_company(world, kind="practice")["division"]) is True
    cases = [
        (_company(world, granted_to_app=False, hq=False), REASON_NOT_IN_SCOPE),
        (_company(world, login_has_access=False), "NoDivisionAccess"),
        (_company(world, blocking_status=1), "DivisionBlocked"),
    ]
    for company, reason in cases:
        before = stats(world.sb)["api_calls"].get(str(company["division"]), 0)
        with pytest.raises(ExactRefused) as refused:
            client.probe(company["division"])
        assert refused.value.reason == reason
        assert refused.value.exit_code == 6
        assert refused.value.hint
        # One GET, never retried.
        assert stats(world.sb)["api_calls"][str(company["division"])] - before == 1
    state = client.rate_limit(_company(world, kind="practice")["division"])
    assert state.daily_limit == 5000 and state.minutely_remaining is not None


def test_errors_are_recorded_without_tokens(port):
    world, client = port
    company = _company(world, granted_to_app=False, hq=False)
    with pytest.raises(ExactRefused):
        client.probe(company["division"])
    errors = client.recorder.errors(client.connection.id)
    assert errors[0].endpoint == "users/UserHasRights"
    assert errors[0].division == company["division"]
    assert errors[0].status == 403 and errors[0].reason == REASON_NOT_IN_SCOPE


def test_get_retried_on_503_but_post_and_4xx_are_not(port):
    world, client = port
    control(world.sb, "POST", "/_sandbox/faults", {"kind": "http503", "path": "api", "count": 2})
    assert client.get("current/Me")  # two 503s, third attempt works
    control(world.sb, "POST", "/_sandbox/faults", {"kind": "http503", "path": "api", "count": 5})
    with pytest.raises(ExactUnreachable):
        client.get("current/Me")
    control(world.sb, "DELETE", "/_sandbox/faults")
    control(world.sb, "POST", "/_sandbox/faults", {"kind": "http503", "path": "api", "count": 1})
    with pytest.raises(ExactUnreachable):
        client.request("POST", "current/Me", json_body={})
    control(world.sb, "DELETE", "/_sandbox/faults")
    before = stats(world.sb)["api_calls"].get("current", 0)
    with pytest.raises(ExactRefused) as refused:
        client.request("POST", "current/Me", json_body={})
    assert refused.value.status == 405
    assert stats(world.sb)["api_calls"]["current"] - before == 1


def test_network_error_on_get_is_retried_then_reported(port):
    world, client = port
    control(world.sb, "POST", "/_sandbox/faults", {"kind": "drop", "path": "api", "count": 1})
    assert client.get("current/Me")
    world.sb.stop()
    client.session.close()  # no kept-alive socket to the stopped server
    with pytest.raises(ExactUnreachable) as down:
        client.get("current/Me")
    assert down.value.exit_code == 8


def test_next_link_to_another_host_is_refused(port):
    _world, client = port
    with pytest.raises(ExactRefused):
        client.get("https://evil.example/api/v1/current/Me")


def test_daily_429_is_rate_limited(port):
    world, client = port
    division = _company(world, kind="practice")["division"]
    control(world.sb, "POST", "/_sandbox/limits", {"daily_limit": 1})
    client.probe(division)
    with pytest.raises(RateLimited) as limited:
        client.probe(division)
    assert limited.value.details["reset_at"]


def test_pure_helpers():
    from exactlink.adapters.exact.headers import rate_limit_from_headers
    from exactlink.adapters.exact.odata import parse_date, unwrap

    assert parse_date("/Date(1641034800000)/") == 1641034800.0
    assert parse_date("/Date(-1000+0100)/") == -1.0
    assert parse_date("x") == "x" and parse_date(None) is None
    assert unwrap({"d": {"results": [1], "__next": "n"}}) == ([1], "n")
    assert unwrap({"d": [1, 2]}) == ([1, 2], None)
    assert unwrap({"d": {"UserHasRights": True}}) == ({"UserHasRights": True}, None)
    state = rate_limit_from_headers(
        7, {"X-RateLimit-Minutely-Remaining": "0", "X-RateLimit-Minutely-Reset": "1715558520"}
    )
    assert state.minutely_reset_ms == 1715558520000  # seconds tolerated
    assert state.daily_limit is None
    assert rate_limit_from_headers(7, {}) is None


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Wed, 02 Dec 2026 16:05:30 GMT", 1796227530.0),
        ("Wed, 02 Dec 2026 17:05:30 +0100", 1796227530.0),
        ("Wed, 02 Dec 2026 16:05:30 -0000", 1796227530.0),  # no zone said: UTC, not ours
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_server_time_reads_the_date_header(date, expected):
    from types import SimpleNamespace

    from exactlink.adapters.exact.headers import server_time

    headers = {} if date is None else {"Date": date}
    assert server_time(SimpleNamespace(headers=headers)) == expected


def test_redaction():
    from exactlink.adapters.exact.http import (
        redact_form,
        redact_headers,
        redact_text,
        redact_url,
    )

    assert "abc" not in redact_url("http://x/cb?code=abc&state=s")
    assert redact_form({"refresh_token": "r", "grant_type": "g"}) == {
        "refresh_token": "***",
        "grant_type": "g",
    }
    assert redact_headers({"Authorization": "Bearer TOKEN"}) == {"Authorization": "Bearer ***"}
    assert "TOK" not in redact_text('{"access_token": "TOK", "expires_in": "600"}')


def test_sites():
    from exactlink.adapters.exact.sites import site_for
    from exactlink.errors import InvalidInput

    assert site_for("be") == "https://start.exactonline.be"
    assert site_for("co.uk") == "https://start.exactonline.co.uk"
    assert site_for("us") == "https://start.exactonline.com"
    assert site_for("nl", "http://127.0.0.1:9/") == "http://127.0.0.1:9"
    with pytest.raises(InvalidInput):
        site_for("xx")
