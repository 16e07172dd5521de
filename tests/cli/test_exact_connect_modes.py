"""The three ways `exact connect` receives Exact's answer, and each way it can fail.

loopback is driven by a real headless Chromium (log in, consent, follow the redirect to
exactlink's listener) while the CLI runs as a subprocess; loopback-tls uses the self-signed
certificate exactlink makes on first use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from support.exactkit import (
    FIXED_STATE,
    advance,
    auth_url_from,
    connect_inprocess,
    login,
    make_world,
    stats,
)


def _start_connect(home, *args: str) -> subprocess.Popen:
    env = {**os.environ, "EXACTLINK_HOME": str(home), "BROWSER": "true"}
    return subprocess.Popen(
        [sys.executable, "-m", "exactlink", "exact", "connect", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc: subprocess.Popen, timeout: float = 30) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.mark.real
@pytest.mark.slow
def test_loopback_with_a_real_chromium(sandbox_factory, cli, isolated_home, chromium):
    world = make_world(sandbox_factory, cli)
    proc = _start_connect(isolated_home)
    url = auth_url_from(proc, world.sb.base_url)
    who = login(world.sb)
    page = chromium.new_page()
    try:
        page.goto(url)
        page.fill("#username", who["username"])
        page.fill("#password", who["password"])
        page.click("#login")
        page.wait_for_selector("#allow")
        page.click("#allow")
        page.wait_for_url(world.redirect_uri + "**", timeout=15000)
        assert "return to the terminal" in page.content()
    finally:
        page.close()
    code, _out, err = _finish(proc)
    assert code == 0, err
    status = cli("exact", "status", "--check", "--json").json()
    assert status["status"] == "connected" and status["check"]["ok"]
    assert status["exact_username"] == who["username"]


def test_loopback_tls_with_the_self_signed_certificate(sandbox_factory, cli, isolated_home):
    world = make_world(sandbox_factory, cli, scheme="https", host="localhost")
    assert cli("exact", "app", "show", "--json").json()["mode"] == "loopback-tls"
    proc = _start_connect(isolated_home)
    url = auth_url_from(proc, world.sb.base_url)
    location = world.consent(url)  # log in and allow; do not follow yet
    cert = isolated_home / "tls" / "localhost.pem"
    assert cert.exists()
    assert (isolated_home / "tls" / "localhost-key.pem").stat().st_mode & 0o777 == 0o600
    page = requests.get(location, verify=str(cert), timeout=10)  # the certificate verifies
    assert page.status_code == 200
    code, _out, err = _finish(proc)
    assert code == 0, err
    assert cli("exact", "api", "current/Me").exit_code == 0


def test_paste_mode_through_stdin_of_a_real_process(sandbox_factory, cli, isolated_home):
    world = make_world(sandbox_factory, cli)
    proc = _start_connect(isolated_home, "--no-browser")
    url = auth_url_from(proc, world.sb.base_url)
    location = world.consent(url)
    proc.stdin.write(location + "\n")
    proc.stdin.flush()
    code, _out, err = _finish(proc)
    assert code == 0, err
    assert "Connected" in err


def test_port_busy(sandbox_factory, cli):
    world = make_world(sandbox_factory, cli)
    port = int(world.redirect_uri.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        result = cli("exact", "connect")
    assert result.exit_code == 8
    assert f"Port {port}" in result.stderr and "--no-browser" in result.stderr
    assert stats(world.sb)["token_calls"] == 0


def test_timeout_waiting_for_the_browser(sandbox_factory, cli, monkeypatch):
    monkeypatch.setenv("BROWSER", "true")
    make_world(sandbox_factory, cli)
    started = time.monotonic()
    result = cli("exact", "connect", "--timeout", "1")
    assert result.exit_code == 8
    assert "No answer from the browser within 1 s" in result.stderr
    assert time.monotonic() - started < 10


def test_declined_consent(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    result = connect_inprocess(world, cli, monkeypatch, decline=True)
    assert result.exit_code == 6
    assert "declined" in result.stderr and "Allow" in result.stderr
    assert stats(world.sb)["token_calls"] == 0


def test_state_mismatch(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    monkeypatch.setattr("exactlink.adapters.exact.oauth.new_state", lambda: FIXED_STATE)
    foreign = world.consent(world.auth_url(state="someone-elses"))
    result = cli("exact", "connect", "--no-browser", input=foreign + "\n")
    assert result.exit_code == 2
    assert "state mismatch" in result.stderr
    assert stats(world.sb)["token_calls"] == 0


@pytest.mark.parametrize(
    "pasted",
    ["https://example.com/callback?code=abc&state=" + FIXED_STATE, "not a url at all"],
)
def test_wrong_redirect_pasted(sandbox_factory, cli, monkeypatch, pasted):
    world = make_world(sandbox_factory, cli)
    monkeypatch.setattr("exactlink.adapters.exact.oauth.new_state", lambda: FIXED_STATE)
    result = cli("exact", "connect", "--no-browser", input=pasted + "\n")
    assert result.exit_code == 2
    assert "not the address Exact redirected to" in result.stderr
    assert world.redirect_uri in result.stderr


def test_code_without_state_or_code(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    monkeypatch.setattr("exactlink.adapters.exact.oauth.new_state", lambda: FIXED_STATE)
    result = cli(
        "exact", "connect", "--no-browser", input=f"{world.redirect_uri}?state={FIXED_STATE}\n"
    )
    assert result.exit_code == 2
    assert "no authorization code" in result.stderr


def test_connect_without_app_settings(sandbox_factory, cli):
    make_world(sandbox_factory, cli, set_app=False)
    result = cli("exact", "connect")
    assert result.exit_code == 3
    assert "exactlink exact app set" in result.stderr


def test_same_login_in_another_portal_needs_force(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    assert cli("portal", "create", "Tweede Kantoor", "--email", "b@example.nl").exit_code == 0
    refused = connect_inprocess(world, cli, monkeypatch, "--portal", "Tweede Kantoor")
    assert refused.exit_code == 4
    assert "--force" in refused.stderr and world.portal in refused.stderr
    advance(world.sb, 570)  # strict: the 570 s rule counts from the first code exchange
    forced = connect_inprocess(world, cli, monkeypatch, "--portal", "Tweede Kantoor", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "needs `exactlink exact connect` again" in forced.stderr
    first = cli("exact", "status", "--json").json()
    assert first["status"] == "needs-reconnect"
    assert cli("--portal", "Tweede Kantoor", "exact", "api", "current/Me").exit_code == 0


def test_client_connects_with_its_own_login(sandbox_factory, cli, monkeypatch):
    world = make_world(sandbox_factory, cli)
    client_login = login(world.sb, "client")
    name = "Eigen Login BV"
    assert cli("client", "add", name).exit_code == 0
    result = connect_inprocess(world, cli, monkeypatch, "--client", name, role="client")
    assert result.exit_code == 0, result.stderr
    status = cli("exact", "status", "--client", name, "--json").json()
    assert status["exact_username"] == client_login["username"]
    accounts = cli("exact", "api", "--client", name, "crm/Accounts", "-f", "$select=ID,Name")
    assert accounts.exit_code == 0, accounts.stderr
    # The portal itself is still not connected.
    portal = cli("exact", "status")
    assert portal.exit_code == 5 and "exactlink exact connect" in portal.stderr
