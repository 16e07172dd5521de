"""Rate limits and the error block (reference §5), over real HTTP."""

from __future__ import annotations

from support.sandbox import advance, api_get, connect, control

MINUTELY = {
    "X-RateLimit-Minutely-Limit",
    "X-RateLimit-Minutely-Remaining",
    "X-RateLimit-Minutely-Reset",
}
DAILY = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}


def _headers(reply) -> set[str]:
    return {h for h in reply.headers if h.startswith("X-RateLimit")}


def test_both_header_families_on_success_with_ms_resets(sandbox):
    token = connect(sandbox)["access_token"]
    division = sandbox.seed["firm"]["division"]
    reply = api_get(sandbox, token, f"{division}/system/Divisions")
    assert _headers(reply) == MINUTELY | DAILY
    assert reply.headers["X-RateLimit-Limit"] == "5000"
    assert reply.headers["X-RateLimit-Remaining"] == "4999"
    assert reply.headers["X-RateLimit-Minutely-Limit"] == "60"
    assert reply.headers["X-RateLimit-Minutely-Remaining"] == "59"
    now_ms = control(sandbox, "GET", "clock").json()["now"] * 1000
    minute_reset = int(reply.headers["X-RateLimit-Minutely-Reset"])
    daily_reset = int(reply.headers["X-RateLimit-Reset"])
    assert len(str(minute_reset)) == 13
    assert minute_reset % 60_000 == 0 and 0 < minute_reset - now_ms <= 60_000
    assert daily_reset % 86_400_000 == 0 and 0 < daily_reset - now_ms <= 86_400_000


def test_minutely_limit_gives_429_with_only_minutely_headers(sandbox_factory):
    sb = sandbox_factory(clients=3, minutely_limit=3)
    token = connect(sb)["access_token"]
    division = sb.seed["firm"]["division"]
    # Start at the top of a minute so the window does not roll over mid-test.
    now = control(sb, "GET", "clock").json()["now"]
    advance(sb, 60 - now % 60 + 0.01)
    for _ in range(3):
        assert api_get(sb, token, f"{division}/system/Divisions").status_code == 200
    limited = api_get(sb, token, f"{division}/system/Divisions")
    assert limited.status_code == 429
    assert _headers(limited) == MINUTELY
    assert limited.headers["X-RateLimit-Minutely-Remaining"] == "0"
    # Other divisions have their own budget (per app, per division).
    other = next(
        c["division"]
        for c in sb.seed["companies"]
        if c["division"] in sb.seed["visible_divisions"]
        and c["blocking_status"] == 0
        and c["division"] != division
    )
    assert api_get(sb, token, f"{other}/crm/Accounts", {"$select": "ID"}).status_code == 200
    advance(sb, 60)
    assert api_get(sb, token, f"{division}/system/Divisions").status_code == 200
    assert control(sb, "GET", "stats").json()["rate_limited"] == {str(division): 1}


def test_daily_limit_gives_429_with_only_daily_headers(sandbox_factory):
    sb = sandbox_factory(clients=3, daily_limit=2)
    division = sb.seed["firm"]["division"]
    now = control(sb, "GET", "clock").json()["now"]
    advance(sb, 86400 - now % 86400 + 1)  # just after 00:00 UTC
    token = connect(sb)["access_token"]
    for _ in range(2):
        assert api_get(sb, token, f"{division}/system/Divisions").status_code == 200
        advance(sb, 61)
    limited = api_get(sb, token, f"{division}/system/Divisions")
    assert limited.status_code == 429
    assert _headers(limited) == DAILY
    advance(sb, 86400)  # the next UTC day
    token = connect(sb)["access_token"]
    assert api_get(sb, token, f"{division}/system/Divisions").status_code == 200


def test_error_block_after_more_than_10_errors_an_hour(sandbox):
    token = connect(sandbox)["access_token"]
    division = sandbox.seed["firm"]["division"]
    path = f"{division}/crm/Accounts"
    for _ in range(11):
        assert api_get(sandbox, token, path).status_code == 400  # missing $select
    blocked = api_get(sandbox, token, path, {"$select": "ID"})
    assert blocked.status_code == 429
    assert blocked.headers["Reason"] == "ErrorLimitExceeded"
    assert "Too many errors" in blocked.json()["error"]["message"]["value"]
    # Only that endpoint in that division is blocked.
    assert api_get(sandbox, token, f"{division}/system/Divisions").status_code == 200
    stats = control(sandbox, "GET", "stats").json()
    assert stats["api_errors"][str(division)] == 12
    assert stats["error_blocks"] == {str(division): 1}
    advance(sandbox, 3601)
    token = connect(sandbox)["access_token"]
    assert api_get(sandbox, token, path, {"$select": "ID"}).status_code == 200


def test_ten_errors_do_not_block_and_old_errors_age_out(sandbox):
    token = connect(sandbox)["access_token"]
    path = f"{sandbox.seed['firm']['division']}/crm/Accounts"
    for _ in range(10):
        api_get(sandbox, token, path)
    assert api_get(sandbox, token, path, {"$select": "ID"}).status_code == 200
    advance(sandbox, 3600)
    token = connect(sandbox)["access_token"]
    api_get(sandbox, token, path)  # the earlier ten have aged out of the hour
    assert api_get(sandbox, token, path, {"$select": "ID"}).status_code == 200


def test_limits_are_configurable_at_run_time(sandbox):
    reply = control(sandbox, "POST", "limits", {"minutely_limit": 1, "error_limit": 1})
    assert reply.status_code == 200
    assert reply.json()["minutely_limit"] == 1
    token = connect(sandbox)["access_token"]
    path = f"{sandbox.seed['firm']['division']}/system/Divisions"
    now = control(sandbox, "GET", "clock").json()["now"]
    advance(sandbox, 60 - now % 60 + 0.01)
    assert api_get(sandbox, token, path).status_code == 200
    assert api_get(sandbox, token, path).status_code == 429
    bad = control(sandbox, "POST", "limits", {"html_401": True})
    assert bad.status_code == 400


def test_blocked_status_switch(sandbox_factory):
    sb = sandbox_factory(clients=3, error_limit=1, blocked_status=403)
    token = connect(sb)["access_token"]
    path = f"{sb.seed['firm']['division']}/crm/Accounts"
    api_get(sb, token, path)
    api_get(sb, token, path)
    blocked = api_get(sb, token, path, {"$select": "ID"})
    assert blocked.status_code == 403
    assert blocked.headers["Reason"] == "ErrorLimitExceeded"
