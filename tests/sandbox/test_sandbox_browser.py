"""The consent page in a real browser: headless Debian Chromium driven by Playwright.

Skipped on a machine without Chromium or Playwright; fails instead when EXACTLINK_REQUIRE_REAL=1
(CI), through the ``chromium`` fixture in tests/support/real.py.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from support.sandbox import api_get, auth_url, login_of, token_call

pytestmark = pytest.mark.real


def test_login_pick_two_consent_and_list_exactly_those(chromium, sandbox_factory):
    sb = sandbox_factory(
        clients=12, seed=1, redirect_uri="https://auth.exactlink.test/exactlink/callback"
    )
    redirect_uri = sb.seed["app"]["redirect_uri"]
    login = login_of(sb)
    accessible = [c for c in sb.seed["companies"] if c["login_has_access"]]
    # Two ordinary client administrations, one of them not pre-ticked (not granted in the seed).
    first = next(
        c
        for c in accessible
        if c["kind"] == "client"
        and c["granted_to_app"]
        and c["status"] == 1
        and c["blocking_status"] == 0
    )
    second = next(c for c in accessible if c["kind"] == "client" and not c["granted_to_app"])
    pick = {first["division"], second["division"]}

    page = chromium.new_page()
    landed: list[str] = []

    def catch(route) -> None:
        # Nothing listens on the redirect URI: the browser's request is answered here.
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>Return to the terminal.</p>")

    page.route(lambda url: url.startswith(redirect_uri), catch)
    page.goto(auth_url(sb, state="browser-state"))
    page.fill("#username", login["username"])
    page.fill("#password", login["password"])
    page.click("#login")
    page.wait_for_selector("#consentform")
    boxes = page.locator('input[name="division"]')
    assert boxes.count() == len(accessible)
    for i in range(boxes.count()):
        box = boxes.nth(i)
        if int(box.get_attribute("value")) in pick:
            box.check()
        else:
            box.uncheck()
    assert not page.is_checked("#all")
    page.click("#allow")
    page.wait_for_url(lambda url: url.startswith(redirect_uri), timeout=10_000)
    assert landed, "the redirect URI was never requested"
    assert "Return to the terminal" in page.content()
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["browser-state"]
    code = query["code"][0]
    assert "!" in code

    tokens = token_call(sb, grant_type="authorization_code", code=code, redirect_uri=redirect_uri)
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    # Strict: the list is reached only through a granted division (not the practice one here).
    divisions = api_get(sb, access, f"{first['division']}/system/Divisions", {"$select": "Code"})
    assert divisions.status_code == 200
    assert {row["Code"] for row in divisions.json()["d"]["results"]} == pick
    page.close()


def test_decline_in_the_browser(chromium, sandbox_factory):
    sb = sandbox_factory(clients=3, redirect_uri="https://auth.exactlink.test/cb")
    login = login_of(sb)
    page = chromium.new_page()
    landed: list[str] = []
    page.route(
        lambda url: url.startswith("https://auth.exactlink.test/cb"),
        lambda route: (landed.append(route.request.url), route.fulfill(status=200, body="ok")),
    )
    page.goto(auth_url(sb, state="s"))
    page.fill("#username", login["username"])
    page.fill("#password", login["password"])
    page.click("#login")
    page.click("#decline")
    page.wait_for_url(lambda url: url.startswith("https://auth.exactlink.test/cb"), timeout=10_000)
    assert landed
    query = parse_qs(urlsplit(page.url).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s"]
    page.close()
