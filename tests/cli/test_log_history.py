"""`exactlink log --client NAME` keeps a client's history across a rename, and does not mix in
the history of another client that had the same name earlier."""

from __future__ import annotations


def actions(cli, name: str, *extra: str) -> list[tuple[str, str]]:
    result = cli("--json", *extra, "log", "--client", name)
    assert result.exit_code == 0, result.stderr
    return [(e["action"], e["client"]) for e in result.json()]


def test_history_follows_renames(cli, portal):
    assert cli("client", "add", "Bakkerij Peeters", "--vat", "BE0403170701").exit_code == 0
    assert cli("client", "access", "Bakkerij Peeters", "--granted").exit_code == 0
    assert cli("client", "update", "Bakkerij Peeters", "--rename", "Peeters BV").exit_code == 0
    assert cli("client", "update", "Peeters BV", "--email", "info@peeters.be").exit_code == 0
    assert cli("client", "update", "Peeters BV", "--rename", "Peeters & Zn BV").exit_code == 0
    assert actions(cli, "Peeters & Zn BV") == [
        ("client.add", "Bakkerij Peeters"),
        ("client.access.granted", "Bakkerij Peeters"),
        ("client.update", "Peeters BV"),
        ("client.update", "Peeters BV"),
        ("client.update", "Peeters & Zn BV"),
    ]
    human = cli("log", "--client", "peeters & zn bv")  # names compare without case
    assert human.exit_code == 0
    assert "client.add" in human.stdout and "Bakkerij Peeters" in human.stdout


def test_a_new_client_with_an_old_name_has_its_own_history(cli, portal):
    cli("client", "add", "A")
    cli("client", "update", "A", "--rename", "B")
    cli("client", "add", "A", "--email", "nieuw@a.be")
    assert actions(cli, "A") == [("client.add", "A")]
    assert actions(cli, "B") == [("client.add", "A"), ("client.update", "B")]
    cli("client", "remove", "B", "--yes")
    cli("client", "add", "B")
    assert actions(cli, "B") == [("client.add", "B")]


def test_a_removed_client_keeps_its_history(cli, portal):
    cli("client", "add", "Weg BV")
    cli("client", "update", "Weg BV", "--email", "weg@weg.be")
    cli("client", "remove", "Weg BV", "--yes")
    assert [a for a, _ in actions(cli, "Weg BV")] == [
        "client.add",
        "client.update",
        "client.remove",
    ]
    assert actions(cli, "Nooit Bestaan") == []


def test_history_stays_within_the_portal(cli, portal):
    cli("portal", "create", "Tweede", "--email", "tweede@kantoor.be")
    cli("client", "add", "X")
    cli("--portal", "Tweede", "client", "add", "Y")
    cli("--portal", "Tweede", "client", "update", "Y", "--rename", "X")
    assert actions(cli, "X", "--portal", "Tweede") == [
        ("client.add", "Y"),
        ("client.update", "X"),
    ]
    assert actions(cli, "X", "--portal", portal) == [("client.add", "X")]
