"""Text from outside (a CSV, Exact, the person) reaches the terminal with its control and escape
characters made visible, in tables, fields, messages and errors; --json keeps the exact value."""

from __future__ import annotations

import json
import sqlite3

import pytest

from support.exactkit import connected, seed_clients

ESC = "\x1b"
RAW = (ESC, "\r", "\x9b", "\u202e", "\x07")


def assert_inert(text: str) -> None:
    """No raw control character that could act on a terminal (newlines between lines only)."""
    for char in RAW:
        assert char not in text, (char, text)


def store(isolated_home, sql: str, *args) -> None:
    conn = sqlite3.connect(isolated_home / "state.db")
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


def test_escapes_in_a_csv_row_are_visible_in_the_error(cli, portal, tmp_path):
    path = tmp_path / "klanten.csv"
    path.write_text(
        'name;email;vat\nGoed BV;"a\x1b[31m\rb@x.be";\nSlecht BV;;XX\x1b[2Jvat\n', "utf-8"
    )
    result = cli("client", "import", str(path))
    assert result.exit_code == 2
    assert_inert(result.stderr)
    assert "a^[[31m^Mb@x.be" in result.stderr
    assert "XX^[[2Jvat" in result.stderr
    # --json: the exact value, escaped by JSON (never raw on the terminal either)
    body = cli("--json", "client", "import", str(path))
    assert_inert(body.stdout)
    messages = " ".join(json.dumps(e) for e in body.json()["errors"])
    assert "a\\u001b[31m\\rb@x.be" in messages


def test_c1_and_bidi_characters_in_imported_names_are_visible(cli, portal, tmp_path):
    names = ["Goed\x9b31mBV", "Slecht \u202eVB"]
    path = tmp_path / "klanten.csv"
    path.write_text("name;vat\n" + "".join(f"{n};\n" for n in names), "utf-8")
    assert cli("client", "import", str(path)).exit_code == 0
    listing = cli("client", "list")
    assert listing.exit_code == 0
    assert_inert(listing.stdout)
    assert "Goed\\u009b31mBV" in listing.stdout and "Slecht \\u202eVB" in listing.stdout
    shown = cli("client", "show", names[0])
    assert shown.exit_code == 0
    assert_inert(shown.stdout)
    assert "Goed\\u009b31mBV" in shown.stdout
    exact = cli("--json", "client", "list")
    assert_inert(exact.stdout)  # C1 and bidi escaped as \u009b, \u202e...
    assert sorted(c["name"] for c in exact.json()) == sorted(names)  # ...the same value


def test_a_name_with_escapes_in_the_store_is_visible_everywhere(cli, portal, isolated_home):
    for placeholder in ("Placeholder", "Other"):
        assert cli("client", "add", placeholder, "--email", "a@b.be").exit_code == 0
    hostile = "Evil\x1b[31mRed\x1b]0;pwned\x07BV"
    store(isolated_home, "UPDATE clients SET name = ? WHERE name = 'Placeholder'", hostile)
    store(isolated_home, "UPDATE clients SET name = ? WHERE name = 'Other'", "Car\rriage")

    listing = cli("client", "list")
    assert listing.exit_code == 0
    assert_inert(listing.stdout)
    assert "Evil^[[31mRed^[]0;pwned^GBV" in listing.stdout
    assert "Car^Mriage" in listing.stdout

    shown = cli("client", "show", hostile)
    assert shown.exit_code == 0, shown.stderr
    assert_inert(shown.stdout)
    assert "Evil^[[31mRed^[]0;pwned^GBV" in shown.stdout

    # a message and a hint that name it
    granted = cli("client", "access", hostile, "--granted")
    assert granted.exit_code == 0, granted.stderr
    assert_inert(granted.stderr)
    assert "Client 'Evil^[[31mRed^[]0;pwned^GBV' granted access." in granted.stderr

    # an error that names what the person typed
    missing = cli("client", "show", "Nope\x1b[2J")
    assert missing.exit_code == 3
    assert_inert(missing.stderr)
    assert "Nope^[[2J" in missing.stderr

    exact = cli("--json", "client", "list").json()
    assert sorted(c["name"] for c in exact) == sorted([hostile, "Car\rriage"])


@pytest.fixture
def world(sandbox_factory, cli, monkeypatch):
    return connected(sandbox_factory, cli, monkeypatch)


def test_a_hostile_division_name_is_visible_in_tables_and_messages(world, cli, isolated_home):
    company = next(
        c
        for c in seed_clients(world.sb)
        if c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
        and not c["own_login"]
    )
    division = company["division"]
    assert cli("exact", "divisions").exit_code == 0  # fills the cache
    hostile = "Bakkerij\x1b[2J\x1b[H\rGehackt \x9b7m"
    store(isolated_home, "UPDATE divisions SET description = ? WHERE code = ?", hostile, division)

    table = cli("exact", "divisions")
    assert table.exit_code == 0, table.stderr
    assert_inert(table.stdout + table.stderr)
    assert "Bakkerij^[[2J^[[H^MGehackt \\u009b7m" in table.stdout

    exact = cli("--json", "exact", "divisions")
    assert_inert(exact.stdout)
    names = {d["code"]: d["name"] for d in exact.json()["divisions"]}
    assert names[division] == hostile

    assert cli("client", "add", "Klant", "--access-granted").exit_code == 0
    activated = cli(
        "exact", "activate", "--client", "Klant", "--division", str(division), "--force"
    )
    assert activated.exit_code == 0, activated.stderr
    assert_inert(activated.stdout + activated.stderr)


def test_the_fast_paths_skip_only_text_without_an_unsafe_character():
    """``visible`` returns printable text as it is and ``Output.json`` skips escaping ASCII
    without DEL: every character the patterns escape must fail those checks, in all of Unicode."""
    import re
    import sys

    from exactlink.cli import output

    for pattern in (output._UNSAFE_INLINE, output._UNSAFE_MESSAGE, output._UNSAFE_JSON):
        compiled = re.compile(pattern)
        for code in range(sys.maxunicode + 1):
            char = chr(code)
            if compiled.match(char):
                assert not char.isprintable(), hex(code)
                if pattern == output._UNSAFE_JSON:
                    assert not char.isascii() or char == "\x7f", hex(code)
    assert output.visible("Bakkerij Peeters BV é") == "Bakkerij Peeters BV é"
    assert output.visible("a\u00a0b\u202ec") == "a\u00a0b\\u202ec"
    assert output.visible("a\tb\nc", multiline=True) == "a\tb\nc"


def test_json_output_escapes_del_c1_and_bidi_and_keeps_the_rest(capsys):
    from exactlink.cli.output import Output

    Output(json_mode=True).json({"ascii": "plain", "del": "a\x7fb", "c1": "\x9b", "bidi": "\u202e"})
    assert capsys.readouterr().out == (
        '{"ascii":"plain","del":"a\\u007fb","c1":"\\u009b","bidi":"\\u202e"}\n'
    )
    Output(json_mode=True).json(["Klant é", "x\x7f"])
    assert capsys.readouterr().out == '["Klant é","x\\u007f"]\n'
