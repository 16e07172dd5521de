"""End to end as a firm on the real Exact Online: a real headless Chromium logs in to the strict
sandbox, consents, lands on the firm's relay page (written by `exact relay-page`, served over
HTTPS on a public-looking name) and the page's forward reaches `exact connect`'s listener. And
when nothing listens, the page shows the line and pasting it completes the connection."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support.exactkit import RELAY_URI, auth_url_from, login, make_strict_world
from support.relayhost import wait_for_host


def _start(home, *args: str) -> subprocess.Popen:
    env = {**os.environ, "EXACTLINK_HOME": str(home)}
    env.pop("BROWSER", None)
    return subprocess.Popen(
        [sys.executable, "-m", "exactlink", "exact", "connect", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _log_in_and_allow(page, url: str, who: dict) -> None:
    page.goto(url)
    page.fill("#username", who["username"])  # force_login=1: always the login form
    page.fill("#password", who["password"])
    page.click("#login")
    page.wait_for_selector("#allow")
    page.click("#allow")


@pytest.mark.real
def test_relay_page_forwards_the_real_browser_to_connect(
    sandbox_factory, cli, isolated_home, relay_host, relay_browser
):
    world = make_strict_world(sandbox_factory, cli)
    written = isolated_home.parent / "callback.html"
    assert cli("exact", "relay-page", "--output", str(written)).exit_code == 0
    relay_host.html = written.read_bytes()  # the firm publishes what the command wrote
    proc = _start(isolated_home, "--no-browser")
    url = auth_url_from(proc, world.sb.base_url)
    page = relay_browser.new_page()
    try:
        _log_in_and_allow(page, url, login(world.sb))
        wait_for_host(page, on_loopback=True, timeout=15)
        assert "return to the terminal" in page.content()
        assert any(hit.startswith("/callback?code=") for hit in relay_host.hits)
    finally:
        page.close()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert world.sb.seed["app"]["redirect_uri"] == RELAY_URI
    me = cli("exact", "api", "current/Me")
    assert me.exit_code == 0, me.stderr
    assert login(world.sb)["username"] in me.stdout


@pytest.mark.real
def test_when_nothing_listens_the_page_line_completes_the_connection(
    sandbox_factory, cli, isolated_home, relay_host, relay_browser
):
    world = make_strict_world(sandbox_factory, cli)
    # --print-url: the consent happens "on another computer", so nothing listens there.
    proc = _start(isolated_home, "--print-url")
    url = auth_url_from(proc, world.sb.base_url, proc.stdout)
    page = relay_browser.new_page()
    try:
        _log_in_and_allow(page, url, login(world.sb))
        page.wait_for_selector("#line", state="visible", timeout=15000)
        page.wait_for_timeout(500)
        assert page.evaluate("location.hostname") == relay_host.name  # no forward
        line = page.locator("#line").inner_text()
    finally:
        page.close()
    assert line.startswith("?code=") and "&state=" in line
    _out, err = proc.communicate(line + "\n", timeout=30)
    assert proc.returncode == 0, err
    assert cli("exact", "api", "current/Me").exit_code == 0
