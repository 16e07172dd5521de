"""`exactlink client add|list|show|update|access|remove` through the CLI."""

from __future__ import annotations

import pytest

from support.postgres import open_store

# Every test here runs on the local SQLite store and on a team store (PostgreSQL).
pytestmark = pytest.mark.usefixtures("store_backend")

NAME = "Bakkerij Peeters BV"


def activate(home, client_name, division=123456):
    """Record an activation directly (the `exact activate` command is another module's)."""
    store = open_store(home)
    with store.transaction() as conn:
        (client_id, portal_id) = conn.execute(
            "SELECT id, portal_id FROM clients WHERE name = ?", (client_name,)
        ).fetchone()
        cur = conn.execute(
            "INSERT INTO connections (portal_id, base_url, app_client_id, status, storage,"
            " created_at, updated_at) VALUES (?, 'https://start.exactonline.be', 'app',"
            " 'disconnected', 'keyring', 'now', 'now')",
            (portal_id,),
        )
        conn.execute(
            "INSERT INTO activations (client_id, connection_id, division, matched_by,"
            " activated_at) VALUES (?, ?, ?, 'vat', 'now')",
            (client_id, cur.lastrowid, division),
        )
    store.close()


# -- add --------------------------------------------------------------------------------------


def test_add_pending_tells_what_to_ask_the_client(cli, portal):
    result = cli("client", "add", NAME, "--vat", "be 0403.170.701", "--email", "Jan@Peeters.BE")
    assert result.exit_code == 0
    assert f"✓ Client '{NAME}' added (pending)." in result.stderr
    assert "info@kantoor.be" in result.stderr
    assert "Toegangsbeheer" in result.stderr
    assert f"exactlink client access '{NAME}' --granted" in result.stderr
    assert result.stdout == ""
    client = cli("--json", "client", "show", NAME).json()
    assert client["status"] == "pending"
    assert client["vat"] == "BE0403170701"
    assert client["email"] == "Jan@peeters.be"


def test_add_json_envelope(cli, portal):
    result = cli("--json", "client", "add", NAME, "--coc", "0403.170.701", "--access-granted")
    assert result.exit_code == 0
    body = result.json()
    assert body["status"] == "success" and body["errors"] == []
    data = body["data"]
    assert data["action"] == "added" and data["changed"] is True
    assert data["client"]["name"] == NAME
    assert data["client"]["status"] == "granted"
    assert data["client"]["coc"] == "0403170701"
    assert data["client"]["access_granted_at"]
    assert "Toegangsbeheer" not in result.stderr


def test_add_is_idempotent(cli, portal):
    assert cli("client", "add", NAME, "--vat", "BE0403170701").exit_code == 0
    again = cli("--json", "client", "add", NAME.upper(), "--vat", "BE 0403 170 701")
    assert again.exit_code == 0
    data = again.json()["data"]
    assert data["changed"] is False and data["action"] == "unchanged"
    assert data["client"]["name"] == NAME
    human = cli("client", "add", NAME)
    assert "nothing changed" in human.stderr
    assert len(cli("--json", "client", "list").json()) == 1
    assert [e["action"] for e in cli("--json", "log", "--client", NAME).json()] == ["client.add"]


def test_add_conflict_and_update(cli, portal):
    cli("client", "add", NAME, "--vat", "BE0403170701")
    conflict = cli("--json", "client", "add", NAME, "--vat", "NL004495445B01")
    assert conflict.exit_code == 4
    error = conflict.json()["errors"][0]
    assert error["code"] == "conflict"
    assert error["details"]["fields"] == ["vat"]
    assert "--update" in error["hint"]
    assert cli("--json", "client", "show", NAME).json()["vat"] == "BE0403170701"

    updated = cli("--json", "client", "add", NAME, "--vat", "NL004495445B01", "--update")
    assert updated.exit_code == 0
    assert updated.json()["data"]["action"] == "updated"
    assert cli("--json", "client", "show", NAME).json()["vat"] == "NL004495445B01"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vat", "BE0403170702"], "Invalid VAT number 'BE0403170702'"),
        (["--vat", "12345"], "has no country prefix"),
        (["--email", "jan@@peeters"], "Invalid e-mail address"),
        (["--coc", "0403.170.702"], "Invalid enterprise number"),
        (["--coc", "1234567"], "Invalid enterprise number"),
    ],
)
def test_add_rejects_invalid_input(cli, portal, db, args, message):
    result = cli("client", "add", NAME, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Hint:" in result.stderr
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]
    body = cli("--json", "client", "add", NAME, *args).json()
    assert body["status"] == "error" and body["errors"][0]["code"] == "invalid_input"


def test_add_managed_needs_billing_details(cli, portal, billing, db):
    result = cli("client", "add", NAME, "--managed")
    assert result.exit_code == 2
    assert "billing details" in result.stderr
    assert "exactlink portal update 'Kantoor Peeters' --billing-name" in result.stderr
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]

    cli("portal", "update", portal, *billing)
    ok = cli("--json", "client", "add", NAME, "--managed")
    assert ok.exit_code == 0
    assert ok.json()["data"]["client"]["managed"] is True


def test_add_without_portal_or_unknown_portal(cli, db):
    none = cli("client", "add", NAME)
    assert none.exit_code == 3
    assert "portal create" in none.stderr
    cli("portal", "create", "K", "--email", "a@b.be")
    unknown = cli("--json", "--portal", "Nope", "client", "add", NAME)
    assert unknown.exit_code == 3
    assert unknown.json()["errors"][0]["message"] == "Portal 'Nope' does not exist."
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]


def test_names_are_per_portal(cli, portal):
    cli("portal", "create", "Ander", "--email", "x@ander.be")
    assert cli("client", "add", NAME).exit_code == 0
    assert cli("--portal", "Ander", "client", "add", NAME, "--vat", "BE0403170701").exit_code == 0
    assert cli("--json", "--portal", "ander", "client", "show", NAME).json()["vat"]


def test_name_with_markup_prints_as_is(cli, portal):
    assert cli("client", "add", "[Acme] B.V.").exit_code == 0
    assert "[Acme] B.V." in cli("client", "list").stdout


# -- list / show ------------------------------------------------------------------------------


def test_list_and_filter_by_status(cli, portal, isolated_home):
    cli("client", "add", "Pending BV")
    cli("client", "add", "Granted BV", "--access-granted", "--vat", "BE0403170701")
    cli("client", "add", "Active BV", "--access-granted")
    activate(isolated_home, "Active BV", 4242)

    human = cli("client", "list")
    assert human.exit_code == 0
    lines = human.stdout.splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATUS"]
    assert [line.split()[0] for line in lines[1:]] == ["Active", "Granted", "Pending"]

    data = cli("--json", "client", "list").json()
    assert {c["name"]: c["status"] for c in data} == {
        "Active BV": "active",
        "Granted BV": "granted",
        "Pending BV": "pending",
    }
    assert next(c for c in data if c["name"] == "Active BV")["division"] == 4242
    for status, expected in [
        ("pending", "Pending BV"),
        ("granted", "Granted BV"),
        ("active", "Active BV"),
    ]:
        only = cli("client", "list", "--status", status, "--json").json()
        assert [c["name"] for c in only] == [expected]
    assert cli("client", "list", "--status", "bogus").exit_code == 2


def test_list_empty(cli, portal):
    result = cli("client", "list")
    assert result.exit_code == 0 and result.stdout == ""
    assert "client add" in result.stderr
    assert cli("client", "list", "--json").json() == []


def test_show(cli, portal):
    cli("client", "add", NAME, "--vat", "BE0403170701", "--coc", "0403170701")
    result = cli("client", "show", NAME.lower())
    assert result.exit_code == 0
    assert "BE0403170701" in result.stdout and "pending" in result.stdout
    assert "Toegangsbeheer" in result.stderr
    missing = cli("--json", "client", "show", "Nope")
    assert missing.exit_code == 3
    assert "Client 'Nope' does not exist" in missing.json()["errors"][0]["message"]
    assert "client list" in missing.json()["errors"][0]["hint"]


# -- update -----------------------------------------------------------------------------------


def test_update_changes_clears_and_renames(cli, portal):
    cli("client", "add", NAME, "--vat", "BE0403170701", "--email", "a@b.be")
    result = cli("--json", "client", "update", NAME, "--email", "", "--coc", "12345678")
    assert result.exit_code == 0
    data = result.json()["data"]
    assert data["fields"] == ["coc", "email"]
    assert data["client"]["email"] is None and data["client"]["coc"] == "12345678"

    same = cli("--json", "client", "update", NAME, "--coc", "1234 5678")
    assert same.json()["data"]["changed"] is False

    renamed = cli("client", "update", NAME, "--rename", "Bakkerij Peeters NV")
    assert renamed.exit_code == 0
    assert cli("client", "show", "Bakkerij Peeters NV").exit_code == 0
    assert cli("client", "show", NAME).exit_code == 3


def test_update_errors(cli, portal):
    cli("client", "add", "A")
    cli("client", "add", "B")
    assert cli("client", "update", "Nope", "--email", "a@b.be").exit_code == 3
    assert cli("client", "update", "A", "--vat", "XX1").exit_code == 2
    assert cli("client", "update", "A", "--rename", "b").exit_code == 4
    assert cli("client", "update", "A", "--managed").exit_code == 2


# -- access -----------------------------------------------------------------------------------


def test_access_granted_and_revoked(cli, portal):
    cli("client", "add", NAME)
    granted = cli("--json", "client", "access", NAME, "--granted")
    assert granted.exit_code == 0
    assert granted.json()["data"]["client"]["status"] == "granted"
    again = cli("--json", "client", "access", NAME, "--granted")
    assert again.json()["data"]["changed"] is False
    human = cli("client", "access", NAME, "--revoked")
    assert human.exit_code == 0 and "pending again" in human.stderr
    assert cli("--json", "client", "show", NAME).json()["status"] == "pending"
    actions = [e["action"] for e in cli("--json", "log", "--client", NAME).json()]
    assert actions == ["client.add", "client.access.granted", "client.access.revoked"]


def test_access_needs_exactly_one_flag(cli, portal):
    cli("client", "add", NAME)
    assert cli("client", "access", NAME).exit_code == 2
    assert cli("client", "access", NAME, "--granted", "--revoked").exit_code == 2
    assert cli("client", "access", "Nope", "--granted").exit_code == 3


def test_revoking_an_active_client_is_refused(cli, portal, isolated_home):
    cli("client", "add", NAME, "--access-granted")
    activate(isolated_home, NAME)
    result = cli("client", "access", NAME, "--revoked")
    assert result.exit_code == 4
    assert "exact deactivate" in result.stderr


# -- remove -----------------------------------------------------------------------------------


def test_remove(cli, portal, db):
    cli("client", "add", NAME)
    assert cli("client", "remove", NAME).exit_code == 2  # no terminal: --yes needed
    result = cli("--json", "client", "remove", NAME, "--yes")
    assert result.exit_code == 0
    assert result.json()["data"]["action"] == "removed"
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]
    assert cli("client", "remove", NAME, "--yes").exit_code == 3
    actions = [e["action"] for e in cli("--json", "log", "--client", NAME).json()]
    assert actions == ["client.add", "client.remove"]


def test_remove_active_client_needs_force(cli, portal, isolated_home, db):
    cli("client", "add", NAME, "--access-granted")
    activate(isolated_home, NAME)
    refused = cli("client", "remove", NAME, "--yes")
    assert refused.exit_code == 4
    assert "--force" in refused.stderr
    assert cli("client", "remove", NAME, "--yes", "--force").exit_code == 0
    assert db("SELECT COUNT(*) FROM activations") == [(0,)]


def test_client_add_as_a_subprocess(run_exactlink):
    assert run_exactlink("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    result = run_exactlink("client", "add", NAME, "--json")
    assert result.exit_code == 0
    assert result.json()["data"]["client"]["status"] == "pending"
    assert "Toegangsbeheer" in result.stderr
    conflict = run_exactlink("client", "add", NAME, "--vat", "BE0403170701")
    assert conflict.exit_code == 4
    assert conflict.stderr.startswith("Error: Client 'Bakkerij Peeters BV' exists already")
