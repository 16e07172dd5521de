"""`exactlink portal ...` through the CLI: output, --json, exit codes, state afterwards."""

from __future__ import annotations

import json
import tomllib

import pytest

from support.postgres import open_store

# Every test here runs on the local SQLite store and on a team store (PostgreSQL).
pytestmark = pytest.mark.usefixtures("store_backend")


def config(home):
    path = home / "config.toml"
    return tomllib.loads(path.read_text("utf-8")) if path.exists() else {}


def add_connection(home, portal_name, status="connected"):
    store = open_store(home)
    with store.transaction() as conn:
        (portal_id,) = conn.execute(
            "SELECT id FROM portals WHERE name = ?", (portal_name,)
        ).fetchone()
        conn.execute(
            "INSERT INTO connections (portal_id, base_url, app_client_id, status, storage,"
            " created_at, updated_at) VALUES (?, 'https://start.exactonline.be', 'app', ?,"
            " 'keyring', 'now', 'now')",
            (portal_id, status),
        )
    store.close()


# -- create ---------------------------------------------------------------------------------------


def test_create_first_portal_becomes_default(cli, isolated_home):
    result = cli("portal", "create", "Kantoor Peeters", "--email", "Info@Kantoor.BE")
    assert result.exit_code == 0
    assert "✓ Portal 'Kantoor Peeters' created." in result.stderr
    assert "default portal" in result.stderr
    assert result.stdout == ""
    assert config(isolated_home)["default_portal"] == "Kantoor Peeters"

    second = cli("--json", "portal", "create", "Kantoor Janssens", "--email", "a@janssens.nl")
    body = second.json()
    assert body["status"] == "success"
    assert body["data"]["is_default"] is False
    assert config(isolated_home)["default_portal"] == "Kantoor Peeters"


def test_create_json_envelope_with_billing(cli, billing):
    result = cli(
        "portal",
        "create",
        "Kantoor Peeters",
        "--email",
        "info@kantoor.be",
        "--vat",
        "be 0403.170.701",
        *billing,
        "--json",
    )
    assert result.exit_code == 0
    body = result.json()
    assert body["schema_version"] == 1 and body["errors"] == []
    data = body["data"]
    assert data["action"] == "created" and data["changed"] is True and data["is_default"] is True
    assert data["portal"]["email"] == "info@kantoor.be"
    assert data["portal"]["vat"] == "BE0403170701"
    assert data["portal"]["billing_email"] == "facturen@kantoor.be"


def test_create_is_idempotent_and_conflicts_on_other_data(cli, portal):
    again = cli("--json", "portal", "create", "kantoor peeters", "--email", "info@kantoor.be")
    assert again.exit_code == 0
    assert again.json()["data"]["changed"] is False
    assert "nothing changed" in cli("portal", "create", portal, "--email", "info@kantoor.be").stderr

    other = cli("--json", "portal", "create", portal, "--email", "other@kantoor.be")
    assert other.exit_code == 4
    body = other.json()
    assert body["status"] == "error" and body["errors"][0]["code"] == "conflict"
    assert "portal update" in body["errors"][0]["hint"]
    shown = cli("--json", "portal", "show", portal).json()
    assert shown["email"] == "info@kantoor.be"


def test_create_rejects_bad_input_and_writes_nothing(cli, isolated_home):
    bad_email = cli("portal", "create", "K", "--email", "not-an-address")
    assert bad_email.exit_code == 2
    assert "Invalid e-mail address 'not-an-address'" in bad_email.stderr
    assert "Hint:" in bad_email.stderr
    bad_vat = cli("--json", "portal", "create", "K", "--email", "a@b.be", "--vat", "BE0403170702")
    assert bad_vat.exit_code == 2
    assert "check digits" in bad_vat.json()["errors"][0]["message"]
    empty = cli("portal", "create", "   ", "--email", "a@b.be")
    assert empty.exit_code == 2 and "name is empty" in empty.stderr
    long = cli("portal", "create", "x" * 200, "--email", "a@b.be")
    assert long.exit_code == 2 and "at most 120" in long.stderr
    assert cli("--json", "portal", "list").json() == []
    assert "default_portal" not in config(isolated_home)


def test_missing_email_is_a_usage_error(cli):
    assert cli("portal", "create", "K").exit_code == 2


# -- list / show ------------------------------------------------------------------------------


def test_list_marks_the_default(cli, portal):
    cli("portal", "create", "Ander Kantoor", "--email", "x@ander.be")
    cli("client", "add", "Bakkerij")
    result = cli("portal", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["DEFAULT", "NAME", "EMAIL", "CLIENTS", "BILLING"]
    default_line = next(line for line in lines if "Kantoor Peeters" in line)
    assert default_line.startswith("*")
    assert not next(line for line in lines if "Ander Kantoor" in line).startswith("*")

    data = cli("portal", "list", "--json").json()
    assert [p["name"] for p in data] == ["Ander Kantoor", "Kantoor Peeters"]
    assert [p["is_default"] for p in data] == [False, True]
    assert [p["client_count"] for p in data] == [0, 1]


def test_list_when_empty(cli):
    result = cli("portal", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "portal create" in result.stderr


def test_show_counts_clients_by_status_and_connection(cli, portal, isolated_home):
    cli("client", "add", "A")
    cli("client", "add", "B", "--access-granted")
    cli("client", "add", "C", "--access-granted")
    data = cli("portal", "show", "--json").json()
    assert data["name"] == portal and data["is_default"] is True
    assert data["clients"] == {"pending": 1, "granted": 2, "active": 0, "total": 3}
    assert data["connection"] is None
    assert data["has_billing"] is False

    add_connection(isolated_home, portal, "needs-reconnect")
    human = cli("portal", "show", portal)
    assert human.exit_code == 0
    assert "3 (1 pending, 2 granted, 0 active)" in human.stdout
    assert "needs-reconnect" in human.stdout


def test_show_unknown_portal(cli, portal):
    result = cli("--json", "portal", "show", "Nope")
    assert result.exit_code == 3
    assert result.json()["errors"][0]["code"] == "not_found"
    human = cli("portal", "show", "Nope")
    assert "Portal 'Nope' does not exist." in human.stderr


def test_show_without_any_portal(cli):
    result = cli("portal", "show")
    assert result.exit_code == 3
    assert "portal create" in result.stderr


# -- use / update -----------------------------------------------------------------------------


def test_use_switches_the_default(cli, portal, isolated_home):
    cli("portal", "create", "Ander Kantoor", "--email", "x@ander.be")
    result = cli("--json", "portal", "use", "ander kantoor")
    assert result.exit_code == 0
    assert result.json()["data"]["portal"]["name"] == "Ander Kantoor"
    assert config(isolated_home)["default_portal"] == "Ander Kantoor"
    assert cli("client", "add", "Z").exit_code == 0
    assert cli("--json", "client", "list").json()[0]["name"] == "Z"
    assert cli("--json", "--portal", portal, "client", "list").json() == []
    assert cli("portal", "use", "Nope").exit_code == 3


def test_update_changes_clears_and_renames(cli, portal, isolated_home, billing):
    result = cli("--json", "portal", "update", portal, *billing, "--vat", "NL004495445B01")
    assert result.exit_code == 0
    data = result.json()["data"]
    assert data["changed"] is True
    assert data["fields"] == ["address", "billing_email", "billing_name", "vat"]
    assert data["portal"]["vat"] == "NL004495445B01"

    same = cli("--json", "portal", "update", portal, "--vat", "NL 0044.95445.B01")
    assert same.json()["data"]["changed"] is False

    cleared = cli("--json", "portal", "update", portal, "--vat", "")
    assert cleared.json()["data"]["portal"]["vat"] is None

    renamed = cli("portal", "update", portal, "--rename", "Kantoor Peeters & Zn")
    assert renamed.exit_code == 0
    assert config(isolated_home)["default_portal"] == "Kantoor Peeters & Zn"
    assert cli("portal", "show", portal).exit_code == 3


def test_update_bad_input(cli, portal):
    assert cli("portal", "update", portal, "--email", "").exit_code == 2
    assert cli("portal", "update", portal, "--billing-email", "x@").exit_code == 2
    assert cli("portal", "update", "Nope", "--email", "a@b.be").exit_code == 3
    cli("portal", "create", "Ander", "--email", "a@b.be")
    clash = cli("portal", "update", portal, "--rename", "ANDER")
    assert clash.exit_code == 4


# -- delete -----------------------------------------------------------------------------------


def test_delete_needs_yes_without_a_terminal(cli, portal):
    result = cli("portal", "delete", portal)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert cli("portal", "show", portal).exit_code == 0


def test_delete_empty_portal_clears_the_default(cli, portal, isolated_home):
    result = cli("--json", "portal", "delete", portal, "--yes")
    assert result.exit_code == 0
    data = result.json()["data"]
    assert data["action"] == "deleted" and data["is_default"] is True
    assert "default_portal" not in config(isolated_home)
    assert cli("--json", "portal", "list").json() == []
    assert cli("portal", "delete", portal, "--yes").exit_code == 3


def test_delete_refuses_with_clients_unless_force(cli, portal, db):
    cli("client", "add", "A")
    cli("client", "add", "B")
    refused = cli("--json", "portal", "delete", portal, "--yes")
    assert refused.exit_code == 4
    error = refused.json()["errors"][0]
    assert "2 client(s)" in error["message"] and "--force" in error["hint"]
    assert db("SELECT COUNT(*) FROM clients") == [(2,)]

    forced = cli("--json", "portal", "delete", portal, "--yes", "--force")
    assert forced.exit_code == 0
    assert forced.json()["data"]["clients_removed"] == 2
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]
    assert db("SELECT COUNT(*) FROM portals") == [(0,)]
    events = cli("--json", "log").json()
    last = events[-1]
    assert last["action"] == "portal.delete"
    assert last["details"] == {"clients_removed": 2, "connections_removed": 0, "force": True}


def test_delete_refuses_a_live_connection_even_with_force(cli, portal, isolated_home, db):
    add_connection(isolated_home, portal)
    result = cli("portal", "delete", portal, "--yes", "--force")
    assert result.exit_code == 4
    assert "exact disconnect" in result.stderr
    assert db("SELECT COUNT(*) FROM portals") == [(1,)]


def test_delete_with_a_disconnected_connection(cli, portal, isolated_home, db):
    add_connection(isolated_home, portal, "disconnected")
    refused = cli("portal", "delete", portal, "--yes")
    assert refused.exit_code == 4
    assert "1 disconnected Exact Online connection(s)" in refused.stderr
    assert "0 client(s)" not in refused.stderr
    forced = cli("--json", "portal", "delete", portal, "--yes", "--force")
    assert forced.exit_code == 0
    assert forced.json()["data"]["connections_removed"] == 1
    assert db("SELECT COUNT(*) FROM connections") == [(0,)]


def test_portal_events_in_the_audit_log(cli, portal):
    cli("portal", "update", portal, "--vat", "BE0403170701")
    cli("portal", "use", portal)
    actions = [e["action"] for e in cli("--json", "log").json()]
    assert actions[:2] == ["portal.create", "portal.update"]
    human = cli("log")
    assert "portal.create" in human.stdout and "Kantoor Peeters" in human.stdout


def test_portal_list_as_a_subprocess(run_exactlink, isolated_home):
    created = run_exactlink("portal", "create", "[Acme] B.V.", "--email", "a@acme.be", "--json")
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["data"]["portal"]["name"] == "[Acme] B.V."
    listed = run_exactlink("portal", "list")
    assert "[Acme] B.V." in listed.stdout
