"""What an accountant reads with `--lang nl`: tables, statuses and states in Dutch, times in the
computer's zone, while `--json` keeps the English codes and UTC.

The main flows run as real processes (`python -m exactlink`) against the sandbox over HTTP, the
connection made through `exact connect --print-url` with the consent given as the firm's login.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from support.exactkit import make_world, seed_clients

# Codes that must never reach a Dutch reader (--json keeps them).
ENGLISH_STATES = (
    "pending", "granted", "active", "connected", "needs-reconnect", "disconnected",
    "activated", "already_active", "refused", "missing", "ambiguous", "archived", "inactive",
    "access_pending", "blocked", "not_in_list", "not_listed", "division_listed",
    "insecure-file", "backup/restore", "client.add", "portal.create", "exact.connect",
    "exact.activate", "days old", "expires", "when", "outcome", "cause",
)  # fmt: skip
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
CODE = re.compile(r"`[^`]*`")  # commands in hints are typed as they are: `... --granted`


def exactlink(*args: str, input: str | None = None, env: dict | None = None):
    """``python -m exactlink ARGS`` as a real process; the home comes from EXACTLINK_HOME."""
    proc = subprocess.run(
        [sys.executable, "-m", "exactlink", *args],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    return proc


def nl(*args: str, input: str | None = None, env: dict | None = None):
    return exactlink("--lang", "nl", *args, input=input, env=env)


def english_left(text: str) -> list[str]:
    """The English codes in ``text`` outside `commands` and paths."""
    prose = CODE.sub("", text)
    prose = re.sub(r"\S*/\S*state\.db|\S*/\S*config\.toml|https?://\S+", "", prose)
    return [
        word
        for word in ENGLISH_STATES
        if re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", prose, re.IGNORECASE)
    ]


def connect_as_firm(world) -> subprocess.CompletedProcess:
    """`exact connect --print-url` as a real process; the firm's login consents to the address
    it printed, and the address the browser landed on is pasted back on stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "exactlink", "--lang", "nl", "exact", "connect", "--print-url"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith(world.sb.base_url), url
        landed = world.consent(url)
        out, err = proc.communicate(landed + "\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, url + "\n" + out, err)


@pytest.fixture
def firm(sandbox_factory, cli, isolated_home):
    """A portal with four granted clients and one pending, the app set (no connection yet)."""
    world = make_world(sandbox_factory, cli, clients=6)
    for company in seed_clients(world.sb)[:4]:
        done = nl("client", "add", company["name"], "--access-granted")
        assert done.returncode == 0, done.stderr
    done = nl("client", "add", "Nog Niet BV")
    assert done.returncode == 0, done.stderr
    assert "(in afwachting)" in done.stderr and "pending" not in done.stderr
    return world


def test_main_flows_read_in_dutch(firm):
    connected = connect_as_firm(firm)
    assert connected.returncode == 0, connected.stderr
    assert "gekoppeld aan Exact Online" in connected.stderr

    shown: dict[str, str] = {}
    for args in (
        ("portal", "list"),
        ("portal", "show"),
        ("client", "list"),
        ("client", "show", "Nog Niet BV"),
        ("exact", "status"),
        ("exact", "divisions"),
        ("exact", "activate", "--all"),
        ("client", "list"),
        ("doctor",),
        ("doctor", "--all"),
        ("exact", "app", "show"),
        ("log",),
        ("store", "status"),
    ):
        done = nl(*args)
        # activate --all and doctor --all meet a pending, a blocked and a missing client
        assert done.returncode in (0, 6, 10), (args, done.stderr)
        text = done.stdout + done.stderr
        assert not english_left(text), (args, english_left(text), text)
        assert not ISO_UTC.search(text), (args, text)  # times are local, not ISO UTC
        shown[" ".join(args)] = done.stdout

    assert shown["portal list"].split("\n")[0].split() == [
        "STANDAARD", "NAAM", "E-MAILADRES", "KLANTEN", "FACTURATIE",
    ]  # fmt: skip
    assert "koppeling          gekoppeld" in shown["portal show"]
    assert "in afwachting" in shown["client show Nog Niet BV"]
    assert "status                  gekoppeld" in shown["exact status"]
    assert "toegangstoken verloopt" in shown["exact status"]
    assert re.search(r"\d+,\d+ dagen oud", shown["exact status"])  # a decimal comma
    assert "gearchiveerd" in shown["exact divisions"]
    assert "back-up/herstel" in shown["exact divisions"]
    bulk = shown["exact activate --all"]
    assert bulk.split("\n")[0].split()[:2] == ["KLANT", "RESULTAAT"]
    for word in ("geactiveerd", "geweigerd", "niet gevonden", "toegang nog niet gegeven"):
        assert word in bulk, word
    assert "actief" in shown["client list"] and "toegang gegeven" in shown["client list"]
    assert "✓ opslag" in shown["doctor"] and "! geheimen" in shown["doctor"]
    assert "toegang nog niet gegeven (1)" in shown["doctor --all"]
    assert "werkwijze" in shown["exact app show"]
    log = shown["log"]
    assert log.split("\n")[0].split()[:4] == ["WANNEER", "GEBRUIKER", "COMPUTER", "HANDELING"]
    assert "klant toegevoegd" in log and "gekoppeld met Exact" in log
    assert "schemaversie" in shown["store status"]

    # --json: the same data with its English codes and UTC ISO 8601, whatever --lang says.
    clients = json.loads(nl("--json", "client", "list").stdout)
    assert {c["status"] for c in clients} == {"pending", "granted", "active"}
    assert all(ISO_UTC.fullmatch(c["created_at"]) for c in clients)
    status = json.loads(nl("--json", "exact", "status").stdout)
    assert status["status"] == "connected"
    assert ISO_UTC.fullmatch(status["access_token_expires_at"])
    events = json.loads(nl("--json", "log").stdout)
    assert {"client.add", "exact.connect", "exact.activate"} <= {e["action"] for e in events}
    assert all(ISO_UTC.fullmatch(e["at"]) for e in events)
    doctor = json.loads(nl("--json", "doctor").stdout)
    assert [c["id"] for c in doctor["checks"]][:2] == ["store", "config"]


@pytest.mark.parametrize(
    ("zone", "names"),
    [("Europe/Amsterdam", ("CET", "CEST")), ("America/New_York", ("EST", "EDT"))],
)
def test_times_are_shown_in_the_local_zone(cli, isolated_home, zone, names):
    assert cli("portal", "create", "Kantoor Peeters", "--email", "k@example.nl").exit_code == 0
    assert cli("client", "add", "Bakkerij Peeters BV", "--access-granted").exit_code == 0
    env = {"TZ": zone}
    event = json.loads(exactlink("--json", "log", env=env).stdout)[-1]
    at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
    local = at.astimezone(ZoneInfo(zone))
    expected = local.strftime("%Y-%m-%d %H:%M ") + local.tzname()
    assert local.tzname() in names

    for lang in ("nl", "en"):
        log = exactlink("--lang", lang, "log", env=env)
        assert log.returncode == 0, log.stderr
        assert expected in log.stdout, log.stdout
        shown = exactlink("--lang", lang, "client", "show", "Bakkerij Peeters BV", env=env)
        assert expected in shown.stdout and not ISO_UTC.search(shown.stdout), shown.stdout
    # --json keeps UTC, whatever the zone
    client = json.loads(
        exactlink("--json", "client", "show", "Bakkerij Peeters BV", env=env).stdout
    )
    assert ISO_UTC.fullmatch(client["created_at"])


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        ("2026-12-02T15:05:00Z", "Europe/Amsterdam", "2026-12-02 16:05 CET"),
        ("2026-07-01T15:05:00Z", "Europe/Amsterdam", "2026-07-01 17:05 CEST"),
        ("2026-12-02T15:05:00Z", "America/New_York", "2026-12-02 10:05 EST"),
        ("2026-12-02T15:05:00+00:00", "UTC", "2026-12-02 15:05 UTC"),
        (1796223900.0, "Europe/Amsterdam", "2026-12-02 16:05 CET"),
        ("2026-12-02T15:05:00", "Europe/Brussels", "2026-12-02 16:05 CET"),  # naive: UTC
        (None, "UTC", ""),
        ("not a time", "UTC", "not a time"),
    ],
)
def test_local_time(monkeypatch, moment, zone, shown):
    import time

    from exactlink.i18n import local_time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert local_time(moment) == shown
    finally:
        monkeypatch.undo()
        time.tzset()


def test_labels_follow_the_language():
    from exactlink.i18n import label, set_language

    try:
        set_language("nl")
        assert label("needs-reconnect") == "opnieuw koppelen"
        assert label("pending") == "in afwachting"
        assert label("some-new-code") == "some-new-code"
        assert label(None) == ""
        set_language("en")
        assert label("needs-reconnect") == "needs-reconnect"  # English shows the code
    finally:
        set_language("en")


def test_every_model_status_has_a_dutch_label():
    """A status added to the models without a label would reach a Dutch reader in English."""
    from exactlink import models
    from exactlink.i18n import label, set_language
    from exactlink.services.activation import causes
    from exactlink.services.doctor import report

    codes = {
        value
        for module in (models, causes, report)
        for name, value in vars(module).items()
        if isinstance(value, str)
        and name.isupper()
        and name.startswith(("CLIENT_", "CONNECTION_", "CAUSE_", "OK", "WARN", "FAIL"))
    }
    codes |= {causes.ACTIVATED, causes.ALREADY_ACTIVE, causes.WOULD_ACTIVATE, causes.MISSING}
    codes |= {"inactive", "active", "archived"}  # models.Division.status_name
    codes |= {name for name in models._BLOCKING.values() if name}
    try:
        set_language("nl")
        untranslated = sorted(code for code in codes if label(code) == code)
    finally:
        set_language("en")
    assert len(codes) > 20
    assert untranslated == []


def test_every_doctor_check_has_a_dutch_name():
    """doctor names its checks in the person's language; a new check without a name would show
    its English id to a Dutch reader."""
    from pathlib import Path

    import exactlink.services.doctor as doctor
    from exactlink.i18n import label, set_language

    source = "".join(p.read_text("utf-8") for p in Path(doctor.__file__).parent.glob("*.py"))
    ids = set(re.findall(r'(?:\.add|\.cannot|Check)\(\s*"([a-z_]+)"', source))
    try:
        set_language("nl")
        unnamed = sorted(i for i in ids if label(i) == i and i not in ("site", "login"))
    finally:
        set_language("en")
    assert len(ids) > 15
    assert unnamed == []


def test_the_system_locale_or_exactlink_lang_chooses_dutch(cli, isolated_home):
    assert cli("portal", "create", "Kantoor Peeters", "--email", "k@example.nl").exit_code == 0
    assert cli("client", "add", "Bakkerij Peeters BV").exit_code == 0
    for env in ({"EXACTLINK_LANG": "", "LANG": "nl_BE.UTF-8"}, {"EXACTLINK_LANG": "nl"}):
        listed = exactlink("client", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.split()[:2] == ["NAAM", "STATUS"]
        assert "in afwachting" in listed.stdout and "pending" not in listed.stdout
    english = exactlink("client", "list", env={"EXACTLINK_LANG": "", "LANG": "en_GB.UTF-8"})
    assert "pending" in english.stdout and english.stdout.split()[:2] == ["NAME", "STATUS"]


def test_a_dead_chain_reads_in_dutch(sandbox_factory, cli, isolated_home, monkeypatch):
    """A revoked chain: `exact status` says it must be connected again, and why, in Dutch."""
    import sqlite3
    import time

    from support.exactkit import connect_inprocess, control

    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    control(
        world.sb, "POST", "/_sandbox/revoke", {"username": world.sb.seed["logins"][0]["username"]}
    )
    db = sqlite3.connect(isolated_home / "state.db")  # the access token expired: a refresh is due
    db.execute("UPDATE connections SET access_expires_at = ?", (time.time() - 5,))
    db.commit()
    db.close()

    refused = nl("exact", "api", "current/Me")
    assert refused.returncode == 5, refused.stderr
    again = nl("exact", "api", "current/Me")  # the known-dead chain: the reason from the store
    assert again.returncode == 5
    assert "(ingetrokken)" in again.stderr, again.stderr
    status = nl("exact", "status")
    assert "status                  opnieuw koppelen" in status.stdout, status.stdout
    assert "laatste fout            ingetrokken" in status.stdout
    assert not english_left(status.stdout + status.stderr)
    assert json.loads(nl("--json", "exact", "status").stdout)["last_error"] == "revoked"
