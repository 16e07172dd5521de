"""`exact divisions`, `exact activate`, `exact deactivate` through the CLI, against the sandbox
seed over real HTTP: clients imported from a CSV built from the seed, bulk activation, overwrite
and bad input."""

from __future__ import annotations

import csv
import io
import json

import pytest

from support.exactkit import PORTAL, connect_inprocess, connected, seed_clients, stats
from support.postgres import secret_names

# Every test here runs on the local SQLite store and on a team store (PostgreSQL).
pytestmark = pytest.mark.usefixtures("store_backend")


def import_csv(cli, sb, *, pending: set[int] = frozenset()) -> None:
    """Import every seeded client from a CSV built from the seed (VAT only, to match by it)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["name", "vat", "access_granted"])
    for company in seed_clients(sb):
        granted = "no" if company["division"] in pending else "yes"
        writer.writerow([company["name"], company["vat_number"], granted])
    result = cli("client", "import", "-", "--format", "csv", input=buf.getvalue())
    assert result.exit_code == 0, result.stderr


def expected_cause(company) -> str:
    if company["blocking_status"]:
        return "blocked"
    if not company["login_has_access"] or not company["granted_to_app"]:
        return "missing"  # never listed in system/Divisions: nothing to match
    if company["status"] == 2:
        return "archived"
    if company["status"] == 0:
        return "inactive"
    return "activated"


def test_activate_all_against_the_seed_then_a_second_run_changes_nothing(
    sandbox_factory, cli, monkeypatch, db
):
    world = connected(sandbox_factory, cli, monkeypatch)
    sb = world.sb
    companies = seed_clients(sb)
    pending = companies[-1]["division"]
    import_csv(cli, sb, pending={pending})

    listing = cli("exact", "divisions", "--json")
    assert listing.exit_code == 0, listing.stderr
    codes = {d["code"] for d in json.loads(listing.stdout)["divisions"]}
    assert codes == set(sb.seed["visible_divisions"])
    # For a person: the blocking status in words, the archived one by name.
    table = cli("exact", "divisions")
    assert table.exit_code == 0, table.stderr
    rows = {
        int(line.split()[0]): line for line in table.stdout.splitlines()[1:] if line[:1].isdigit()
    }
    blocked = [
        c for c in sb.seed["companies"] if c["blocking_status"] == 1 and c["division"] in codes
    ]
    archived = [c for c in sb.seed["companies"] if c["status"] == 2 and c["division"] in codes]
    assert blocked and archived  # the seed shows both
    assert all("backup/restore" in rows[c["division"]] for c in blocked)
    assert all("archived" in rows[c["division"]] for c in archived)

    before = stats(sb)
    first = cli("--json", "exact", "activate", "--all")
    body = first.json()
    assert body["status"] == "partial"
    assert first.exit_code != 0
    by = {c["client"]: c for c in body["data"]["clients"]}
    for company in companies:
        got = by[company["name"]]
        if company["division"] == pending:
            assert got["cause"] == "access_pending"
            continue
        want = expected_cause(company)
        if want in ("activated", "missing"):
            assert got["outcome"] == want, (company, got)
        else:
            assert got["cause"] == want, (company, got)
        if want == "activated":
            assert got["division"] == company["division"]
            assert got["matched_by"] == "vat"
    activated = [c for c in by.values() if c["outcome"] == "activated"]
    assert activated
    # HTTP floor: the pages of system/Divisions, and one probe per activation attempt
    after = stats(sb)
    calls = sum(after["api_calls"].values()) - sum(before["api_calls"].values())
    pages = -(-len(codes) // 60)
    assert calls <= 1 + pages + body["data"]["probes"]  # + one current/Me
    assert sum(after["api_errors"].values()) == sum(before["api_errors"].values())

    rows_before = db("SELECT client_id, division, activated_at FROM activations ORDER BY 1")
    second = cli("--json", "exact", "activate", "--all")
    body2 = second.json()
    assert all(not c["changed"] for c in body2["data"]["clients"])
    by2 = {c["client"]: c for c in body2["data"]["clients"]}
    for c in activated:
        assert by2[c["client"]]["outcome"] == "already_active"
    assert db("SELECT client_id, division, activated_at FROM activations ORDER BY 1") == rows_before

    shown = cli("exact", "divisions", "--json").json()["divisions"]
    held = {d["code"]: d["activated_for"] for d in shown}
    for c in activated:
        assert held[c["division"]] == c["client"]
    unmapped = cli("exact", "divisions", "--unmapped", "--json").json()["divisions"]
    assert not {d["code"] for d in unmapped} & {c["division"] for c in activated}


def test_activate_one_by_name_and_idempotent(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    company = next(
        c for c in seed_clients(world.sb) if expected_cause(c) == "activated" and not c["own_login"]
    )
    assert cli("client", "add", company["name"], "--access-granted").exit_code == 0
    first = cli("--json", "exact", "activate", "--client", company["name"])
    assert first.exit_code == 0, first.stderr
    data = first.json()["data"]
    assert (data["outcome"], data["division"]) == ("activated", company["division"])
    assert data["matched_by"] == "name"
    again = cli("--json", "exact", "activate", "--client", company["name"])
    assert again.exit_code == 0
    assert again.json()["data"]["outcome"] == "already_active"
    assert not again.json()["data"]["changed"]
    gone = cli("exact", "deactivate", "--client", company["name"])
    assert gone.exit_code == 0 and "deactivated" in gone.stderr


def test_overwrite_a_clients_own_link(sandbox_factory, cli, monkeypatch, isolated_home, db):
    world = connected(sandbox_factory, cli, monkeypatch)
    own = next(c for c in seed_clients(world.sb) if c["own_login"])
    assert (
        cli("client", "add", own["name"], "--vat", own["vat_number"], "--access-granted").exit_code
        == 0
    )
    result = connect_inprocess(world, cli, monkeypatch, "--client", own["name"], role="client")
    assert result.exit_code == 0, result.stderr
    (own_id,) = db("SELECT id FROM connections WHERE client_id IS NOT NULL")[0]
    stored = secret_names(isolated_home)
    assert f"connection-{own_id}/tokens" in stored  # the pointer to the chain's token pair

    refused = cli("exact", "activate", "--client", own["name"])
    assert refused.exit_code == 4
    assert "--overwrite" in refused.stderr

    done = cli("--json", "exact", "activate", "--client", own["name"], "--overwrite")
    assert done.exit_code == 0, done.stderr
    data = done.json()["data"]
    assert data["division"] == own["division"]
    assert data["replaced"]["own_link"]["connection_id"] == own_id
    stored = secret_names(isolated_home)
    assert not any(key.startswith(f"connection-{own_id}/") for key in stored)
    assert db("SELECT COUNT(*) FROM connections WHERE client_id IS NOT NULL") == [(0,)]
    log = cli("log", "--client", own["name"], "--json").json()
    actions = [e["action"] for e in log]
    assert "exact.link.replaced" in actions and "exact.activate" in actions


def test_bad_input(sandbox_factory, cli, monkeypatch, isolated_home):
    world = connected(sandbox_factory, cli, monkeypatch)
    visible = world.sb.seed["visible_divisions"]
    assert cli("client", "add", "Klant", "--access-granted").exit_code == 0

    unknown_client = cli("exact", "activate", "--client", "Niemand", "--division", str(visible[0]))
    assert unknown_client.exit_code == 3
    assert cli("exact", "activate", "--client", "Klant", "--division", "12x").exit_code == 2
    assert cli("exact", "activate", "--client", "Klant", "--division", "-3").exit_code == 2
    unknown = cli("exact", "activate", "--client", "Klant", "--division", "999")
    assert unknown.exit_code == 3
    assert "doctor --division 999" in unknown.stderr
    no_match = cli("--json", "exact", "activate", "--client", "Klant")
    assert no_match.exit_code == 3
    assert no_match.json()["errors"][0]["code"] == "not_found"
    assert "doctor --client" in no_match.json()["errors"][0]["hint"]
    assert cli("exact", "activate").exit_code == 2
    assert cli("exact", "activate", "--all", "--client", "Klant").exit_code == 2


def test_a_division_of_another_portals_connection(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    assert cli("exact", "divisions").exit_code == 0
    own = next(c for c in seed_clients(world.sb) if c["own_login"])
    code = next(d for d in world.sb.seed["visible_divisions"] if d != own["division"])
    other = ["--portal", "Ander Kantoor"]
    assert cli("portal", "create", "Ander Kantoor", "--email", "ander@example.nl").exit_code == 0
    assert cli(*other, "client", "add", "Klant", "--access-granted").exit_code == 0
    not_yet = cli(*other, "exact", "activate", "--client", "Klant", "--division", str(code))
    assert not_yet.exit_code == 5 and "exact connect" in not_yet.stderr
    # the other portal connects with another Exact login (--force: connect cannot know the
    # login before the browser), which reaches only its own company
    result = connect_inprocess(world, cli, monkeypatch, *other, "--force", role="client")
    assert result.exit_code == 0, result.stderr
    refused = cli(
        *other, "--json", "exact", "activate", "--client", "Klant", "--division", str(code)
    )
    assert refused.exit_code == 3
    error = refused.json()["errors"][0]
    assert PORTAL in error["message"]
    assert error["details"]["portal"] == PORTAL
