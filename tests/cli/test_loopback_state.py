"""The loopback and loopback-tls modes of `exact connect` end only on this attempt's answer: a
request with a wrong or missing `state`, or an `error=access_denied` without it (another local
user, a web page navigating the browser to 127.0.0.1), gets an error page while the real process
keeps waiting; then the real callback connects (issue 15).

These modes need a server that allows a local redirect, so the sandbox opts out of exactly that
one strict rule (LOOPBACK_REDIRECT_OPT_OUT, through exactkit.make_world)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from support.exactkit import auth_url_from, make_world, stats


def _start_connect(home, *args: str) -> subprocess.Popen:
    env = {**os.environ, "EXACTLINK_HOME": str(home), "BROWSER": "true"}
    return subprocess.Popen(
        [sys.executable, "-m", "exactlink", "exact", "connect", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip


def _strays(state: str) -> list[str]:
    return [
        "code=forged%21code&state=someone-elses",  # a wrong state
        "code=forged%21code",  # no state
        "error=access_denied",  # a decline nobody gave
        f"error=access_denied&state={state}x",
        "state=%1b%5d0%3bpwned%07&code=%3cscript%3e",  # nothing of it is echoed
    ]


@pytest.mark.parametrize(
    ("scheme", "host", "mode"),
    [("http", "127.0.0.1", "loopback"), ("https", "localhost", "loopback-tls")],
)
def test_stray_requests_are_refused_and_the_real_callback_connects(
    sandbox_factory, cli, isolated_home, scheme, host, mode
):
    world = make_world(sandbox_factory, cli, scheme=scheme, host=host)
    assert cli("exact", "app", "show", "--json").json()["mode"] == mode
    proc = _start_connect(isolated_home, "--timeout", "60")
    try:
        url = auth_url_from(proc, world.sb.base_url)
        state = parse_qs(urlsplit(url).query)["state"][0]
        verify = str(isolated_home / "tls" / "localhost.pem") if scheme == "https" else True
        for query in _strays(state):
            page = requests.get(f"{world.redirect_uri}?{query}", verify=verify, timeout=10)
            assert page.status_code == 400, query
            assert "another attempt" in page.text
            assert "pwned" not in page.text and "script" not in page.text
        time.sleep(0.5)
        assert proc.poll() is None, proc.stderr.read()  # still waiting for the real answer
        location = world.consent(url)  # log in and allow, as the person would
        assert requests.get(location, verify=verify, timeout=10).status_code == 200
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Connected" in err and "declined" not in err
    assert "pwned" not in err and "\x1b" not in err
    assert stats(world.sb)["token_calls"] == 1  # only the real code was exchanged
    assert cli("exact", "api", "current/Me").exit_code == 0


def test_after_stray_requests_the_wait_still_ends_at_the_timeout(
    sandbox_factory, cli, isolated_home
):
    world = make_world(sandbox_factory, cli)
    started = time.monotonic()
    proc = _start_connect(isolated_home, "--timeout", "3")
    url = auth_url_from(proc, world.sb.base_url)
    state = parse_qs(urlsplit(url).query)["state"][0]
    for query in _strays(state):
        assert requests.get(f"{world.redirect_uri}?{query}", timeout=10).status_code == 400
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 8, err  # not 6: no stray "decline" was taken for the real one
    assert "No answer from the browser within 3 s" in err
    assert time.monotonic() - started < 3 + 6
    assert stats(world.sb)["token_calls"] == 0
