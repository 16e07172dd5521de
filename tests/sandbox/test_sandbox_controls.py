"""The /_sandbox/ control API (docs/sandbox.md), faults and concurrency."""

from __future__ import annotations

import threading

import pytest
import requests

from support.sandbox import advance, api_get, connect, control, refresh, usable_division


def test_clock_advances(sandbox):
    before = control(sandbox, "GET", "clock").json()
    after = advance(sandbox, 3600)
    assert after["offset_seconds"] == 3600
    assert after["now"] - before["now"] >= 3600
    assert control(sandbox, "POST", "clock", {"advance_seconds": -1}).status_code == 400
    assert control(sandbox, "POST", "clock", {"advance_seconds": "x"}).status_code == 400


def test_stats_contract_and_reset(sandbox):
    stats = control(sandbox, "GET", "stats").json()
    assert {"token_calls", "token_errors", "api_calls", "api_errors"} <= set(stats)
    tokens = connect(sandbox)
    division = sandbox.seed["firm"]["division"]
    api_get(sandbox, tokens["access_token"], f"{division}/system/Divisions")
    api_get(sandbox, tokens["access_token"], f"{division}/crm/Accounts")  # 400
    refresh(sandbox, "nonsense")
    stats = control(sandbox, "GET", "stats").json()
    assert stats["token_calls"] == 2
    assert stats["token_errors"] == {"invalid_grant": 1}
    assert stats["api_calls"] == {str(division): 2}
    assert stats["api_errors"] == {str(division): 1}
    reset = control(sandbox, "POST", "stats/reset", {}).json()
    assert reset["token_calls"] == 0 and reset["api_calls"] == {}


def test_seed_endpoint_equals_python_seed(sandbox):
    assert control(sandbox, "GET", "seed").json() == sandbox.seed


def test_grant_control(sandbox):
    tokens = connect(sandbox)
    division = usable_division(sandbox)
    reply = control(sandbox, "POST", "grant", {"remove": [division]})
    assert division not in reply.json()["divisions"]
    path = f"{division}/crm/Accounts"
    assert api_get(sandbox, tokens["access_token"], path, {"$select": "ID"}).status_code == 403
    control(sandbox, "POST", "grant", {"add": [division]})
    assert api_get(sandbox, tokens["access_token"], path, {"$select": "ID"}).status_code == 200
    replaced = control(sandbox, "POST", "grant", {"divisions": [division], "all": False}).json()
    assert replaced["divisions"] == [division] and replaced["all"] is False
    assert control(sandbox, "POST", "grant", {"divisions": 5}).status_code == 400


def test_access_control_and_errors(sandbox):
    division = usable_division(sandbox)
    reply = control(sandbox, "POST", "access", {"division": division, "has_access": False})
    assert reply.status_code == 200 and reply.json()["has_access"] is False
    tokens = connect(sandbox)
    denied = api_get(sandbox, tokens["access_token"], f"{division}/crm/Accounts", {"$select": "ID"})
    assert denied.headers["Reason"] == "NoDivisionAccess"
    assert control(sandbox, "POST", "access", {"division": division}).status_code == 400
    unknown = control(
        sandbox, "POST", "access", {"username": "nobody", "division": 1, "has_access": True}
    )
    assert unknown.status_code == 404


def test_company_control(sandbox):
    tokens = connect(sandbox)
    division = usable_division(sandbox)
    reply = control(
        sandbox, "POST", "company", {"division": division, "blocking_status": 4, "status": 2}
    )
    assert reply.json()["blocking_status"] == 4
    denied = api_get(sandbox, tokens["access_token"], f"{division}/crm/Accounts", {"$select": "ID"})
    assert denied.status_code == 403 and denied.headers["Reason"] == "DivisionBlocked"
    assert control(sandbox, "POST", "company", {"division": 1}).status_code == 404


def test_switches_control(sandbox):
    all_switches = control(sandbox, "GET", "switches").json()
    assert all_switches["list_archived"] is True and all_switches["page_size"] == 60
    reply = control(sandbox, "POST", "switches", {"html_401": True})
    assert reply.json()["html_401"] is True
    assert "Object moved" in api_get(sandbox, "x", "current/Me").text
    assert control(sandbox, "POST", "switches", {"nope": 1}).status_code == 400
    assert control(sandbox, "POST", "switches", {"html_401": "yes"}).status_code == 400


def test_unknown_control_is_404(sandbox):
    assert control(sandbox, "GET", "nothing").status_code == 404


def test_fault_http500_on_token(sandbox):
    tokens = connect(sandbox)
    armed = control(sandbox, "POST", "faults", {"kind": "http500", "path": "token", "count": 1})
    assert armed.json()["faults"] == [{"kind": "http500", "path": "token", "count": 1}]
    advance(sandbox, 600)
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 500
    # The fault did no work: the chain is intact.
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200
    assert control(sandbox, "GET", "faults").json() == {"faults": []}
    assert control(sandbox, "GET", "stats").json()["token_errors"]["injected_fault"] == 1


def test_fault_drop_after_rotate_breaks_the_chain(sandbox):
    tokens = connect(sandbox)
    advance(sandbox, 570)
    control(sandbox, "POST", "faults", {"kind": "drop_after_rotate", "path": "token"})
    with pytest.raises(requests.ConnectionError):
        refresh(sandbox, tokens["refresh_token"])
    advance(sandbox, 600)
    lost = refresh(sandbox, tokens["refresh_token"])
    assert lost.status_code == 401
    assert lost.json()["error_description"] == "Old refresh token used."


def test_fault_on_an_api_path_and_clear(sandbox):
    tokens = connect(sandbox)
    control(
        sandbox, "POST", "faults", {"kind": "http503", "path": "/api/v1/current/Me", "count": 2}
    )
    control(sandbox, "POST", "faults", {"kind": "http500", "path": "api", "count": 5})
    assert api_get(sandbox, tokens["access_token"], "current/Me").status_code == 503
    assert control(sandbox, "DELETE", "faults").json() == {"faults": []}
    assert api_get(sandbox, tokens["access_token"], "current/Me").status_code == 200
    assert control(sandbox, "POST", "faults", {"kind": "boom"}).status_code == 400


def test_chain_control(sandbox):
    assert control(sandbox, "GET", "chain").json()["live"] is False
    connect(sandbox)
    chain = control(sandbox, "GET", "chain").json()
    assert chain["live"] is True and chain["generation"] == 1


def test_sixteen_parallel_refreshes_one_wins(sandbox):
    """Sixteen processes refreshing one chain at once: exactly one gets new tokens (§2.6)."""
    tokens = connect(sandbox)
    advance(sandbox, 570)
    # Fifteen errors in a row: raise the error limit so the hourly block does not kick in.
    control(sandbox, "POST", "limits", {"error_limit": 100})
    results: list[int] = []
    barrier = threading.Barrier(16)

    def race() -> None:
        barrier.wait()
        results.append(refresh(sandbox, tokens["refresh_token"]).status_code)

    threads = [threading.Thread(target=race) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 16
    assert results.count(200) == 1
    assert results.count(401) == 15  # the rest used a token that was just rotated away
    stats = control(sandbox, "GET", "stats").json()
    assert stats["token_calls"] == 17
    assert stats["token_errors"] == {"old_refresh_token": 15}
