"""exactlink against the strict sandbox where strict exposed what a real firm would meet: client
credentials sent once, reconnecting within 570 s, a non-granted current administration, the
error block under another status and on the token endpoint, long tokens in storage."""

from __future__ import annotations

import pytest
import requests

from exactlink.errors import RateLimited
from support.exactkit import advance, connect_inprocess, control, make_world, stats


def _seed_company(sb, *, granted: bool) -> dict:
    return next(
        c
        for c in sb.seed["companies"]
        if c["kind"] == "client"
        and c["granted_to_app"] is granted
        and c["login_has_access"]
        and c["status"] == 1
        and c["blocking_status"] == 0
    )


def test_connect_sends_the_client_credentials_one_way_only(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    switches = control(world.sb, "GET", "/_sandbox/switches")
    assert switches["refuse_double_credentials"] is True  # Basic + body would be a 400
    result = connect_inprocess(world, cli, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert stats(world.sb)["token_errors"] == {}
    assert stats(world.sb)["token_successes"] == {"code": 1}


def test_reconnecting_within_570_seconds_names_the_rule(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    again = connect_inprocess(world, cli, monkeypatch)
    assert again.exit_code == 7  # rate limited (services.connect), with the time to wait
    assert "less than 570 seconds ago" in again.stderr
    advance(world.sb, 570)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0


def test_a_non_granted_current_division_names_the_fix(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli, clients=14)
    current = _seed_company(world.sb, granted=False)["division"]
    # The firm's login last opened a client administration the app was not granted (§4.2).
    control(world.sb, "POST", "/_sandbox/current-division", {"division": current})
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    result = cli("exact", "divisions", "--refresh")
    assert result.exit_code == 6
    assert f"current administration in Exact Online ({current}) is not granted" in result.stderr
    assert "Beveiligingscentrum" in result.stderr and "Administraties beheren" in result.stderr
    # Fixed as the hint says (the administration added to the app's grant): the list comes.
    control(world.sb, "POST", "/_sandbox/grant", {"add": [current]})
    fixed = cli("--json", "exact", "divisions", "--refresh")
    assert fixed.exit_code == 0, fixed.stderr


def test_the_error_block_is_recognised_whatever_its_status(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    control(world.sb, "POST", "/_sandbox/switches", {"blocked_status": 403, "error_limit": 2})
    division = cli("exact", "status", "--json").json()["current_division"]
    bad = ["exact", "api", "--division", str(division), "crm/Accounts", "-f", "$filter=Nope eq 1"]
    codes = [cli(*bad).exit_code for _ in range(3)]
    assert codes == [6, 6, 6]
    blocked = cli(*bad)
    assert blocked.exit_code == 7  # rate limited, not "refused": by header and body
    assert "too many errors" in blocked.stderr
    assert stats(world.sb)["api_calls"][str(division)] == 4  # never retried


def test_the_token_endpoint_block_is_rate_limited(sandbox):
    from exactlink.adapters.exact.oauth import classify_token_error

    app = sandbox.seed["app"]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "stampNL001.not-a-token",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
    }
    url = f"{sandbox.base_url}/api/oauth2/token"
    for _ in range(11):
        assert requests.post(url, data=form, timeout=5).status_code == 400
    blocked = requests.post(url, data=form, timeout=5)
    assert blocked.status_code == 429
    error = classify_token_error(blocked, grant="refresh_token")
    assert isinstance(error, RateLimited)
    assert error.details["reason"] == "ErrorLimitExceeded"


def test_long_tokens_round_trip_through_the_insecure_file(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)  # insecure storage (the file store)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    issued = list(world.sb.engine.access_tokens)
    assert len(issued) == 1 and len(issued[0]) >= 1000
    me = cli("--json", "exact", "api", "current/Me")
    assert me.exit_code == 0, me.stderr  # the stored long token came back whole
    advance(world.sb, 601)  # expired: refresh with the stored long refresh token
    again = cli("--json", "exact", "api", "current/Me")
    assert again.exit_code == 0, again.stderr
    assert stats(world.sb)["token_successes"] == {"code": 1, "refresh": 1}


@pytest.mark.real
def test_long_tokens_round_trip_through_the_real_keyring(
    sandbox_factory, cli, monkeypatch, isolated_home, real_keyring
):
    world = make_world(sandbox_factory, cli, insecure=False, token_length=4000)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    assert cli("exact", "status", "--json").json()["insecure_storage"] is False
    assert all(len(token) >= 4000 for token in world.sb.engine.access_tokens)
    # The 4,000-character access token, read back from the keyring, is accepted whole ...
    assert cli("exact", "api", "current/Me").exit_code == 0
    assert stats(world.sb)["api_errors"] == {}
    # ... and so is the refresh token once the access token has expired.
    advance(world.sb, 601)
    assert cli("exact", "api", "current/Me").exit_code == 0
    assert stats(world.sb)["token_successes"] == {"code": 1, "refresh": 1}
    assert stats(world.sb)["token_errors"] == {}
    assert not (isolated_home / "secrets-insecure.json").exists()
    assert cli("exact", "disconnect").exit_code == 0
