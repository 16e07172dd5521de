"""`exactlink client import` of the files firms really have (tests/data/import/): what Excel on
Windows writes, Belgian and French headers, practice software's extra columns, lists pasted
twice, tab-separated text. Each: the clients that land, the notices, the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from support.real import missing

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def listed(cli) -> dict[str, dict]:
    return {c["name"]: c for c in cli("--json", "client", "list").json()}


def imported(cli, name: str, *args: str) -> dict:
    result = cli("--json", "client", "import", str(DATA / name), *args)
    assert result.exit_code == 0, result.stdout
    body = result.json()
    assert body["status"] == "success" and body["errors"] == []
    return body["data"]


def notices(data: dict) -> dict[str, dict]:
    return {n["code"]: n for n in data["notices"]}


def test_excel_on_windows_cp1252_with_semicolons(cli, portal):
    data = imported(cli, "excel-windows-cp1252.csv")
    assert data["added"] == 4
    assert notices(data)["encoding"]["details"] == {"encoding": "cp1252"}
    assert set(notices(data)) == {"encoding"}  # the trailing empty header cells are no columns
    found = listed(cli)
    assert set(found) == {
        "Café De Zwaan B.V.",
        "Kapsalon ’t Hoekje",  # ’ is 0x92: cp1252, not Latin-1
        "Bakkerij Müller & Zn.",
        "Élan Coöperatie U.A.",
    }
    assert found["Café De Zwaan B.V."]["vat"] == "NL189275054B01"
    assert found["Café De Zwaan B.V."]["coc"] == "34567890"
    assert found["Café De Zwaan B.V."]["email"] == "info@dezwaan.nl"
    assert found["Bakkerij Müller & Zn."]["coc"] == "12345678"


def test_excel_on_windows_human_output_names_the_encoding(cli, portal):
    result = cli("client", "import", str(DATA / "excel-windows-cp1252.csv"))
    assert result.exit_code == 0
    assert "it was read as Windows-1252 (cp1252)" in result.stderr
    assert "4 added, 0 updated, 0 unchanged" in result.stderr


def test_belgian_file_with_ondernemingsnummer(cli, portal):
    data = imported(cli, "belgie-ondernemingsnummer.csv")
    assert data["added"] == 3 and data["notices"] == []  # UTF-8 with BOM: nothing to say
    found = listed(cli)
    assert found["Brouwerij Van Steenberge NV"]["coc"] == "0231681827"
    assert found["Brouwerij Van Steenberge NV"]["email"] == "info@vansteenberge.be"
    assert found["Brouwerij Van Steenberge NV"]["status"] == "granted"  # Toegang verleend: ja
    assert found["Frituur 't Pleintje BV"]["coc"] == "0240708072"
    assert found["Frituur 't Pleintje BV"]["status"] == "pending"
    assert found["Boekhandel De Groene Waterman"]["coc"] == "0213846792"


def test_french_headers(cli, portal):
    data = imported(cli, "wallonie-francais.csv")
    assert data["added"] == 2 and data["notices"] == []
    found = listed(cli)
    assert found["Boulangerie Dupont SRL"]["coc"] == "0296800006"
    assert found["Boulangerie Dupont SRL"]["vat"] == "BE0296800006"
    assert found["Boulangerie Dupont SRL"]["email"] == "contact@dupont.be"
    assert found["Garage Lefèvre, Fils & Cie"]["vat"] == "BE0253158023"


def test_practice_software_export_with_ten_extra_columns(cli, portal):
    data = imported(cli, "praktijksoftware-extra-kolommen.csv")
    assert data["added"] == 3
    ignored = notices(data)["ignored_columns"]["details"]["columns"]
    assert ignored == [
        "Relatienummer",
        "Contactpersoon",
        "Adres",
        "Postcode",
        "Plaats",
        "Land",
        "Telefoon",
        "IBAN",
        "Aangemaakt op",
        "Status",
    ]
    found = listed(cli)
    jansen = found["Installatiebedrijf Jansen B.V."]  # Bedrijfsnaam, not the Contactpersoon
    assert (jansen["vat"], jansen["coc"], jansen["email"]) == (
        "NL837394673B01",
        "87654321",
        "piet@jansen-install.nl",
    )
    assert found["Tuincentrum Groen"]["coc"] == "11223344"


def test_practice_software_export_refused_when_strict(cli, portal, db):
    result = cli("client", "import", str(DATA / "praktijksoftware-extra-kolommen.csv"), "--strict")
    assert result.exit_code == 2
    assert "unknown column(s) 'Relatienummer', 'Contactpersoon'" in result.stderr
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]


def test_identical_rows_are_imported_once_with_a_notice(cli, portal, db):
    data = imported(cli, "dubbele-rijen.csv")
    assert (data["added"], data["duplicates"]) == (3, 3)
    assert notices(data)["duplicates"]["details"]["rows"] == [
        {"line": 4, "same_as": 2, "name": "Drukkerij Peeters"},
        {"line": 5, "same_as": 3, "name": "Garage Willems"},  # BE 0220.800.011: the same VAT
        {"line": 6, "same_as": 2, "name": "Drukkerij Peeters"},
    ]
    assert sorted(listed(cli)) == ["Drukkerij Peeters", "Garage Willems", "Slagerij Claes"]
    assert db("SELECT COUNT(*) FROM events WHERE action = 'client.add'") == [(3,)]
    human = cli("client", "import", str(DATA / "dubbele-rijen.csv"))
    assert human.exit_code == 0
    assert "3 row(s) repeat an earlier row exactly and were imported once" in human.stderr
    assert "0 added, 0 updated, 3 unchanged" in human.stderr


def test_conflicting_rows_are_still_refused_with_their_lines(cli, portal, tmp_path, db):
    text = (DATA / "dubbele-rijen.csv").read_text("utf-8") + "Slagerij Claes,,andere@claes.be\n"
    path = tmp_path / "k.csv"
    path.write_text(text, encoding="utf-8")
    result = cli("--json", "client", "import", str(path))
    assert result.exit_code == 2
    rows = result.json()["errors"][0]["details"]["rows"]
    assert [(r["details"]["line"], r["details"]["name"]) for r in rows] == [(8, "Slagerij Claes")]
    assert "appears already on line 7" in rows[0]["message"]
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]


def test_tab_separated_text(cli, portal):
    data = imported(cli, "tab-gescheiden.txt")
    assert data["added"] == 2 and data["format"] == "csv" and data["notices"] == []
    found = listed(cli)
    assert found["Notariskantoor Smit"]["vat"] == "NL178983184B01"
    assert found["Notariskantoor Smit"]["email"] == "secretariaat@smit-notaris.nl"
    assert found["Notariskantoor Smit"]["managed"] is False
    assert found["Hoveniersbedrijf Bloem, Zoon & Co"]["coc"] == "22334455"


@pytest.mark.parametrize(
    "header",
    [
        "Naam",
        "NAAM",
        "Bedrijfsnaam",
        "Klant",
        "Raison sociale",
        "Dénomination",
        "Company name",
        "Klantnaam",
    ],
)
def test_name_headers_people_write(cli, portal, tmp_path, header):
    path = tmp_path / "k.csv"
    path.write_text(f"{header};BTW-nummer\nA;BE0403170701\n", encoding="utf-8")
    assert cli("client", "import", str(path)).exit_code == 0
    assert listed(cli)["A"]["vat"] == "BE0403170701"


@pytest.mark.parametrize(
    ("header", "value", "field", "stored"),
    [
        ("BTW-nummer", "BE0403170701", "vat", "BE0403170701"),
        ("btw nr.", "BE0403170701", "vat", "BE0403170701"),
        ("TVA", "BE0403170701", "vat", "BE0403170701"),
        ("N° TVA", "BE0403170701", "vat", "BE0403170701"),
        ("VAT number", "BE0403170701", "vat", "BE0403170701"),
        ("Ondernemingsnummer", "0403.170.701", "coc", "0403170701"),
        ("KBO-nummer", "0403.170.701", "coc", "0403170701"),
        ("Numéro d'entreprise", "0403.170.701", "coc", "0403170701"),
        ("numero d entreprise", "0403.170.701", "coc", "0403170701"),
        ("KvK-nummer", "12345678", "coc", "12345678"),
        ("E-mail", "a@b.be", "email", "a@b.be"),
        ("E-mailadres", "a@b.be", "email", "a@b.be"),
        ("Courriel", "a@b.be", "email", "a@b.be"),
    ],
)
def test_other_headers_people_write(cli, portal, tmp_path, header, value, field, stored):
    path = tmp_path / "k.csv"
    path.write_text(f'Naam;"{header}"\nA;{value}\n', encoding="utf-8")
    result = cli("--json", "client", "import", str(path))
    assert result.exit_code == 0, result.stdout
    assert result.json()["data"]["notices"] == []
    assert listed(cli)["A"][field] == stored


def test_json_import_maps_the_same_headers_and_notes_unknown_keys(cli, portal):
    doc = '[{"Bedrijfsnaam": "A", "BTW-nummer": "BE0403170701", "telefoon": "1"}]'
    result = cli("--json", "client", "import", "-", input=doc)
    assert result.exit_code == 0
    assert notices(result.json()["data"])["ignored_columns"]["details"] == {"columns": ["telefoon"]}
    assert listed(cli)["A"]["vat"] == "BE0403170701"
    strict = cli("client", "import", "-", "--strict", input=doc)
    assert strict.exit_code == 2 and "'telefoon'" in strict.stderr


def test_real_subprocess_reads_the_cp1252_file(run_exactlink, isolated_home):
    created = run_exactlink("portal", "create", "Kantoor", "--email", "info@kantoor.be")
    assert created.exit_code == 0, created.stderr
    result = run_exactlink("--json", "client", "import", str(DATA / "excel-windows-cp1252.csv"))
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["added"] == 4
    listed_now = run_exactlink("--json", "client", "list").json()
    assert "Kapsalon ’t Hoekje" in {c["name"] for c in listed_now}


def test_xlsx_workbook(cli, portal):
    try:
        import openpyxl  # noqa: F401  (the optional extra exactlink[xlsx]; in the test extra)
    except ImportError:
        missing("openpyxl (the xlsx extra)")
    data = imported(cli, "klanten.xlsx")
    assert (data["format"], data["added"]) == ("xlsx", 3)
    assert notices(data)["ignored_columns"]["details"] == {"columns": ["Telefoon", "Klant sinds"]}
    assert [row["line"] for row in data["rows"]] == [2, 4, 5]  # the sheet's row numbers
    found = listed(cli)
    visser = found["Accountantskantoor Visser B.V."]
    assert (visser["vat"], visser["coc"], visser["email"]) == (
        "NL189275054B01",
        "34567890",  # a number cell in Excel, read without ".0"
        "info@visser.nl",
    )
    assert found["Brasserie Het Anker"]["vat"] == "BE0403170701"
    assert found["Fietsenmakerij Bakker"]["coc"] == "12345678"


def test_xlsx_without_openpyxl_says_how_to_get_it(cli, portal, monkeypatch, db):
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if the extra were not installed
    result = cli("client", "import", str(DATA / "klanten.xlsx"))
    assert result.exit_code == 2
    assert "needs openpyxl" in result.stderr and "exactlink[xlsx]" in result.stderr
    assert db("SELECT COUNT(*) FROM clients") == [(0,)]


def test_a_broken_xlsx_is_a_clear_error(cli, portal, tmp_path):
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        missing("openpyxl (the xlsx extra)")
    path = tmp_path / "kapot.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    result = cli("client", "import", str(path))
    assert result.exit_code == 2
    assert "is not an .xlsx workbook" in result.stderr
