"""`exactlink exact api` against a server that drips its answer: the real process ends at the
total deadline (EXACTLINK_HTTP_DEADLINE) with exit 8, naming the host and the deadline, instead
of being held for minutes one byte at a time (issue 15).

The firm connects through a real reverse proxy on 127.0.0.1 (tests/support/drip.py) in front of
the sandbox; then the proxy starts dripping."""

from __future__ import annotations

import json
import time

import pytest

from support.drip import DripServer
from support.exactkit import connect_inprocess, make_world

DEADLINE = 3
MARGIN = 4.0  # start-up of a Python process (about 1 s) on a busy 2-core machine


def _connected_through(proxy: DripServer, world, cli, monkeypatch) -> None:
    args = ["exact", "app", "set", "--client-id", world.app["client_id"]]
    args += ["--redirect-uri", world.redirect_uri, "--base-url", proxy.url, "--insecure-storage"]
    assert cli(*args, input=world.app["client_secret"] + "\n").exit_code == 0
    result = connect_inprocess(world, cli, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert cli("exact", "api", "current/Me").exit_code == 0  # through the proxy, at speed


@pytest.mark.parametrize("mode", ["body", "headers"])
def test_exact_api_ends_at_the_deadline_when_the_server_drips(
    sandbox_factory, cli, monkeypatch, run_exactlink, mode
):
    world = make_world(sandbox_factory, cli, set_app=False)
    with DripServer("pass", upstream=world.sb.base_url) as proxy:
        _connected_through(proxy, world, cli, monkeypatch)
        before = proxy.requests.count("GET /api/v1/current/Me")
        proxy.mode = mode
        started = time.monotonic()
        result = run_exactlink(
            "--json", "exact", "api", "current/Me",
            env={"EXACTLINK_HTTP_DEADLINE": str(DEADLINE)}, timeout=60,
        )  # fmt: skip
        took = time.monotonic() - started
        assert proxy.dripped >= 3  # a byte every 0.4 s: each read well inside its timeout
        # Not retried (a GET otherwise is, after a network error): one dripping request.
        assert proxy.requests.count("GET /api/v1/current/Me") == before + 1
    assert result.exit_code == 8, result.stderr
    assert took < DEADLINE + MARGIN
    host = f"127.0.0.1:{proxy.port}"
    assert f"Exact Online ({host}) did not finish answering within 3 s" in result.stderr
    document = json.loads(result.stdout)
    error = document["errors"][0]
    assert error["code"] == "unreachable"
    assert error["details"] == {"host": host, "deadline_seconds": DEADLINE}


def test_a_bad_deadline_variable_is_a_usage_error(sandbox_factory, cli, monkeypatch, run_exactlink):
    world = make_world(sandbox_factory, cli, set_app=False)
    with DripServer("pass", upstream=world.sb.base_url) as proxy:
        _connected_through(proxy, world, cli, monkeypatch)
        result = run_exactlink(
            "--json", "exact", "api", "current/Me", env={"EXACTLINK_HTTP_DEADLINE": "nan"}
        )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["code"] == "usage"
    assert "EXACTLINK_HTTP_DEADLINE=nan is not a number of seconds from 1 to 600" in result.stderr
