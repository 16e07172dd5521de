"""`exact divisions --all-licenses` against the sandbox over real HTTP: the administrations of
each reachable license that system/Divisions leaves out, from system/AllDivisions once per
license (reference §4.2)."""

from __future__ import annotations

from support.exactkit import connected, stats


def _expected_not_accessible(seed: dict) -> set[int]:
    """Every administration of a license that an active, unblocked listed one belongs to, and
    that system/Divisions did not list (the login has no access, or the app no grant)."""
    companies = seed["companies"]
    visible = set(seed["visible_divisions"])
    licenses = {
        c["license"]
        for c in companies
        if c["division"] in visible and c["status"] == 1 and c["blocking_status"] == 0
    }
    return {c["division"] for c in companies if c["license"] in licenses} - visible


def test_all_licenses_adds_what_the_login_cannot_reach(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    seed = world.sb.seed
    expected = _expected_not_accessible(seed)
    assert expected  # the seed has a license with an administration the login does not see

    before = stats(world.sb)["api_calls_by_endpoint"].get("system/AllDivisions", 0)
    result = cli("exact", "divisions", "--all-licenses", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert {d["code"] for d in data["divisions"]} == set(seed["visible_divisions"])
    extra = data["not_accessible"]
    assert [d["code"] for d in extra] == sorted(expected)  # sorted, each once
    by_code = {c["division"]: c for c in seed["companies"]}
    for row in extra:
        company = by_code[row["code"]]
        assert row["name"] == company["name"]
        assert row["vat"] == company["vat_number"]
        assert row["status"] == {0: "inactive", 1: "active", 2: "archived"}[company["status"]]
    calls = stats(world.sb)["api_calls_by_endpoint"]["system/AllDivisions"] - before
    reachable_licenses = {
        by_code[code]["license"]
        for code in seed["visible_divisions"]
        if by_code[code]["status"] == 1 and by_code[code]["blocking_status"] == 0
    }
    assert calls == len(reachable_licenses)  # one call per license, not per administration


def test_all_licenses_for_a_person_is_a_second_table(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    expected = _expected_not_accessible(world.sb.seed)
    result = cli("exact", "divisions", "--all-licenses")
    assert result.exit_code == 0, result.stderr
    assert (
        f"Not accessible to the firm's login or not granted to the app ({len(expected)}):"
        in result.stderr
    )
    headers = [line for line in result.stdout.splitlines() if line.startswith("CODE")]
    assert len(headers) == 2  # the listed administrations, then the ones out of reach
    second = result.stdout.split(headers[1], 1)[1]
    assert {int(line.split()[0]) for line in second.splitlines() if line.strip()} == expected


def test_without_the_flag_there_is_no_all_divisions_call(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    result = cli("exact", "divisions", "--json")
    assert result.exit_code == 0, result.stderr
    assert "not_accessible" not in result.json()
    assert "system/AllDivisions" not in stats(world.sb)["api_calls_by_endpoint"]
