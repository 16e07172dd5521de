"""The relay listener ends only on this attempt's answer: any other request to its path gets an
error page and the listener keeps waiting (issue: a stray or hostile request must not end or
decide `exact connect`)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from exactlink.adapters.exact.loopback import RelayListener


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def listener(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with RelayListener() as running:
        running.expect("n0nce.4242")
        yield running


@pytest.mark.parametrize(
    "query",
    [
        "code=stampNL001.x%21y&state=other.4242",  # another attempt's state
        "code=stampNL001.x%21y",  # no state at all
        "error=access_denied",  # a "decline" without our state is not a real decline
        "error=access_denied&state=n0nce.4243",
    ],
)
def test_a_request_without_this_attempts_state_does_not_end_the_wait(listener, query):
    base = f"http://127.0.0.1:{listener.port}/callback"
    status, body = get(f"{base}?{query}")
    assert status == 400 and "another attempt" in body
    assert not listener.done
    status, _body = get(f"{base}?code=stampNL001.real%21code&state=n0nce.4242")
    assert status == 200
    assert listener.wait(1) == "?code=stampNL001.real%21code&state=n0nce.4242"


def test_a_decline_with_this_attempts_state_is_the_answer(listener):
    base = f"http://127.0.0.1:{listener.port}/callback"
    assert get(f"{base}?error=access_denied&state=n0nce.4242")[0] == 200
    assert listener.wait(1) == "?error=access_denied&state=n0nce.4242"
