"""`exactlink doctor` through the CLI against the sandbox seed: each seeded failure case is
diagnosed with the right cause and fix, and doctor stays far under Exact's error-block limit."""

from __future__ import annotations

import json

import pytest

from support.exactkit import advance, connected, control, make_world, seed_clients, stats

# Every test here runs on the local SQLite store and on a team store (PostgreSQL).
pytestmark = pytest.mark.usefixtures("store_backend")


def checks(result) -> dict[str, dict]:
    body = json.loads(result.stdout)
    return {c["id"]: c for c in body["checks"]}


def company(sb, **want):
    for c in sb.seed["companies"]:
        if all(c.get(k) == v for k, v in want.items()):
            return c
    raise AssertionError(f"no seeded company with {want}")


def doctor(cli, *args):
    return cli("--json", "doctor", *args)


def test_doctor_without_app_or_connection_says_what_it_could_not_check(cli, store_backend):
    assert cli("portal", "create", "Kantoor", "--email", "k@example.nl").exit_code == 0
    result = doctor(cli)
    assert result.exit_code == 10
    found = checks(result)
    assert found["store"]["status"] == "ok"
    wanted = "Team store reachable" if store_backend == "postgresql" else "Local store readable"
    assert wanted in found["store"]["message"]
    assert found["portal"]["status"] == "ok"
    assert found["exact_app"]["status"] == "fail"
    assert "exact app set" in found["exact_app"]["fix"]
    assert found["connection"]["status"] == "fail"
    assert "exact connect" in found["connection"]["fix"]
    assert found["division_listed"]["status"] == "warn"
    assert found["division_listed"]["message"].startswith("Not checked")
    human = cli("doctor")
    assert human.exit_code == 10
    assert "✗ exact_app" in human.stdout and "✓ store" in human.stdout
    assert "Doctor found" in human.stderr


def test_doctor_without_any_portal(cli):
    result = doctor(cli)
    assert result.exit_code == 10
    assert checks(result)["portal"]["status"] == "fail"


def test_each_seeded_failure_case_has_its_cause_and_fix(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    sb = world.sb
    before = stats(sb)

    healthy = next(
        c
        for c in seed_clients(sb)
        if c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
    )
    ok = doctor(cli, "--division", str(healthy["division"]))
    assert ok.exit_code == 0, ok.stdout
    assert checks(ok)["probe"]["status"] == "ok"
    assert checks(ok)["clock"]["status"] == "ok"
    assert checks(ok)["site"]["status"] == "ok"

    not_granted = company(sb, kind="client", granted_to_app=False, login_has_access=True)
    result = doctor(cli, "--division", str(not_granted["division"]))
    assert result.exit_code == 10
    found = checks(result)
    assert found["division_listed"]["status"] == "fail"
    assert "not granted to the app" in found["probe"]["message"]
    assert "Beveiligingscentrum" in found["probe"]["fix"]
    assert "Machtigingen voor mijn apps" in found["probe"]["fix"]
    assert "Security Center" in found["probe"]["fix"]

    no_access = company(sb, login_has_access=False)
    found = checks(doctor(cli, "--division", str(no_access["division"])))
    assert "no access" in found["probe"]["message"]
    assert "Toegangsrechten" in found["probe"]["fix"]

    archived = company(sb, status=2)
    found = checks(doctor(cli, "--division", str(archived["division"])))
    assert found["division_state"]["status"] == "fail"
    assert "archived" in found["division_state"]["message"]
    assert found["probe"]["status"] == "warn"  # not probed: the list already says why

    blocked = company(sb, blocking_status=1)
    found = checks(doctor(cli, "--division", str(blocked["division"])))
    assert "blocked" in found["division_state"]["message"]

    hq = company(sb, hq=True)
    found = checks(doctor(cli, "--division", str(hq["division"])))
    assert found["hq"]["status"] == "fail"
    assert "HQ" in found["hq"]["message"] and "10,000,000" in found["hq"]["message"]

    assert cli("client", "add", "Wacht Nog").exit_code == 0
    found = checks(doctor(cli, "--client", "Wacht Nog"))
    assert found["client_access"]["status"] == "fail"
    assert "Toegangsbeheer" in found["client_access"]["fix"]

    # a client matched through the list, and one that is not in it (both fixes offered)
    assert cli("client", "add", healthy["name"], "--access-granted").exit_code == 0
    found = checks(doctor(cli, "--client", healthy["name"]))
    assert found["division_match"]["status"] == "ok"
    assert found["probe"]["status"] == "ok"
    assert cli("client", "add", not_granted["name"], "--access-granted").exit_code == 0
    found = checks(doctor(cli, "--client", not_granted["name"]))
    assert found["division_listed"]["status"] == "fail"
    assert "Beveiligingscentrum" in found["division_listed"]["fix"]
    assert "Toegangsrechten" in found["division_listed"]["fix"]

    # Exact's error block: more than 10 errors an hour per endpoint per division. Doctor made at
    # most one failing call in any division.
    after = stats(sb)
    for division, errors in after["api_errors"].items():
        assert errors - before["api_errors"].get(division, 0) <= 1, (division, errors)


def test_dead_token_chain(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    login = world.sb.seed["logins"][0]["username"]
    control(world.sb, "POST", "/_sandbox/revoke", {"username": login})
    advance(world.sb, 700)  # the access token expired: the next call must refresh
    result = doctor(cli)
    assert result.exit_code == 10
    found = checks(result)
    assert found["connection"]["status"] == "fail"
    assert "exactlink exact connect" in found["connection"]["fix"]


def test_wrong_site(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    result = cli(
        "exact",
        "app",
        "set",
        "--client-id",
        world.app["client_id"],
        "--redirect-uri",
        world.redirect_uri,
        "--base-url",
        "https://start.exactonline.be",
        "--insecure-storage",
        input=world.app["client_secret"] + "\n",
    )
    assert result.exit_code == 0, result.stderr
    found = checks(doctor(cli))
    assert found["site"]["status"] == "fail"
    assert "exactonline.be" in found["site"]["message"]
    assert "--region" in found["site"]["fix"]


def test_clock_skew_is_reported(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    advance(world.sb, 900)  # Exact's clock runs 15 minutes ahead of ours
    found = checks(doctor(cli))
    assert found["clock"]["status"] == "fail"
    assert "behind" in found["clock"]["message"]
    assert "NTP" in found["clock"]["fix"]


def test_not_connected_portal_with_app(sandbox_factory, cli):
    make_world(sandbox_factory, cli, clients=14)
    found = checks(doctor(cli))
    assert found["exact_app"]["status"] == "ok"
    assert found["connection"]["status"] == "fail"
