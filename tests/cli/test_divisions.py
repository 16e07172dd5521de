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

    # Without the flag: the listed administrations only, and no system/AllDivisions call.
    plain = cli("exact", "divisions", "--json")
    assert plain.exit_code == 0, plain.stderr
    assert "not_accessible" not in plain.json()
    assert "system/AllDivisions" not in stats(world.sb)["api_calls_by_endpoint"]

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
    reachable_licenses = {
        by_code[code]["license"]
        for code in seed["visible_divisions"]
        if by_code[code]["status"] == 1 and by_code[code]["blocking_status"] == 0
    }
    calls = stats(world.sb)["api_calls_by_endpoint"]["system/AllDivisions"]
    assert calls == len(reachable_licenses)  # one call per license, not per administration

    # For a person: a second table, its count on stderr.
    table = cli("exact", "divisions", "--all-licenses")
    assert table.exit_code == 0, table.stderr
    assert (
        f"Not accessible to the firm's login or not granted to the app ({len(expected)}):"
        in table.stderr
    )
    headers = [line for line in table.stdout.splitlines() if line.startswith("CODE")]
    assert len(headers) == 2  # the listed administrations, then the ones out of reach
    second = table.stdout.split(headers[1], 1)[1]
    assert {int(line.split()[0]) for line in second.splitlines() if line.strip()} == expected
