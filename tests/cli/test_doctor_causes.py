"""Every cause the sandbox can produce today, named by `doctor --client` (and `doctor --all`) with
Exact's real menu paths, Dutch and English; `--json` carries the same stable cause key."""

from __future__ import annotations

import pytest

from support.exactkit import connect_inprocess, connected, control, make_world, seed_clients


def checks(result) -> dict[str, dict]:
    return {c["id"]: c for c in result.json()["checks"]}


def failed(result) -> dict[str, dict]:
    """The failing checks by cause."""
    return {
        c["cause"]: c for c in result.json()["checks"] if c["status"] == "fail" and "cause" in c
    }


def company(sb, **want) -> dict:
    return next(c for c in seed_clients(sb) if all(c.get(k) == v for k, v in want.items()))


def healthy(sb) -> list[dict]:
    return [
        c
        for c in seed_clients(sb)
        if c["granted_to_app"] and c["login_has_access"] and c["status"] == 1
        and not c["blocking_status"] and not c["own_login"]
    ]  # fmt: skip


def add(cli, c, **kw) -> None:
    args = ["client", "add", c["name"], "--vat", kw.get("vat", c["vat_number"]), "--access-granted"]
    assert cli(*args).exit_code == 0


def doctor_all(cli) -> dict[str, dict]:
    result = cli("--json", "doctor", "--all")
    return {c["client"]: c for c in result.json()["clients"]}


@pytest.fixture
def world(sandbox_factory, cli, monkeypatch):
    return connected(sandbox_factory, cli, monkeypatch)


def test_granted_but_not_activated(world, cli):
    c = healthy(world.sb)[0]
    add(cli, c)
    result = cli("--json", "doctor", "--client", c["name"])
    assert result.exit_code == 10
    found = failed(result)["not_activated"]
    assert found["id"] == "activation" and "exact activate --client" in found["fix"]
    assert doctor_all(cli)[c["name"]]["cause"] == "not_activated"
    assert cli("exact", "activate", "--client", c["name"]).exit_code == 0
    fine = cli("--json", "doctor", "--client", c["name"])
    assert fine.exit_code == 0, fine.stdout
    assert checks(fine)["activation"]["status"] == "ok"


def test_activated_to_a_division_that_no_longer_matches(world, cli):
    c, other = healthy(world.sb)[:2]
    add(cli, c)
    assert cli("exact", "activate", "--client", c["name"]).exit_code == 0
    # Exact now shows another VAT number for the administration than the client has.
    assert cli("client", "update", c["name"], "--vat", other["vat_number"]).exit_code == 0
    result = cli("--json", "doctor", "--client", c["name"])
    assert result.exit_code == 10
    found = failed(result)["activation_mismatch"]
    assert other["vat_number"] in found["message"] and "--overwrite" in found["fix"]
    assert doctor_all(cli)[c["name"]]["cause"] == "activation_mismatch"


def test_a_company_missing_from_the_list_names_the_four_real_reasons(world, cli):
    missing = company(world.sb, granted_to_app=False, login_has_access=True)
    add(cli, missing)
    result = cli("--json", "doctor", "--client", missing["name"])
    assert result.exit_code == 10
    fix = failed(result)["not_in_list"]["fix"]
    for words in (
        "Koppel mijn accountant", "Link my accountant", "Externe administraties",
        "Administraties: Toegangsrechten", "Companies: Access rights",
        "Mijn Exact Online > Beveiligingscentrum > Machtigingen voor mijn apps > Administraties"
        " beheren", "My Exact Online > Security Center > Permissions for my apps > Manage"
        " administrations", "Import/Export > Appmachtigingen", "Premium",
    ):  # fmt: skip
        assert words in fix, words
    assert doctor_all(cli)[missing["name"]]["cause"] == "not_in_list"


def test_not_granted_and_no_access_are_told_apart_by_the_probe(world, cli):
    not_granted = company(world.sb, granted_to_app=False, login_has_access=True)
    result = cli("--json", "doctor", "--division", str(not_granted["division"]))
    found = failed(result)["not_granted_to_app"]
    assert "Administraties beheren" in found["fix"] and "Appmachtigingen" in found["fix"]
    no_access = company(world.sb, granted_to_app=True, login_has_access=False)
    result = cli("--json", "doctor", "--division", str(no_access["division"]))
    found = failed(result)["login_has_no_access"]
    assert "Administraties: Toegangsrechten" in found["fix"]
    assert "Companies: Access rights" in found["fix"]


@pytest.mark.parametrize(
    ("change", "cause"),
    [({"status": 2}, "archived"), ({"status": 0}, "inactive"), ({"blocking_status": 1}, "blocked")],
)
def test_archived_inactive_and_blocked(world, cli, change, cause):
    c = healthy(world.sb)[0]
    add(cli, c)
    assert cli("exact", "activate", "--client", c["name"]).exit_code == 0
    control(world.sb, "POST", "/_sandbox/company", {"division": c["division"], **change})
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    result = cli("--json", "doctor", "--client", c["name"])
    assert result.exit_code == 10
    assert failed(result)[cause]["id"] == "division_state"
    assert doctor_all(cli)[c["name"]]["cause"] == cause


def test_an_hq_division(world, cli):
    hq = next(c for c in world.sb.seed["companies"] if c["hq"])
    result = cli("--json", "doctor", "--division", str(hq["division"]))
    assert failed(result)["hq_division"]["id"] == "hq"


def test_the_consent_given_as_another_exact_user(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli, clients=14)
    result = connect_inprocess(world, cli, monkeypatch, role="client")
    assert result.exit_code == 0, result.stderr
    result = cli("--json", "doctor")
    assert result.exit_code == 10
    found = failed(result)["other_exact_user"]
    assert found["id"] == "login" and "exact connect" in found["fix"]
    assert "forces a login" in found["fix"]
    assert {c["id"]: c for c in cli("--json", "doctor", "--all").json()["checks"]}["login"][
        "cause"
    ] == "other_exact_user"


def test_the_app_lacks_a_scope(sandbox_factory, cli, monkeypatch):
    """The strict sandbox enforces the app's scopes: without "Organization administration" the
    division list answers 403 "Application Scope Violated"."""
    world = connected(sandbox_factory, cli, monkeypatch, app_scopes="CRM accounts")
    result = cli("--json", "doctor")
    assert result.exit_code == 10
    found = failed(result)["app_scope"]
    assert found["id"] == "division_listed"
    assert "Application Scope Violated" in found["fix"] and "App Store" in found["fix"]
    firm = cli("--json", "doctor", "--all").json()
    assert {c["id"]: c for c in firm["checks"]}["division_listed"]["cause"] == "app_scope"
    assert world.sb.seed["app"]["client_id"]


def premium(sb, c) -> None:
    """The client's licence becomes Exact Online Premium (the sandbox's control)."""
    reply = control(
        sb, "POST", "/_sandbox/company", {"division": c["division"], "edition": "premium"}
    )
    assert reply["edition"] == "premium"


def test_a_premium_licence_listed_yet_refused(sandbox_factory, cli, monkeypatch, run_exactlink):
    """``premium_licence="listed"``: in system/Divisions, yet every call there is refused with
    NoDivisionAccess. A list holds only what the login can access, so that is the licence."""
    world = connected(sandbox_factory, cli, monkeypatch, premium_licence="listed")
    c = healthy(world.sb)[0]
    premium(world.sb, c)
    add(cli, c)
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    refused = cli("--json", "exact", "activate", "--client", c["name"])
    assert refused.exit_code == 6, refused.stdout
    error = refused.json()["errors"][0]
    assert error["details"]["cause"] == "licence_unreachable"
    assert "Premium" in error["message"] and "exact connect --client" in error["hint"]
    result = cli("--json", "doctor", "--client", c["name"])
    assert result.exit_code == 10
    found = failed(result)["licence_unreachable"]
    assert found["id"] == "probe" and "Premium" in found["fix"]
    # The whole firm, in a real process: named from the refusal Exact already gave, no probe.
    firm = run_exactlink("--json", "doctor", "--all")
    assert firm.exit_code == 10, firm.stderr
    body = firm.json()
    mine = {x["client"]: x for x in body["clients"]}[c["name"]]
    assert mine["cause"] == "licence_unreachable" and "Premium" in mine["fix"]
    assert body["probes"] == 0
    bulk = cli("--json", "exact", "activate", "--all")
    outcome = {x["client"]: x for x in bulk.json()["data"]["clients"]}[c["name"]]
    assert (outcome["outcome"], outcome["cause"]) == ("refused", "licence_unreachable")
    shown = cli("--json", "client", "show", c["name"]).json()
    assert "division" in shown and shown["division"] is None  # nothing written


def test_a_premium_licence_left_out_of_the_list(sandbox_factory, cli, monkeypatch):
    """The strict default (``premium_licence="unlisted"``, the reference's "a cause for a missing
    division"): left out of system/Divisions, NoDivisionAccess inside, the same answer as a user
    without access, so both are named, in the order to check them."""
    world = connected(sandbox_factory, cli, monkeypatch)
    c = healthy(world.sb)[0]
    premium(world.sb, c)
    add(cli, c)
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    missing = cli("--json", "exact", "activate", "--client", c["name"])
    assert missing.exit_code == 3
    result = cli("--json", "doctor", "--client", c["name"])
    assert result.exit_code == 10
    assert "Premium" in failed(result)["not_in_list"]["fix"]
    assert doctor_all(cli)[c["name"]]["cause"] == "not_in_list"
    picked = cli(
        "--json", "exact", "activate", "--client", c["name"], "--division", str(c["division"])
    )
    assert picked.exit_code == 3
    assert f"doctor --division {c['division']}" in picked.json()["errors"][0]["hint"]
    result = cli("--json", "doctor", "--division", str(c["division"]))
    found = failed(result)["login_has_no_access"]
    assert "Administraties: Toegangsrechten" in found["fix"] and "Premium" in found["fix"]
    assert "exact connect --client" in found["fix"]
