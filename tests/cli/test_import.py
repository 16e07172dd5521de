"""`exactlink client import`: CSV/JSON, delimiters, encodings, bad rows, one transaction."""

from __future__ import annotations

import json

import pytest

# Every test here runs on the local SQLite store and on a team store (PostgreSQL).
pytestmark = pytest.mark.usefixtures("store_backend")

GOOD_CSV = (
    "Name;E-mail;VAT;CoC;Managed;Access_Granted\n"
    "Bakkerij Peeters BV;jan@peeters.be;BE 0403.170.701;;nee;ja\n"
    "Slagerij Janssens;;NL004495445B01;12345678;;\n"
    '"Garage ""De Hoek"" NV";info@dehoek.be;;;no;no\n'
)


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def clients(cli):
    return {c["name"]: c for c in cli("--json", "client", "list").json()}


def test_import_semicolon_csv_with_bom(cli, portal, tmp_path):
    path = write(tmp_path, "klanten.csv", ("\ufeff" + GOOD_CSV).encode("utf-8"))
    result = cli("client", "import", path)
    assert result.exit_code == 0, result.stderr
    assert "3 added, 0 updated, 0 unchanged" in result.stderr
    found = clients(cli)
    assert set(found) == {"Bakkerij Peeters BV", "Slagerij Janssens", 'Garage "De Hoek" NV'}
    assert found["Bakkerij Peeters BV"]["vat"] == "BE0403170701"
    assert found["Bakkerij Peeters BV"]["status"] == "granted"
    assert found["Slagerij Janssens"]["coc"] == "12345678"
    assert found['Garage "De Hoek" NV']["status"] == "pending"


def test_import_json_envelope_and_idempotence(cli, portal, tmp_path):
    path = write(tmp_path, "klanten.csv", GOOD_CSV.replace(";", ","))
    first = cli("--json", "client", "import", path)
    assert first.exit_code == 0
    body = first.json()
    assert body["status"] == "success" and body["errors"] == []
    assert body["data"]["added"] == 3 and body["data"]["format"] == "csv"
    assert body["data"]["rows"][0] == {"line": 2, "name": "Bakkerij Peeters BV", "action": "added"}

    again = cli("--json", "client", "import", path).json()
    assert again["data"]["unchanged"] == 3 and again["data"]["changed"] is False


def test_import_json_file_and_stdin(cli, portal):
    doc = json.dumps(
        {
            "clients": [
                {"name": "A", "vat": "BE0403170701", "managed": False},
                {"Name": "B", "access_granted": True},
            ]
        }
    )
    result = cli("--json", "client", "import", "-", input=doc)
    assert result.exit_code == 0, result.stdout
    assert result.json()["data"]["format"] == "json"
    assert clients(cli)["B"]["status"] == "granted"
    csv_stdin = cli("client", "import", "-", "--format", "csv", input="name\nC\n")
    assert csv_stdin.exit_code == 0
    assert "C" in clients(cli)


def test_dry_run_writes_nothing(cli, portal, tmp_path, db):
    path = write(tmp_path, "k.csv", GOOD_CSV)
    result = cli("--json", "client", "import", path, "--dry-run")
    assert result.exit_code == 0
    assert result.json()["data"]["dry_run"] is True
    assert result.json()["data"]["added"] == 3
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]
    assert "nothing was written" in cli("client", "import", path, "--dry-run").stderr


def test_conflicts_and_update(cli, portal, tmp_path):
    cli("client", "add", "Slagerij Janssens", "--vat", "BE0403170701")
    path = write(tmp_path, "k.csv", GOOD_CSV)
    conflict = cli("--json", "client", "import", path)
    assert conflict.exit_code == 4
    rows = conflict.json()["errors"][0]["details"]["rows"]
    assert rows[0]["details"] == {"line": 3, "name": "Slagerij Janssens"}
    assert list(clients(cli)) == ["Slagerij Janssens"]

    updated = cli("--json", "client", "import", path, "--update")
    assert updated.exit_code == 0
    data = updated.json()["data"]
    assert (data["added"], data["updated"]) == (2, 1)
    assert clients(cli)["Slagerij Janssens"]["vat"] == "NL004495445B01"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n  \n", "is empty"),
        (b"straat;postcode\nA;B\n", "has no column with the client's name"),
        (b"Naam;NAAM\nA;B\n", "the columns 'Naam' and 'NAAM' both hold name"),
        (b"\xff\xfen\x00a\x00", "UTF-16"),
        (b"name,vat\nA,BE0403170701\nB,BE0403170701,extra\n", "line 3: the row has 1 field"),
        (b"name,vat\nA,BE0403170702\n", "line 2: invalid VAT number 'BE0403170702'"),
        (b"name,email\nA,a@b.be\nB,not-mail\n", "line 3: invalid e-mail address 'not-mail'"),
        (b"name\nA\nB\na\n", "line 4: 'a' appears already on line 2"),
        (b"name,vat\nA,BE0403170701\nA,\n", "line 3: 'A' appears already on line 2, with other"),
        (b"name,managed\nA,maybe\n", "managed: 'maybe' is not yes or no"),
        (b"name,vat\n\n,BE0403170701\n", "line 3: the client name is empty"),
        (b'[{"name": "A"}, 3]', "the item is not an object"),
        (b'{"name": ', "is not valid JSON"),
    ],
)
def test_bad_input_aborts_and_writes_nothing(cli, portal, tmp_path, db, content, message):
    path = write(tmp_path, "in.txt", content)
    result = cli("client", "import", path)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert "Hint:" in result.stderr
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]
    body = cli("--json", "client", "import", path).json()
    assert body["status"] == "error"
    assert body["errors"][0]["code"] == "invalid_input"


def test_latin1_is_read_with_a_notice_naming_the_encoding(cli, portal, tmp_path):
    path = write(tmp_path, "k.csv", "name\nCafé Rosé\n".encode("latin-1"))
    result = cli("client", "import", path)
    assert result.exit_code == 0, result.stderr
    assert "is not UTF-8; it was read as Windows-1252 (cp1252)" in result.stderr
    assert "Café Rosé" in clients(cli)


def test_a_byte_undefined_in_cp1252_falls_back_to_latin1(cli, portal, tmp_path):
    path = write(tmp_path, "k.csv", b"name\nA\x81B\n")
    body = cli("--json", "client", "import", path).json()
    assert body["data"]["notices"][0]["details"] == {"encoding": "latin-1"}
    assert "A\x81B" in clients(cli)


def test_forced_encoding(cli, portal, tmp_path, db):
    path = write(tmp_path, "k.csv", b"name,vat\nCaf\xe9 Rose,BE0403170701\n")
    refused = cli("client", "import", path, "--encoding", "utf-8")
    assert refused.exit_code == 2
    assert "is not utf-8: byte 0xE9 on line 2" in refused.stderr
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]
    unknown = cli("client", "import", path, "--encoding", "klingon")
    assert unknown.exit_code == 2 and "Unknown encoding 'klingon'" in unknown.stderr
    utf16 = write(tmp_path, "u.csv", "name\tvat\nCafé Noël\t\n".encode("utf-16"))
    assert cli("client", "import", utf16).exit_code == 2  # UTF-16 only when asked for
    forced = cli("--json", "client", "import", utf16, "--encoding", "utf-16")
    assert forced.exit_code == 0, forced.stdout
    assert forced.json()["data"]["notices"] == []
    assert "Café Noël" in clients(cli)


def test_unknown_columns_are_ignored_with_one_notice_or_refused_when_strict(
    cli, portal, tmp_path, db
):
    path = write(tmp_path, "k.csv", "name,colour,size\nA,red,XL\n")
    strict = cli("client", "import", path, "--strict")
    assert strict.exit_code == 2
    assert "unknown column(s) 'colour', 'size'" in strict.stderr
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]
    human = cli("client", "import", path, "--dry-run")
    assert human.stderr.count("not used by exactlink") == 1
    body = cli("--json", "client", "import", path).json()
    assert body["data"]["added"] == 1
    assert body["data"]["notices"] == [
        {
            "code": "ignored_columns",
            "message": "2 column(s) not used by exactlink were ignored: 'colour', 'size'.",
            "details": {"columns": ["colour", "size"]},
        }
    ]


def test_several_bad_rows_are_all_listed(cli, portal, tmp_path):
    path = write(tmp_path, "k.csv", "name,vat\nA,BE1\nB,BE0403170701\nC,XX\n")
    result = cli("--json", "client", "import", path)
    rows = result.json()["errors"][0]["details"]["rows"]
    assert [r["details"]["line"] for r in rows] == [2, 4]
    human = cli("client", "import", path)
    assert "2 rows cannot be imported; nothing was imported" in human.stderr
    assert "line 2:" in human.stderr and "line 4:" in human.stderr


def test_skip_invalid_imports_the_good_rows(cli, portal, tmp_path):
    path = write(tmp_path, "k.csv", "name,vat\nA,BE1\nB,BE0403170701\nB,\nC,\n")
    result = cli("--json", "client", "import", path, "--skip-invalid")
    assert result.exit_code == 0
    body = result.json()
    assert body["status"] == "partial"
    assert body["data"]["added"] == 2 and body["data"]["skipped"] == 2
    assert [e["details"]["line"] for e in body["errors"]] == [2, 4]
    assert sorted(clients(cli)) == ["B", "C"]
    human = cli("client", "import", path, "--skip-invalid")
    assert "invalid row(s) skipped" in human.stderr


def test_managed_rows_need_billing(cli, portal, billing, tmp_path, db):
    path = write(tmp_path, "k.csv", "name,managed\nA,ja\n")
    result = cli("client", "import", path)
    assert result.exit_code == 2
    assert "billing details" in result.stderr
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]
    cli("portal", "update", portal, *billing)
    assert cli("client", "import", path).exit_code == 0
    assert clients(cli)["A"]["managed"] is True


def test_header_only_is_fine_but_warned(cli, portal, tmp_path):
    result = cli("client", "import", write(tmp_path, "k.csv", "name,vat\n"))
    assert result.exit_code == 0
    assert "no clients" in result.stderr


def test_missing_file_and_bad_format(cli, portal, tmp_path):
    missing = cli("client", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "Cannot read" in missing.stderr
    assert cli("client", "import", "-", "--format", "xml", input="name\n").exit_code == 2


def test_import_without_portal(cli, tmp_path):
    assert cli("client", "import", write(tmp_path, "k.csv", "name\nA\n")).exit_code == 3


def test_import_events_in_the_audit_log(cli, portal, tmp_path):
    cli("client", "import", write(tmp_path, "k.csv", GOOD_CSV))
    events = cli("--json", "log").json()
    assert [e["action"] for e in events][-1] == "client.import"
    assert events[-1]["details"]["added"] == 3
    mine = cli("--json", "log", "--client", "Slagerij Janssens").json()
    assert [(e["action"], e["details"]["via"]) for e in mine] == [("client.add", "import")]
