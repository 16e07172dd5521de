"""`exact app set|show`, `exact connect` (paste, loopback, loopback-tls), status, api,
disconnect and reconnect, end to end against the sandbox over real HTTP."""

from __future__ import annotations

import json

from support.exactkit import advance, connect_inprocess, make_world, stats


def test_app_set_reads_the_secret_from_stdin_and_show_hides_it(sandbox_factory, cli, isolated_home):
    world = make_world(sandbox_factory, cli)
    shown = cli("exact", "app", "show", "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["client_id"] == world.app["client_id"]
    assert data["mode"] == "loopback"
    assert data["secret_stored"] is True
    assert data["insecure_storage"] is True
    assert world.app["client_secret"] not in shown.stdout + shown.stderr
    config = (isolated_home / "config.toml").read_text()
    assert world.app["client_secret"] not in config
    assert "insecure_storage = true" in config


def test_connect_paste_status_api_disconnect_reconnect(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    result = connect_inprocess(world, cli, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert "/api/oauth2/auth?" in result.stderr  # the URL is always printed
    status = cli("exact", "status", "--json")
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["status"] == "connected"
    assert data["exact_username"] == world.sb.seed["logins"][0]["username"]
    assert data["secret_storage"] == "insecure-file"
    assert data["insecure_storage"] is True
    assert 0 < data["access_token_seconds_left"] <= 600
    assert data["refresh_token_days_left"] > 29.9

    check = cli("exact", "status", "--check", "--json")
    assert check.exit_code == 0, check.stderr
    assert json.loads(check.stdout)["check"]["ok"] is True

    me = cli("exact", "api", "current/Me")
    assert me.exit_code == 0, me.stderr
    assert json.loads(me.stdout)["d"]["results"][0]["UserName"] == data["exact_username"]

    division = data["current_division"]
    accounts = cli(
        "exact",
        "api",
        "--division",
        str(division),
        "crm/Accounts",
        "-f",
        "$select=ID,Name",
        "--paginate",
    )
    assert accounts.exit_code == 0, accounts.stderr
    assert isinstance(json.loads(accounts.stdout)["d"]["results"], list)

    gone = cli("exact", "disconnect")
    assert gone.exit_code == 0, gone.stderr
    after = cli("exact", "api", "current/Me")
    assert after.exit_code == 5
    assert "exactlink exact connect" in after.stderr

    advance(world.sb, 570)  # strict: the 570 s rule counts from the first code exchange
    again = connect_inprocess(world, cli, monkeypatch)
    assert again.exit_code == 0, again.stderr
    assert cli("exact", "api", "current/Me").exit_code == 0
    assert stats(world.sb)["token_errors"].get("TooEarlyToRefreshTokens", 0) == 0
