"""Dutch and English: every message translated, the same exit codes and JSON in both languages.

The catalogue check extracts the messages from the current source (as `tests/tools/i18n.py extract`
does) and fails on any message without a good Dutch translation; its output lists what to do.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from support.real import missing

ROOT = Path(__file__).resolve().parent.parent


def _load_i18n_script():
    try:
        import babel  # noqa: F401  (tests/tools/i18n.py needs it)
    except ImportError:
        missing("Babel, from the test extra (pip install '.[test]')")
    spec = importlib.util.spec_from_file_location(
        "i18n_script", ROOT / "tests" / "tools" / "i18n.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _load_i18n_script()


@pytest.fixture(autouse=True)
def english_afterwards():
    """A test that switches the process to Dutch must not leave it there."""
    yield
    from exactlink.i18n import set_language

    set_language("en")


# -- the catalogue --------------------------------------------------------------------------------
def test_every_message_has_a_dutch_translation(script):
    template = script.extract()
    assert len(template) > 50, "extraction found suspiciously few messages"
    found = script.check(template)
    assert not found, (
        "Messages without a good Dutch translation. Run `python tests/tools/i18n.py all`, translate "
        "the listed entries in src/exactlink/locale/nl/LC_MESSAGES/exactlink.po, then "
        "`python tests/tools/i18n.py compile`:\n" + "\n".join(str(p) for p in found)
    )


def test_check_finds_a_missing_a_fuzzy_and_a_broken_translation(script):
    from babel.messages.catalog import Catalog

    template = Catalog(locale=None)
    template.add("Client '{name}' does not exist.")
    template.add("Run `exactlink doctor`.")
    template.add("Portal gone.")
    template.add("Pass --force.")
    template.add("Brand new.")
    nl = Catalog(locale="nl")
    nl.add("Client '{name}' does not exist.", "Klant '{naam}' bestaat niet.")
    nl.add("Run `exactlink doctor`.", "Voer `exactlink dokter` uit.")
    nl.add("Portal gone.", "Portaal weg.", flags=["fuzzy"])
    nl.add("Pass --force.", "Geef --forceer mee.")
    nl.add("Removed long ago.", "Lang geleden verwijderd.")
    found = {(p.msgid, p.what.split(" (")[0]) for p in script.problems(nl, template)}
    assert found == {
        ("Client '{name}' does not exist.", "placeholders differ"),
        ("Run `exactlink doctor`.", "`commands` differ"),
        ("Portal gone.", "fuzzy"),
        ("Pass --force.", "--options differ"),
        ("Brand new.", "missing"),
        ("Removed long ago.", "stale: no longer in the source"),
    }


@pytest.mark.parametrize(
    ("msgid", "msgstr", "ok"),
    [
        ("{count} client(s) in {portal}", "{portal} heeft {count} klant(en)", True),
        ("within {seconds:.0f} s", "binnen {seconds} s", False),
        ("a literal {{brace}}", "een letterlijke {{accolade}}", True),
        ("`exactlink portal list`", "`exactlink portal list`", True),
        ("--insecure-storage", "--onveilige-opslag", False),
    ],
)
def test_what_a_translation_must_keep(script, msgid, msgstr, ok):
    assert (script.compare(msgid, msgstr) == []) is ok


def test_compiled_catalogue_ships_in_the_package():
    """The .mo is committed inside the package (hatch puts the whole package in the wheel)."""
    from exactlink.i18n import LOCALE_DIR

    mo = LOCALE_DIR / "nl" / "LC_MESSAGES" / "exactlink.mo"
    assert mo.is_file() and mo.stat().st_size > 1000


# -- choosing the language ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        ("nl", {"EXACTLINK_LANG": "en"}, "nl"),
        (None, {"EXACTLINK_LANG": "nl"}, "nl"),
        (None, {"LANG": "nl_BE.UTF-8"}, "nl"),
        (None, {"LC_ALL": "nl_NL.UTF-8", "LANG": "en_GB.UTF-8"}, "nl"),
        (None, {"LANG": "fr_BE.UTF-8"}, "en"),
        (None, {}, "en"),
    ],
)
def test_language_comes_from_flag_then_env_then_locale(monkeypatch, explicit, env, expected):
    from exactlink.i18n import detect_language

    for name in ("EXACTLINK_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert detect_language(explicit) == expected


def test_dutch_catalogue_is_used():
    from exactlink.i18n import _, ngettext, set_language

    set_language("nl")
    assert _("Hint:") == "Tip:"
    assert _("Error:") == "Fout:"
    assert ngettext("{count} client", "{count} clients", 2) in (
        "{count} klanten",
        "{count} clients",
    )
    set_language("en")
    assert _("Hint:") == "Hint:"


# -- the same failure in both languages -----------------------------------------------------------
FAILING = [
    # (command, exit code, English fragment, Dutch fragment)
    (["portal", "show", "Nergens"], 3, "Portal 'Nergens' does not exist", "bestaat niet"),
    (["client", "list"], 3, "No portal chosen", "Geen portaal gekozen"),
]


@pytest.mark.parametrize(("args", "code", "english", "dutch"), FAILING)
def test_failure_reads_in_dutch_and_english_with_the_same_exit_code(
    cli, args, code, english, dutch
):
    en = cli("--lang", "en", *args)
    nl = cli("--lang", "nl", *args)
    assert en.exit_code == nl.exit_code == code, (en.stderr, nl.stderr)
    assert english in en.stderr and "Error:" in en.stderr
    assert dutch in nl.stderr and "Fout:" in nl.stderr
    assert "Error:" not in nl.stderr


@pytest.mark.parametrize(("args", "code", "english", "dutch"), FAILING)
def test_json_envelope_is_the_same_in_both_languages(cli, args, code, english, dutch):
    en = cli("--lang", "en", "--json", *args)
    nl = cli("--lang", "nl", "--json", *args)
    assert en.exit_code == nl.exit_code == code
    en_doc, nl_doc = json.loads(en.stdout), json.loads(nl.stdout)
    assert en_doc["status"] == nl_doc["status"] == "error"
    assert [e["code"] for e in en_doc["errors"]] == [e["code"] for e in nl_doc["errors"]]
    assert en.stdout == nl.stdout  # --json speaks English whatever --lang says


def test_json_data_is_identical_in_both_languages(cli):
    created = cli("portal", "create", "Kantoor Peeters", "--email", "info@peeters.be", "--json")
    assert created.exit_code == 0, created.stderr
    for args in (["portal", "list"], ["portal", "show", "Kantoor Peeters"]):
        en = cli("--lang", "en", "--json", *args)
        nl = cli("--lang", "nl", "--json", *args)
        assert en.exit_code == nl.exit_code == 0
        assert en.stdout == nl.stdout


# -- the same failing doctor run, in both languages -----------------------------------------------
@pytest.fixture
def missing_administration(sandbox_factory, cli, monkeypatch):
    """A connected portal and a granted client whose administration is not granted to the app."""
    from support.exactkit import connect_inprocess, make_world

    world = make_world(sandbox_factory, cli, clients=8, seed=1)
    connected = connect_inprocess(world, cli, monkeypatch)
    assert connected.exit_code == 0, connected.stderr
    company = next(
        c
        for c in world.sb.seed["companies"]
        if c["kind"] == "client"
        and not c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
    )
    added = cli(
        "client", "add", company["name"], "--vat", company["vat_number"], "--access-granted"
    )
    assert added.exit_code == 0, added.stderr
    return company["name"]


def test_failing_doctor_in_dutch_and_english(cli, missing_administration):
    client = missing_administration
    en = cli("--lang", "en", "doctor", "--client", client)
    nl = cli("--lang", "nl", "doctor", "--client", client)
    assert en.exit_code == nl.exit_code == 10
    # English: the checklist, the finding, and Exact's screens with their English names too.
    assert "✗ division_listed" in en.stdout
    assert "Doctor found 1 problem." in en.stderr
    assert "Security Center" in en.stdout and "Manage administrations" in en.stdout
    # Dutch: the same checklist, its checks named in Dutch, with Exact's Dutch screen names.
    assert "✗ administraties" in nl.stdout and "division_listed" not in nl.stdout
    assert "Doctor vond 1 probleem." in nl.stderr
    assert "'administraties'" in nl.stderr  # where to begin, by the name shown above
    assert "Fout:" in nl.stderr and "Error:" not in nl.stderr
    assert "Beveiligingscentrum > Machtigingen voor mijn apps" in nl.stdout
    assert "Administraties beheren" in nl.stdout
    assert "Security Center" not in nl.stdout
    assert "is not granted" not in nl.stdout and "None of the" not in nl.stdout


def test_doctor_json_has_the_same_checks_in_both_languages(cli, missing_administration):
    client = missing_administration
    en = cli("--lang", "en", "--json", "doctor", "--client", client)
    nl = cli("--lang", "nl", "--json", "doctor", "--client", client)
    assert en.exit_code == nl.exit_code == 10
    en_doc, nl_doc = json.loads(en.stdout), json.loads(nl.stdout)
    assert [(c["id"], c["status"]) for c in en_doc["checks"]] == [
        (c["id"], c["status"]) for c in nl_doc["checks"]
    ]
    assert en_doc == nl_doc  # --json speaks English whatever --lang says
