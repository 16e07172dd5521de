"""`exactlink client export`: Excel-friendly CSV and JSON that `client import` reads back
unchanged into an empty portal; formulas neutralised; the file written atomically, 0600."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
FORMULAS = ['=HYPERLINK("http://evil","x")', "+31 Bouw BV", "-Min BV", "@Home BV"]
KEYS = ("name", "email", "vat", "coc", "managed", "status")


@pytest.fixture
def firm(cli, billed_portal):
    """A portal with clients of every kind: imported, granted, managed, formula-like names."""
    for name in ("excel-windows-cp1252.csv", "belgie-ondernemingsnummer.csv"):
        assert cli("client", "import", str(DATA / name)).exit_code == 0
    for name in FORMULAS:
        added = cli("client", "add", "--email", "-boekhouding@peeters.be", "--", name)
        assert added.exit_code == 0, added.stderr
    assert cli("client", "add", "Beheerd BV", "--managed", "--access-granted").exit_code == 0
    return billed_portal


def state(cli, portal: str) -> list[dict]:
    clients = cli("--portal", portal, "--json", "client", "list").json()
    return [{key: client[key] for key in KEYS} for client in clients]


def exported(cli, *args: str, env: dict | None = None) -> bytes:
    result = cli("client", "export", *args, env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout.encode("utf-8")


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--format", "csv", "--delimiter", ";"),
        ("--format", "csv", "--delimiter", "tab"),
        ("--format", "json"),
    ],
)
def test_an_export_imports_back_unchanged_into_an_empty_portal(cli, firm, tmp_path, args):
    path = tmp_path / "export.out"
    result = cli("client", "export", *args, "--output", str(path))
    assert result.exit_code == 0, result.stderr
    assert cli("portal", "create", "Leeg", "--email", "leeg@kantoor.be").exit_code == 0
    assert cli("portal", "update", "Leeg", "--billing-name", "B", "--billing-email", "b@b.be",
               "--address", "A 1").exit_code == 0  # fmt: skip
    back = cli("--portal", "Leeg", "--json", "client", "import", str(path), "--strict")
    assert back.exit_code == 0, back.stdout
    assert back.json()["data"]["notices"] == []
    before = state(cli, firm)
    assert len(before) == 12
    assert state(cli, "Leeg") == before
    again = cli("--portal", "Leeg", "--json", "client", "import", str(path)).json()
    assert again["data"]["unchanged"] == 12 and again["data"]["changed"] is False


def test_csv_is_excel_friendly(cli, firm):
    data = exported(cli, env={"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_NUMERIC": ""})
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the accents right
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "name,email,vat,coc,managed,access_granted"
    rows = list(csv.DictReader(io.StringIO(text)))
    peeters = next(r for r in rows if r["name"] == "Brouwerij Van Steenberge NV")
    assert (peeters["coc"], peeters["access_granted"], peeters["managed"]) == (
        "0231681827",
        "yes",
        "no",
    )
    assert any(r["name"] == "Kapsalon ’t Hoekje" for r in rows)


@pytest.mark.parametrize(
    ("args", "env", "delimiter"),
    [
        ((), {"LANG": "en_US.UTF-8"}, ","),
        ((), {"LANG": "nl_BE.UTF-8"}, ";"),
        ((), {"LANG": "fr_BE.UTF-8"}, ";"),
        ((), {"LANG": "C.UTF-8", "LC_NUMERIC": "de_DE.UTF-8"}, ";"),
        (("--lang", "nl"), {"LANG": "C.UTF-8"}, ";"),
        (("--lang", "en"), {"LANG": "nl_NL.UTF-8"}, ";"),  # Excel follows the system's locale
        ((), {"LANG": "nl_BE.UTF-8", "LC_ALL": "en_GB.UTF-8"}, ","),
        (("client", "export", "--delimiter", ","), {"LANG": "nl_BE.UTF-8"}, ","),
    ],
)
def test_the_delimiter_follows_the_language_and_locale(cli, portal, args, env, delimiter):
    base = {"LC_ALL": "", "LC_NUMERIC": "", "LANG": "", "EXACTLINK_LANG": ""}
    command = args if args[:1] == ("client",) else (*args, "client", "export")
    result = cli(*command, env={**base, **env})
    assert result.exit_code == 0, result.stderr
    header = result.stdout.lstrip("\ufeff").splitlines()[0]
    assert header == delimiter.join(["name", "email", "vat", "coc", "managed", "access_granted"])


def test_formulas_are_neutralised(cli, firm):
    text = exported(cli).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    names = {row[0] for row in rows}
    assert {"'" + name for name in FORMULAS} <= names
    assert "'-boekhouding@peeters.be" in cells
    as_json = json.loads(exported(cli, "--format", "json"))
    assert {c["name"] for c in as_json} >= set(FORMULAS)  # JSON is data, not a spreadsheet


def test_import_reads_a_neutralised_value_back(cli, portal, tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("name;email\n'=1+1;'-x@kantoor.be\n'Quoted\n", encoding="utf-8")
    assert cli("client", "import", str(path)).exit_code == 0
    names = {c["name"]: c for c in cli("--json", "client", "list").json()}
    assert names["=1+1"]["email"] == "-x@kantoor.be"
    assert "'Quoted" in names  # only a ' before a formula character is ours


def test_output_file_is_private_and_replaced_atomically(cli, firm, tmp_path):
    folder = tmp_path / "Documenten"
    folder.mkdir(mode=0o755)
    target = folder / "klanten.csv"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o644)
    folder_mode = stat.S_IMODE(folder.stat().st_mode)
    result = cli("--json", "client", "export", "--output", str(target))
    assert result.exit_code == 0
    assert result.json()["data"]["path"] == str(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes().startswith(b"\xef\xbb\xbfname")
    assert b"\r\n" in target.read_bytes()  # CRLF, as Excel writes it
    assert sorted(p.name for p in folder.iterdir()) == ["klanten.csv"]  # no temp file left
    assert stat.S_IMODE(folder.stat().st_mode) == folder_mode  # the person's folder as it was
    human = cli("client", "export", "-o", str(tmp_path / "k.json"), "--format", "json")
    assert "written to" in human.stderr and human.stdout == ""


def test_unwritable_output_is_a_clear_error(cli, portal, tmp_path):
    result = cli("client", "export", "--output", str(tmp_path / "no" / "such" / "dir.csv"))
    assert result.exit_code == 2
    assert "Cannot write" in result.stderr and "Hint:" in result.stderr


def test_export_without_portal_and_empty_portal(cli, portal):
    empty = cli("client", "export", "--format", "json")
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []
    header_only = cli("client", "export")
    assert header_only.stdout.lstrip("\ufeff").strip().startswith("name")


def test_export_with_no_portal_is_not_found(cli):
    assert cli("client", "export").exit_code == 3


def test_real_subprocess_writes_the_bom_to_stdout(run_exactlink, tmp_path):
    assert run_exactlink("portal", "create", "K", "--email", "k@kantoor.be").exit_code == 0
    assert run_exactlink("client", "add", "Café Zwaan").exit_code == 0
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "exactlink", "client", "export"],
        capture_output=True,
        env={**os.environ, "LANG": "nl_BE.UTF-8", "LC_ALL": "", "LC_NUMERIC": ""},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout
        == ("\ufeffname;email;vat;coc;managed;access_granted\r\nCafé Zwaan;;;;no;no\r\n").encode()
    )
