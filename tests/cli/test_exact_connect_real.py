"""`exact connect` as a firm meets it on the real Exact Online: a public HTTPS redirect URI
(the strict sandbox refuses anything else), the relay mode (listener + paste), the paste mode,
--print-url, force_login, and each of Exact's refusals by name with its exit code."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from support.exactkit import (
    FIXED_STATE,
    PORTAL,
    RELAY_URI,
    advance,
    auth_url_from,
    login,
    make_strict_world,
    stats,
)


def _fixed_state(monkeypatch):
    monkeypatch.setattr("exactlink.adapters.exact.oauth.new_state", lambda: FIXED_STATE)


def _scripted_browser(monkeypatch, world, *, role="firm", decline=False, seen=None):
    """`exact connect` opens the browser: a scripted one logs in, consents and follows the
    relay page's logic (forward to the listener when state carries a port)."""
    from exactlink_sandbox.autoconsent import authorize

    who = login(world.sb, role)

    def open_browser(url: str) -> None:
        if seen is not None:
            seen.append(url)

        def run() -> None:
            authorize(
                url, who["username"], who["password"], decline=decline, follow=True, relay=True
            )

        threading.Thread(target=run, daemon=True).start()

    monkeypatch.setattr("exactlink.cli.receive._open_browser", open_browser)


def _line(world, state=FIXED_STATE, **kw) -> str:
    """Consent now; the line the relay page shows (its query)."""
    from exactlink_sandbox.autoconsent import relay_line

    return relay_line(world.consent(world.auth_url(state=state), **kw))


# ---------------------------------------------------------------------------- app set: the rule
@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8765/callback",
        "http://example-firm.nl/callback",
        "https://localhost:8765/callback",
        "https://app.localhost/callback",
        "https://127.0.0.1/callback",
        "https://[::1]/callback",
        "https://10.1.2.3/callback",
        "https://192.168.1.20/callback",
        "https://169.254.0.9/callback",
        "https://intranet/callback",
        "https://exactlink.local/callback",
    ],
)
def test_app_set_refuses_what_exact_refuses_for_a_real_site(cli, uri):
    result = cli(
        "exact", "app", "set", "--client-id", "{0f0e}", "--redirect-uri", uri, "--region", "be",
        "--insecure-storage", input="secret\n",
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert "Exact" in result.stderr and "relay-page" in result.stderr
    assert "public HTTPS page" in result.stderr
    assert cli("exact", "app", "show").exit_code == 3  # nothing was stored


def test_app_set_accepts_a_public_https_page_and_a_sandbox_keeps_its_own_rule(cli):
    ok = cli(
        "exact", "app", "set", "--client-id", "{0f0e}", "--redirect-uri",
        "https://auth.kantoor-peeters.be/exact/callback", "--region", "be", "--relay",
        "--insecure-storage", "--json", input="secret\n",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    assert ok.json()["data"]["mode"] == "relay"
    sandbox = cli(
        "exact", "app", "set", "--client-id", "{0f0e}", "--redirect-uri",
        "http://127.0.0.1:8765/callback", "--base-url", "http://127.0.0.1:9", "--json",
        "--insecure-storage", input="secret\n",
    )  # fmt: skip
    assert sandbox.exit_code == 0, sandbox.stderr
    assert sandbox.json()["data"]["mode"] == "loopback"


def test_a_stored_local_uri_for_a_real_site_is_named_by_connect_and_doctor(cli, isolated_home):
    assert cli("portal", "create", PORTAL, "--email", "k@example.nl").exit_code == 0
    assert (
        cli(
            "exact", "app", "set", "--client-id", "{0f0e}", "--redirect-uri",
            "https://auth.kantoor.nl/callback", "--insecure-storage", input="secret\n",
        ).exit_code
        == 0
    )  # fmt: skip
    config = isolated_home / "config.toml"
    text = config.read_text("utf-8")
    config.write_text(
        text.replace("https://auth.kantoor.nl/callback", "http://127.0.0.1:8765/callback")
    )
    result = cli("exact", "connect")
    assert result.exit_code == 2
    assert "http://127.0.0.1:8765/callback will be refused by Exact Online" in result.stderr
    assert "exact relay-page" in result.stderr
    shown = cli("exact", "app", "show", "--json").json()
    assert shown["redirect_uri_problem"]
    doctor = cli("doctor", "--json")
    assert doctor.exit_code == 10
    assert "will be refused by Exact Online" in doctor.stdout


# ---------------------------------------------------------------------------- relay mode
def test_relay_forward_reaches_the_listener_then_the_api_works(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli)
    seen: list[str] = []
    _scripted_browser(monkeypatch, world, seen=seen)
    result = cli("exact", "connect", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["mode"] == "relay"
    query = parse_qs(urlsplit(seen[0]).query)
    assert query["force_login"] == ["1"]
    assert query["redirect_uri"] == [RELAY_URI]
    nonce, port = query["state"][0].rsplit(".", 1)
    assert len(nonce) >= 16 and 1024 <= int(port) <= 65535
    me = cli("exact", "api", "current/Me")
    assert me.exit_code == 0, me.stderr
    assert login(world.sb)["username"] in me.stdout
    assert "Connected Kantoor Peeters to Exact Online as " + login(world.sb)["username"] in (
        result.stderr
    )


def test_relay_no_browser_still_listens_and_a_pasted_line_wins_too(
    sandbox_factory, cli, monkeypatch
):
    world = make_strict_world(sandbox_factory, cli)
    _fixed_state(monkeypatch)
    opened: list[str] = []
    monkeypatch.setattr("exactlink.cli.receive._open_browser", opened.append)
    # The line of an attempt whose state has no port (the page showed it): pasted on stdin.
    line = _line(world)
    result = cli("exact", "connect", "--no-browser", "--print-url", input=line + "\n")
    assert result.exit_code == 0, result.stderr
    assert opened == []


def test_relay_paste_of_the_page_line_while_the_listener_waits(sandbox_factory, cli, isolated_home):
    """The browser is on another screen: it consents but does not come back; the person
    pastes the page's line in the terminal while the listener still waits."""
    from exactlink_sandbox.autoconsent import authorize, relay_line

    world = make_strict_world(sandbox_factory, cli)
    proc = _start(isolated_home, "--no-browser")
    url = auth_url_from(proc, world.sb.base_url)
    who = login(world.sb)
    proc.stdin.write("\n" + relay_line(authorize(url, who["username"], who["password"])) + "\n")
    proc.stdin.flush()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert cli("exact", "api", "current/Me").exit_code == 0


def _start(home, *args: str) -> subprocess.Popen:
    env = {**os.environ, "EXACTLINK_HOME": str(home), "BROWSER": "true"}
    return subprocess.Popen(
        [sys.executable, "-m", "exactlink", "exact", "connect", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def test_relay_subprocess_with_a_scripted_browser(sandbox_factory, cli, isolated_home):
    """The real process: the listener on a free port, the forward from the page's logic."""
    from exactlink_sandbox.autoconsent import authorize

    world = make_strict_world(sandbox_factory, cli)
    proc = _start(isolated_home, "--no-browser")
    url = auth_url_from(proc, world.sb.base_url)
    who = login(world.sb)
    authorize(url, who["username"], who["password"], follow=True, relay=True)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert cli("exact", "api", "current/Me").exit_code == 0


# ---------------------------------------------------------------------------- paste mode
@pytest.mark.parametrize("shape", ["url", "query", "bare-query", "page-line"])
def test_paste_mode_takes_the_url_its_query_or_the_page_line(
    sandbox_factory, cli, monkeypatch, shape
):
    world = make_strict_world(sandbox_factory, cli, relay=False)
    assert cli("exact", "app", "show", "--json").json()["mode"] == "paste"
    _fixed_state(monkeypatch)
    location = world.consent()
    assert "%21" in location or "!" not in location  # Exact sends ! as %21
    from exactlink_sandbox.autoconsent import relay_line

    pasted = {
        "url": location,
        "query": "?" + urlsplit(location).query,
        "bare-query": urlsplit(location).query,
        "page-line": relay_line(location),
    }[shape]
    result = cli("exact", "connect", input="  " + pasted + "  \n")
    assert result.exit_code == 0, result.stderr
    assert cli("exact", "api", "current/Me").exit_code == 0


def test_print_url_prints_only_the_address_and_waits_for_the_line(
    sandbox_factory, cli, monkeypatch
):
    world = make_strict_world(sandbox_factory, cli)
    _fixed_state(monkeypatch)
    line = _line(world)
    result = cli("exact", "connect", "--print-url", "--reuse-session", input=line + "\n")
    assert result.exit_code == 0, result.stderr
    printed = result.stdout.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith(world.sb.base_url + "/api/oauth2/auth?")
    query = parse_qs(urlsplit(printed[0]).query)
    assert query["state"] == [FIXED_STATE]  # no port: the colleague is on another computer
    assert "force_login" not in query  # --reuse-session
    assert "within a few minutes" in result.stderr and "900 s" in result.stderr


def test_print_url_times_out(sandbox_factory, cli, isolated_home):
    make_strict_world(sandbox_factory, cli)
    proc = _start(isolated_home, "--print-url", "--timeout", "1")
    proc.wait(timeout=30)  # stdin stays open and silent: nobody pastes
    err = proc.stderr.read()
    proc.stdin.close()
    assert proc.returncode == 8, err
    assert "No address was pasted within 1 s" in err


# ---------------------------------------------------------------------------- Exact's answers
def test_a_used_code_is_named(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli, relay=False)
    _fixed_state(monkeypatch)
    location = world.consent()
    assert cli("exact", "connect", input=location + "\n").exit_code == 0
    advance(world.sb, 600)
    again = cli("exact", "connect", input=location + "\n")
    assert again.exit_code == 6
    assert "already used or has expired" in again.stderr and "invalid_grant" in again.stderr
    assert "run `exactlink exact connect` again" in again.stderr


def test_an_expired_code_is_named(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli, relay=False)
    _fixed_state(monkeypatch)
    location = world.consent()
    advance(world.sb, 181)  # codes live about 3 minutes
    result = cli("exact", "connect", input=location + "\n")
    assert result.exit_code == 6
    assert "already used or has expired" in result.stderr


def test_a_wrong_client_secret_is_named(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli, relay=False, secret="not-the-secret")
    _fixed_state(monkeypatch)
    result = cli("exact", "connect", input=world.consent() + "\n")
    assert result.exit_code == 6
    assert "does not accept the app's client ID or secret" in result.stderr
    assert "exact app set" in result.stderr


def test_a_second_connect_within_570_s_says_when_to_retry(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli, relay=False)
    _fixed_state(monkeypatch)
    assert cli("exact", "connect", input=world.consent() + "\n").exit_code == 0
    early = cli("exact", "connect", "--json", input=world.consent() + "\n")
    assert early.exit_code == 7
    assert "570" in early.stderr
    error = early.json()["errors"][0]
    assert error["details"]["reason"] == "TooEarlyToRefreshTokens"
    assert 500 <= error["details"]["retry_after_seconds"] <= 570
    assert f"wait {error['details']['retry_after_seconds']} s" in early.stderr
    # The first connection still works, and after the wait a new connect goes through.
    assert cli("exact", "api", "current/Me").exit_code == 0
    advance(world.sb, 571)
    assert cli("exact", "connect", input=world.consent() + "\n").exit_code == 0


def test_consent_declined_through_the_relay(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli)
    _scripted_browser(monkeypatch, world, decline=True)
    result = cli("exact", "connect")
    assert result.exit_code == 6
    assert "declined" in result.stderr
    assert stats(world.sb)["token_calls"] == 0


def test_state_mismatch_in_the_pasted_line(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli)
    _fixed_state(monkeypatch)
    foreign = _line(world, state="someone-elses-attempt")
    result = cli("exact", "connect", "--print-url", input=foreign + "\n")
    assert result.exit_code == 2
    assert "state mismatch" in result.stderr
    assert stats(world.sb)["token_calls"] == 0


def test_relay_timeout(sandbox_factory, cli, monkeypatch):
    make_strict_world(sandbox_factory, cli)
    monkeypatch.setattr("exactlink.cli.receive._open_browser", lambda url: None)
    started = time.monotonic()
    result = cli("exact", "connect", "--timeout", "1")
    assert result.exit_code == 8
    assert "No answer from the browser or the terminal within 1 s" in result.stderr
    assert time.monotonic() - started < 10


def test_relay_port_busy(sandbox_factory, cli):
    world = make_strict_world(sandbox_factory, cli)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("exact", "connect", "--port", str(port))
    assert result.exit_code == 8
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert "without --port" in result.stderr
    assert stats(world.sb)["token_calls"] == 0


def test_port_is_for_the_relay_mode_only(sandbox_factory, cli):
    make_strict_world(sandbox_factory, cli, relay=False)
    result = cli("exact", "connect", "--port", "40000")
    assert result.exit_code == 2 and "--port" in result.stderr


def test_another_exact_login_than_before_is_warned(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli, relay=False)
    _fixed_state(monkeypatch)
    firm = login(world.sb)
    assert cli("exact", "connect", input=world.consent() + "\n").exit_code == 0
    other = cli("exact", "connect", input=world.consent(role="client") + "\n")
    assert other.exit_code == 0, other.stderr
    assert "not the Exact login connected before" in other.stderr
    assert firm["username"] in other.stderr
    assert re.search(
        r"Connected .* as " + re.escape(login(world.sb, "client")["username"]), other.stderr
    )


def test_a_region_after_a_sandbox_means_exacts_own_site_and_its_rule(cli):
    sandbox = cli(
        "exact", "app", "set", "--client-id", "x", "--redirect-uri",
        "http://127.0.0.1:8765/callback", "--base-url", "http://127.0.0.1:9", "--insecure-storage",
        input="s\n",
    )  # fmt: skip
    assert sandbox.exit_code == 0, sandbox.stderr
    refused = cli(
        "exact", "app", "set", "--client-id", "x", "--redirect-uri",
        "http://127.0.0.1:8765/callback", "--region", "be", input="s\n",
    )  # fmt: skip
    assert refused.exit_code == 2 and "https://" in refused.stderr
    real = cli(
        "exact", "app", "set", "--client-id", "x", "--redirect-uri",
        "https://auth.kantoor.be/callback", "--region", "be", "--json", input="s\n",
    )  # fmt: skip
    assert real.exit_code == 0, real.stderr
    data = real.json()["data"]
    assert data["site"] == "https://start.exactonline.be" and data["base_url"] is None


def test_print_url_with_json_keeps_stdout_one_document(sandbox_factory, cli, monkeypatch):
    world = make_strict_world(sandbox_factory, cli)
    _fixed_state(monkeypatch)
    result = cli("exact", "connect", "--print-url", "--json", input=_line(world) + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["mode"] == "relay"
    assert world.sb.base_url + "/api/oauth2/auth?" in result.stderr
