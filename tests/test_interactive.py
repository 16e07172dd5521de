"""A person at a terminal: the hidden secret prompt of `exact app set` and the paste prompt of
`exact connect --no-browser`, driven through a real pseudo-terminal (pexpect).

Everything else in the suite runs without a TTY; these are the two places where exactlink asks
a person something, so they are tested the way a person meets them.
"""

from __future__ import annotations

import os
import sys

import pytest

try:
    import pexpect
except ImportError:  # in the test extra; CI must not quietly skip these
    from support.real import missing

    missing("the pexpect package (pip install '.[test]')")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals only")

PORTAL = "Kantoor Peeters"


def spawn(home, *args: str, timeout: float = 30):
    """`exactlink --home HOME ARGS` on a fresh pseudo-terminal, 200 columns wide."""
    env = dict(os.environ, NO_COLOR="1", TERM="xterm", EXACTLINK_LANG="en")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "exactlink", "--home", str(home), *args],
        env=env,
        encoding="utf-8",
        timeout=timeout,
        dimensions=(40, 200),
    )
    return child


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


@pytest.fixture
def world(sandbox_factory, cli, tmp_path):
    """A sandbox, and a home with a portal in it (made in-process: only the prompts need a
    terminal)."""
    sb = sandbox_factory(clients=7, seed=1)
    home = tmp_path / "home"
    created = cli("--home", str(home), "portal", "create", PORTAL, "--email", "kantoor@example.be")
    assert created.exit_code == 0, created.stderr
    return sb, home


def spawn_app_set(sb, home):
    """`exact app set` on a terminal, stopped at the hidden secret prompt."""
    app = sb.seed["app"]
    child = spawn(
        home,
        "exact",
        "app",
        "set",
        "--client-id",
        app["client_id"],
        "--redirect-uri",
        app["redirect_uri"],
        "--base-url",
        sb.base_url,
        "--insecure-storage",
    )
    child.expect_exact("Client secret (input hidden): ")
    return child


def set_app(cli, sb, home) -> None:
    """The app set with its secret on stdin, in-process (the set-up of the connect tests; the
    hidden prompt itself is tested below)."""
    app = sb.seed["app"]
    done = cli(
        *("--home", str(home), "exact", "app", "set", "--client-id", app["client_id"]),
        *("--redirect-uri", app["redirect_uri"], "--base-url", sb.base_url, "--insecure-storage"),
        input=app["client_secret"] + "\n",
    )
    assert done.exit_code == 0, done.stderr


def set_app_on_a_terminal(sb, home) -> str:
    """Type the client secret at the hidden prompt; return everything the terminal showed."""
    child = spawn_app_set(sb, home)
    shown = child.before + child.after
    child.sendline(sb.seed["app"]["client_secret"])
    assert finish(child) == 0, child.before
    return shown + child.before


def test_secret_prompt_hides_what_is_typed(world, cli):
    sb, home = world
    secret = sb.seed["app"]["client_secret"]
    screen = set_app_on_a_terminal(sb, home)
    assert secret not in screen  # not echoed: the terminal never showed it
    assert "Exact app" in screen and "set" in screen

    shown = cli("--home", str(home), "--json", "exact", "app", "show")
    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["secret_stored"] is True
    assert secret not in shown.stdout + shown.stderr


def test_empty_secret_at_the_prompt_is_refused(world):
    sb, home = world
    child = spawn_app_set(sb, home)
    child.sendline("")
    code = finish(child)
    assert code == 2, child.before


def test_connect_no_browser_shows_the_address_and_accepts_the_pasted_one(world, cli):
    from exactlink_sandbox.autoconsent import authorize

    sb, home = world
    set_app(cli, sb, home)
    firm = next(login for login in sb.seed["logins"] if login["role"] == "firm")

    child = spawn(home, "exact", "connect", "--no-browser", "--timeout", "60")
    child.expect_exact("Open this address in a browser and sign in to Exact Online:")
    child.expect(r"(http://127\.0\.0\.1:\d+/api/oauth2/auth\?\S+)")
    url = child.match.group(1)
    child.expect_exact("paste the address the browser landed on:")

    # The person logs in and presses Allow in a browser elsewhere (over SSH, say); the browser
    # lands on the redirect URI, which nothing listens on, and the person copies that address.
    landed = authorize(url, firm["username"], firm["password"])
    assert "code=" in landed and "state=" in landed
    child.sendline(landed)
    child.expect_exact("Connected " + PORTAL)
    assert finish(child) == 0, child.before

    status = cli("--home", str(home), "--json", "exact", "status")
    assert status.exit_code == 0, status.stderr
    assert status.json()["exact_username"] == firm["username"]


def test_pasting_a_foreign_address_is_refused(world, cli):
    sb, home = world
    set_app(cli, sb, home)
    child = spawn(home, "exact", "connect", "--no-browser", "--timeout", "60")
    child.expect_exact("paste the address the browser landed on:")
    child.sendline(sb.seed["app"]["redirect_uri"] + "?code=XTzM%21stale&state=not-this-attempt")
    code = finish(child)
    assert code == 2, child.before
    assert "Error:" in child.before


def test_activate_lets_the_person_pick_the_administration(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    """No unique match and a terminal: the list of administrations, best first, and a pick."""
    from support.exactkit import connected, seed_clients

    world = connected(sandbox_factory, cli, monkeypatch)
    company = next(
        c
        for c in seed_clients(world.sb)
        if c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
        and not c["own_login"]
    )
    added = cli("client", "add", "Iets Heel Anders", "--access-granted")
    assert added.exit_code == 0, added.stderr

    child = spawn(isolated_home, "exact", "activate", "--client", "Iets Heel Anders")
    child.expect("Which administration is 'Iets Heel Anders's\\?")
    child.expect(str(company["division"]))  # the portal's list of administrations
    child.expect("Number or division code")
    child.sendline(str(company["division"]))
    child.expect("activated on administration")
    assert finish(child) == 0

    shown = cli("client", "show", "Iets Heel Anders", "--json").json()
    assert shown["division"] == company["division"]


# -- yes/no questions ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lang", "answer", "removed"),
    [
        ("nl", "j", True),
        ("nl", "ja", True),
        ("nl", "JA", True),
        ("nl", "nee", False),
        ("nl", "y", True),  # an English answer works in Dutch too
        ("nl", "no", False),
        ("nl", "", False),  # the default is no
        ("en", "y", True),
        ("en", "yes", True),
        ("en", "no", False),
        ("en", "ja", True),  # and a Dutch one in English
    ],
)
def test_a_yes_no_question_takes_either_languages_answer(cli, tmp_path, lang, answer, removed):
    home = tmp_path / "home"
    assert cli("--home", str(home), "portal", "create", PORTAL, "--email", "k@x.be").exit_code == 0
    assert cli("--home", str(home), "client", "add", "Bakkerij Peeters BV").exit_code == 0

    child = spawn(home, "--lang", lang, "client", "remove", "Bakkerij Peeters BV")
    if lang == "nl":
        child.expect_exact("Klant 'Bakkerij Peeters BV' verwijderen? [j/N]: ")
    else:
        child.expect_exact("Remove client 'Bakkerij Peeters BV'? [y/N]: ")
    child.sendline(answer)
    code = finish(child)

    listed = cli("--home", str(home), "--json", "client", "list").json()
    assert (listed == []) is removed
    if removed:
        assert code == 0, child.before
    else:
        assert code == 130, child.before  # as before: the question declined is an abort
        assert ("Afgebroken." if lang == "nl" else "Aborted.") in child.before


def test_an_answer_not_understood_is_asked_again(cli, tmp_path):
    home = tmp_path / "home"
    assert cli("--home", str(home), "portal", "create", PORTAL, "--email", "k@x.be").exit_code == 0
    child = spawn(home, "--lang", "nl", "portal", "delete", PORTAL)
    child.expect_exact(f"Portaal '{PORTAL}' verwijderen? [j/N]: ")
    child.sendline("misschien")
    child.expect_exact("Antwoord met j (ja) of n (nee).")
    child.expect_exact("[j/N]: ")
    child.sendline("ja")
    assert finish(child) == 0, child.before
    assert cli("--home", str(home), "--json", "portal", "list").json() == []


def test_no_terminal_still_needs_yes(cli, tmp_path):
    """Without a terminal nothing is asked, as before: exit 2 naming --yes, whatever stdin holds."""
    home = tmp_path / "home"
    assert cli("--home", str(home), "portal", "create", PORTAL, "--email", "k@x.be").exit_code == 0
    refused = cli("--home", str(home), "--lang", "nl", "portal", "delete", PORTAL, input="j\n")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert len(cli("--home", str(home), "--json", "portal", "list").json()) == 1


@pytest.mark.parametrize(
    ("answer", "default", "expected"),
    [
        ("j", False, True), ("Ja", False, True), (" y ", False, True), ("YES", False, True),
        ("n", True, False), ("Nee", True, False), ("no", True, False),
        ("", False, False), ("", True, True), ("misschien", False, None), ("jawel", False, None),
    ],
)  # fmt: skip
def test_parse_answer(answer, default, expected):
    from exactlink.cli.prompts import parse_answer

    assert parse_answer(answer, default) is expected


def test_on_a_terminal_tables_and_progress_read_in_dutch(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    """The Rich table and the progress bar of a terminal, with --lang nl."""
    from support.exactkit import connected, seed_clients

    world = connected(sandbox_factory, cli, monkeypatch, clients=6)
    for company in seed_clients(world.sb)[:3]:
        assert cli("client", "add", company["name"], "--access-granted").exit_code == 0

    child = spawn(isolated_home, "--lang", "nl", "exact", "activate", "--all")
    child.expect_exact("Activeren: ")  # the progress bar's label
    child.expect_exact("resultaat")  # the table's header, as Rich shows it
    child.expect_exact("geactiveerd")
    finish(child)
    assert "activated" not in child.before

    child = spawn(isolated_home, "--lang", "nl", "client", "list")
    child.expect_exact("naam")
    child.expect_exact("status")
    child.expect_exact("actief")
    assert finish(child) == 0
