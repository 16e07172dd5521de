"""Every exchange with Exact has a total deadline, not only a timeout per read: a real server on
127.0.0.1 that drips its answer (body, headers, or a TLS handshake) one byte at a time cannot
hold `http.send` past it (issue 15)."""

from __future__ import annotations

import ssl
import threading
import time

import pytest

from exactlink.adapters.exact import http
from exactlink.adapters.exact.loopback import ensure_certificate
from exactlink.errors import ExactTooSlow, UsageError
from support.drip import BODY_LENGTH, DripServer

DEADLINE = 1.5
MARGIN = 0.8  # thread wake-ups and a busy CI machine; the drip alone would take minutes


@pytest.fixture(autouse=True)
def _loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _timed_send(session, url: str, deadline: float = DEADLINE):
    started = time.monotonic()
    with pytest.raises(ExactTooSlow) as info:
        http.send(session, "GET", url, deadline=deadline)
    return info.value, time.monotonic() - started


@pytest.mark.parametrize("mode", ["body", "headers"])
def test_a_dripping_server_is_cut_off_at_the_deadline(mode):
    threads = threading.active_count()
    with DripServer(mode) as server:
        session = http.new_session()
        error, took = _timed_send(session, server.url + "/api/v1/current/Me")
        assert server.dripped >= 2  # it really was dripping, each byte within the read timeout
    assert DEADLINE - 0.1 <= took < DEADLINE + MARGIN
    assert error.exit_code == 8 and error.code == "unreachable"
    assert f"127.0.0.1:{server.port}" in error.message and "1.5 s" in error.message
    assert error.details == {"host": f"127.0.0.1:{server.port}", "deadline_seconds": DEADLINE}
    assert "EXACTLINK_HTTP_DEADLINE" in (error.hint or "")
    assert threading.active_count() <= threads  # no timer thread left behind


@pytest.mark.parametrize("mode", ["handshake", "headers", "body"])
def test_over_tls_too(tmp_path, monkeypatch, mode):
    cert, key = ensure_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # verified, against this test's own CA
    with DripServer(mode, tls=context) as server:
        session = http.new_session()
        error, took = _timed_send(session, f"https://localhost:{server.port}/api/v1/current/Me")
    assert took < DEADLINE + MARGIN
    assert f"localhost:{server.port}" in error.message


def test_a_slow_answer_that_ends_in_time_is_read_whole():
    with DripServer("body", interval=0.0005) as server:
        response = http.send(http.new_session(), "GET", server.url + "/x", deadline=20)
    assert response.status_code == 200 and len(response.content) == BODY_LENGTH


def test_the_session_still_works_after_a_deadline_passed(sandbox):
    session = http.new_session()
    with DripServer("headers") as server:
        _timed_send(session, server.url + "/x")
    response = http.send(session, "GET", sandbox.base_url + "/_sandbox/stats", deadline=10)
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "601", "1e12", "soon"])
def test_the_deadline_variable_is_checked(monkeypatch, value):
    monkeypatch.setenv("EXACTLINK_HTTP_DEADLINE", value)
    with pytest.raises(UsageError) as info:
        http.request_deadline()
    assert info.value.exit_code == 2
    assert "from 1 to 600" in info.value.message


def test_the_deadline_variable_sets_the_limit(monkeypatch):
    monkeypatch.setenv("EXACTLINK_HTTP_DEADLINE", "2.5")
    assert http.request_deadline() == 2.5
    monkeypatch.delenv("EXACTLINK_HTTP_DEADLINE")
    assert http.request_deadline() == http.DEFAULT_DEADLINE
