"""One company, one client: `client add` and `client update` refuse a VAT or KvK/KBO number that
another client of the portal has (exit 4), and write nothing."""

from __future__ import annotations


def test_add_and_update_refuse_another_clients_number(cli, db):
    assert cli("portal", "create", "Kantoor", "--email", "k@example.nl").exit_code == 0
    assert cli("client", "add", "Bakkerij", "--vat", "NL123456782B01").exit_code == 0
    assert cli("client", "add", "Peeters", "--vat", "BE0403170701").exit_code == 0
    assert cli("client", "add", "Slagerij", "--coc", "12345678").exit_code == 0

    twin = cli("--json", "client", "add", "Bakkerij Twee", "--vat", "NL 1234.56.782.B01")
    assert twin.exit_code == 4
    error = twin.json()["errors"][0]
    assert error["details"] == {"client": "Bakkerij", "number": "NL123456782B01"}
    assert db("SELECT count(*) FROM clients WHERE name = 'Bakkerij Twee'") == [(0,)]

    # update: the VAT number, the KvK number, and a KBO number that is a Belgian VAT number
    for option, value, owner in (
        ("--vat", "NL123456782B01", "Bakkerij"),
        ("--coc", "12345678", "Slagerij"),
        ("--coc", "0403.170.701", "Peeters"),
    ):
        result = cli(
            "--json",
            "client",
            "update",
            "Slagerij" if owner != "Slagerij" else "Bakkerij",
            option,
            value,
        )
        assert result.exit_code == 4, (option, value, result.stdout)
        assert result.json()["errors"][0]["details"]["client"] == owner
        human = cli(
            "client", "update", "Slagerij" if owner != "Slagerij" else "Bakkerij", option, value
        )
        assert human.exit_code == 4 and f"'{owner}'" in human.stderr
    assert db("SELECT name, vat, coc FROM clients ORDER BY name") == [
        ("Bakkerij", "NL123456782B01", None),
        ("Peeters", "BE0403170701", None),
        ("Slagerij", None, "12345678"),
    ]
    # Its own number again, or a new one, is fine.
    assert cli("client", "update", "Bakkerij", "--vat", "NL123456782B01").exit_code == 0
    assert cli("client", "update", "Slagerij", "--vat", "NL004495445B01").exit_code == 0
