"""`doctor --all`: the whole firm in one run against the sandbox seed, within Exact's budget."""

from __future__ import annotations

import csv
import io

from support.exactkit import connected, control, seed_clients, stats


def import_seed(cli, sb, *, pending: int | None = None) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["name", "vat", "access_granted"])
    for company in seed_clients(sb):
        granted = "no" if company["division"] == pending else "yes"
        writer.writerow([company["name"], company["vat_number"], granted])
    result = cli("client", "import", "-", "--format", "csv", input=buf.getvalue())
    assert result.exit_code == 0, result.stderr


def calls(before: dict, after: dict) -> tuple[int, int, int]:
    """(current/Me, system/Divisions pages, probes) between two stats."""

    def diff(key: str) -> int:
        return after["api_calls_by_endpoint"].get(key, 0) - before["api_calls_by_endpoint"].get(
            key, 0
        )

    return diff("current/Me"), diff("system/Divisions"), diff("users/UserHasRights")


def test_doctor_all_names_each_clients_cause_within_the_budget(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    sb = world.sb
    companies = seed_clients(sb)
    pending = companies[-1]["division"]
    import_seed(cli, sb, pending=pending)
    before = stats(sb)
    result = cli("--json", "doctor", "--all")
    assert result.exit_code == 10, result.stdout
    body = result.json()
    by = {c["client"]: c for c in body["clients"]}
    for company in companies:
        got = by[company["name"]]
        if company["division"] == pending:
            assert got["cause"] == "access_pending"
        elif company["blocking_status"]:
            assert got["cause"] == "blocked"
        elif not company["granted_to_app"] or not company["login_has_access"]:
            assert got["cause"] == "not_in_list"
            assert "Koppel mijn accountant" in got["fix"]
            assert "Administraties: Toegangsrechten" in got["fix"]
            assert "Appmachtigingen" in got["fix"] and "Beveiligingscentrum" in got["fix"]
        elif company["status"] == 2:
            assert got["cause"] == "archived"
        else:
            assert got["cause"] == "not_activated", got  # granted, listed, never activated
            assert "exact activate --client" in got["fix"]
    me, pages, probes = calls(before, stats(sb))
    assert me <= 1 and pages <= 1 and probes == 0
    assert body["totals"]["fail"] == sum(1 for c in body["clients"] if c["status"] == "fail")

    human = cli("doctor", "--all")
    assert human.exit_code == 10
    assert "not_activated (" in human.stdout
    assert "Doctor found problems" in human.stderr


def test_doctor_all_when_all_is_well_is_one_summary_and_probes_only_doubts(
    sandbox_factory, cli, monkeypatch
):
    world = connected(sandbox_factory, cli, monkeypatch)
    sb = world.sb
    good = [
        c
        for c in seed_clients(sb)
        if c["granted_to_app"] and c["login_has_access"] and c["status"] == 1
        and not c["blocking_status"]
    ]  # fmt: skip
    for c in good:
        assert (
            cli("client", "add", c["name"], "--vat", c["vat_number"], "--access-granted").exit_code
            == 0
        )
    assert cli("exact", "activate", "--all").exit_code == 0
    fine = cli("doctor", "--all")
    assert fine.exit_code == 0, fine.stdout
    # Only the firm-wide warning of the test home's insecure file store, then one summary line.
    lines = [
        x for x in fine.stdout.strip().splitlines() if "keyring" not in x and "Keychain" not in x
    ]
    assert lines == [
        f"{len(good)} clients: {len(good)} fine, 0 with a warning, 0 with a problem; 0 probes."
    ]

    # One activated administration hidden from the list (archived, list_archived off): the one
    # probe in it answers, so doctor says "archived or removed", not "no match".
    hidden = good[0]
    control(sb, "POST", "/_sandbox/company", {"division": hidden["division"], "status": 2})
    control(sb, "POST", "/_sandbox/switches", {"list_archived": False})
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    before = stats(sb)
    result = cli("--json", "doctor", "--all")
    assert result.exit_code == 10
    got = {c["client"]: c for c in result.json()["clients"]}[hidden["name"]]
    assert got["cause"] == "archived_or_removed", got
    me, pages, probes = calls(before, stats(sb))
    assert me <= 1 and pages <= 1 and probes == 1
    # and for that client alone
    one = cli("--json", "doctor", "--client", hidden["name"])
    assert one.exit_code == 10
    assert {c["id"]: c for c in one.json()["checks"]}["division_state"]["cause"] == (
        "archived_or_removed"
    )


def test_doctor_all_reports_the_rate_limit_instead_of_stopping(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    sb = world.sb
    good = [
        c
        for c in seed_clients(sb)
        if c["granted_to_app"] and c["login_has_access"] and c["status"] == 1
        and not c["blocking_status"]
    ][:2]  # fmt: skip
    for c in good:
        assert (
            cli("client", "add", c["name"], "--vat", c["vat_number"], "--access-granted").exit_code
            == 0
        )
    assert cli("exact", "activate", "--all").exit_code == 0
    control(sb, "POST", "/_sandbox/grant", {"remove": [c["division"] for c in good]})
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    # One error allowed an hour: each division has gone past it (calls refused as not granted),
    # so Exact's error block answers the next call there.
    control(sb, "POST", "/_sandbox/limits", {"error_limit": 1})
    for c in good:
        path = f"{c['division']}/users/UserHasRights?endpoint='crm/Accounts'&action='GET'"
        assert cli("exact", "api", path).exit_code == 6
        assert cli("exact", "api", path).exit_code == 6
    result = cli("--json", "doctor", "--all")
    assert result.exit_code == 10, result.stdout
    got = {c["client"]: c for c in result.json()["clients"]}
    assert [got[c["name"]]["cause"] for c in good] == ["rate_limited", "rate_limited"], got
    assert "rate limit" in got[good[1]["name"]]["message"]
    assert result.json()["probes"] == 1  # the first probe met the limit: no second one
