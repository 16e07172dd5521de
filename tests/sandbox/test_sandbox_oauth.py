"""OAuth rules of the sandbox (reference §2), driven over real HTTP as a client would."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from exactlink_sandbox.autoconsent import AutoConsentError, authorize
from support.sandbox import (
    LOOPBACK_REDIRECT_OPT_OUT,
    advance,
    api_get,
    auth_url,
    connect,
    control,
    get_code,
    login_of,
    refresh,
    token_call,
)


def _query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# ---------------------------------------------------------------------------- authorize
def test_authorize_shows_a_login_form(sandbox):
    reply = requests.get(auth_url(sandbox), timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert '<form method="post" action="/api/oauth2/auth"' in reply.text
    assert 'name="password"' in reply.text


def test_authorize_accepts_a_trailing_slash(sandbox):
    url = auth_url(sandbox).replace("/api/oauth2/auth?", "/api/oauth2/auth/?")
    assert requests.get(url, timeout=5).status_code == 200


def test_redirect_uri_must_match_byte_for_byte(sandbox):
    registered = sandbox.seed["app"]["redirect_uri"]
    for wrong in (
        registered + "/",
        registered.replace("https://", "http://"),
        registered.upper(),
    ):
        reply = requests.get(
            auth_url(sandbox, redirect_uri=wrong), allow_redirects=False, timeout=5
        )
        assert reply.status_code == 400
        assert "Location" not in reply.headers
        assert "Callback URI" in reply.text and "is not valid" in reply.text


def test_unknown_client_id_is_an_error_page(sandbox):
    reply = requests.get(auth_url(sandbox, client_id="nope"), allow_redirects=False, timeout=5)
    assert reply.status_code == 400
    assert "client_id" in reply.text


def test_error_page_escapes_the_redirect_uri(sandbox):
    evil = 'http://127.0.0.1:1/"><script>alert(1)</script>'
    reply = requests.get(auth_url(sandbox, redirect_uri=evil), timeout=5)
    assert "<script>alert(1)" not in reply.text
    assert "&lt;script&gt;" in reply.text


def test_login_page_escapes_state(sandbox):
    reply = requests.get(auth_url(sandbox, state='"><b>x</b>'), timeout=5)
    assert "<b>x</b>" not in reply.text
    assert "&quot;&gt;&lt;b&gt;" in reply.text


def test_lenient_https_switch_alone_allows_https_localhost(sandbox_factory):
    # Lenient by name: the weaker HTTPS-only switch on top of the lenient profile.
    sb = sandbox_factory(clients=3, profile="lenient")
    control(sb, "POST", "switches", {"require_https_redirect": True})
    reply = requests.get(auth_url(sb), timeout=5)
    assert reply.status_code == 400 and "HTTPS" in reply.text
    sb2 = sandbox_factory(
        clients=3,
        profile="lenient",
        require_https_redirect=True,
        redirect_uri="https://localhost:8443/cb",
    )
    assert requests.get(auth_url(sb2), timeout=5).status_code == 200


def test_wrong_password_stays_on_the_login_page(sandbox):
    login = login_of(sandbox)
    with pytest.raises(AutoConsentError, match="Wrong user name or password"):
        authorize(auth_url(sandbox), login["username"], "wrong")


def test_consent_page_pre_ticks_the_seed_grants(sandbox):
    login = login_of(sandbox)
    session = requests.Session()
    first = session.get(auth_url(sandbox), timeout=5).text
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', first))
    page = session.post(
        f"{sandbox.base_url}/api/oauth2/auth",
        data={**fields, "username": login["username"], "password": login["password"]},
        timeout=5,
    ).text
    ticked = {int(c) for c in re.findall(r'value="(\d+)" id="division-\d+" checked', page)}
    shown = {int(c) for c in re.findall(r'name="division" value="(\d+)"', page)}
    companies = sandbox.seed["companies"]
    assert shown == {c["division"] for c in companies if c["login_has_access"]}
    assert ticked == {
        c["division"] for c in companies if c["login_has_access"] and c["granted_to_app"]
    }
    assert "Alle huidige en toekomstige administraties" in page
    assert 'id="decline"' in page
    # Accented names come out as UTF-8 and escaped.
    assert any(ord(ch) > 127 for ch in page)


def test_accepting_as_is_redirects_with_code_and_state(sandbox):
    login = login_of(sandbox)
    location = authorize(auth_url(sandbox, state="abc 123"), login["username"], login["password"])
    assert location.startswith(sandbox.seed["app"]["redirect_uri"] + "?")
    q = _query(location)
    assert q["state"] == "abc 123"
    assert "!" in q["code"]  # codes contain "!" (§2.3)
    assert "%21" in location  # ... which arrives URL-encoded


def test_decline_redirects_with_access_denied_and_state(sandbox):
    login = login_of(sandbox)
    location = authorize(
        auth_url(sandbox, state="s9"), login["username"], login["password"], decline=True
    )
    q = _query(location)
    assert q["error"] == "access_denied"
    assert q["state"] == "s9"
    assert "code" not in q


def test_consent_selection_becomes_the_grant(sandbox):
    companies = [
        c for c in sandbox.seed["companies"] if c["login_has_access"] and c["kind"] == "client"
    ]
    pick = sorted(c["division"] for c in companies[:2])
    connect(sandbox, select=pick)
    grant = control(sandbox, "GET", "grant").json()
    assert grant["all"] is False
    inaccessible = {
        c["division"]
        for c in sandbox.seed["companies"]
        if not c["login_has_access"] and c["granted_to_app"]
    }
    assert set(grant["divisions"]) == set(pick) | inaccessible


def test_session_cookie_skips_login_unless_force_login(sandbox):
    login = login_of(sandbox)
    session = requests.Session()
    first = session.get(auth_url(sandbox), timeout=5).text
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', first))
    session.post(
        f"{sandbox.base_url}/api/oauth2/auth",
        data={**fields, "username": login["username"], "password": login["password"]},
        timeout=5,
    )
    assert 'id="consentform"' in session.get(auth_url(sandbox), timeout=5).text
    assert 'id="loginform"' in session.get(auth_url(sandbox, force_login="1"), timeout=5).text


def test_autoconsent_follow_hits_the_redirect_uri(sandbox_factory):
    import http.server
    import threading

    hits: list[str] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    listener = http.server.HTTPServer(("127.0.0.1", 0), Listener)
    thread = threading.Thread(target=listener.handle_request, daemon=True)
    thread.start()
    uri = f"http://127.0.0.1:{listener.server_address[1]}/callback"
    # A loopback listener is what this test is about: opt out of that one strict rule, by name.
    sb = sandbox_factory(clients=3, redirect_uri=uri, **LOOPBACK_REDIRECT_OPT_OUT)
    login = login_of(sb)
    location = authorize(auth_url(sb), login["username"], login["password"], follow=True)
    thread.join(5)
    listener.server_close()
    assert hits and hits[0].startswith("/callback?code=")
    assert location.startswith(uri)


# ---------------------------------------------------------------------------- token endpoint
def test_code_exchange_returns_the_exact_shape(sandbox):
    tokens = connect(sandbox)
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert tokens["expires_in"] == "600"  # a string (§2.5)
    assert tokens["token_type"] == "bearer"
    assert "!" in tokens["refresh_token"]


def test_code_is_single_use(sandbox):
    code = get_code(sandbox)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": sandbox.seed["app"]["redirect_uri"],
    }
    assert token_call(sandbox, **form).status_code == 200
    again = token_call(sandbox, **form)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "Token is not allowed, because of invalid or empty chainId",
    }


def test_code_expires_after_180_seconds(sandbox):
    code = get_code(sandbox)
    advance(sandbox, 181)
    reply = token_call(
        sandbox,
        grant_type="authorization_code",
        code=code,
        redirect_uri=sandbox.seed["app"]["redirect_uri"],
    )
    assert reply.status_code == 400
    assert control(sandbox, "GET", "stats").json()["token_errors"]["invalid_code"] == 1


def test_code_exchange_checks_redirect_uri(sandbox):
    code = get_code(sandbox)
    reply = token_call(
        sandbox, grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:1/x"
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


def test_token_endpoint_refuses_json(sandbox):
    app = sandbox.seed["app"]
    reply = requests.post(
        f"{sandbox.base_url}/api/oauth2/token",
        json={
            "grant_type": "refresh_token",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
        timeout=5,
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"


def test_wrong_secret_is_invalid_client(sandbox):
    reply = token_call(sandbox, grant_type="refresh_token", refresh_token="x", client_secret="bad")
    assert reply.status_code == 400
    assert reply.json() == {"error": "invalid_client"}


def test_http_basic_client_authentication(sandbox):
    app = sandbox.seed["app"]
    code = get_code(sandbox)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    reply = requests.post(
        f"{sandbox.base_url}/api/oauth2/token",
        data=urlencode(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": app["redirect_uri"]}
        ),
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=5,
    )
    assert reply.status_code == 200, reply.text


def test_unknown_grant_type(sandbox):
    reply = token_call(sandbox, grant_type="password")
    assert reply.status_code == 400
    assert reply.json()["error"] == "unsupported_grant_type"


def test_refresh_rotates_and_the_old_token_answers_401(sandbox):
    tokens = connect(sandbox)
    advance(sandbox, 570)  # the code exchange counts for the 570 s rule
    fresh = refresh(sandbox, tokens["refresh_token"])
    assert fresh.status_code == 200
    assert fresh.json()["refresh_token"] != tokens["refresh_token"]
    advance(sandbox, 600)
    old = refresh(sandbox, tokens["refresh_token"])
    assert old.status_code == 401
    assert old.json() == {
        "error": "unauthorized_client",
        "error_description": "Old refresh token used.",
    }


def test_too_early_refresh_is_refused_with_reason_header(sandbox):
    tokens = connect(sandbox)
    advance(sandbox, 570)  # the code exchange counts (strict)
    first = refresh(sandbox, tokens["refresh_token"])
    assert first.status_code == 200
    advance(sandbox, 569)
    early = refresh(sandbox, first.json()["refresh_token"])
    assert early.status_code == 400
    assert early.json() == {
        "error": "access_denied",
        "error_description": "Rate limit exceeded: access_token not expired",
    }
    assert (
        early.headers["Reason"]
        == "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired"
    )
    advance(sandbox, 1)
    assert refresh(sandbox, first.json()["refresh_token"]).status_code == 200  # 570 s: allowed
    stats = control(sandbox, "GET", "stats").json()
    assert stats["token_errors"] == {"TooEarlyToRefreshTokens": 1}
    assert stats["token_calls"] == 4


def test_code_exchange_counts_in_strict_not_in_lenient(sandbox_factory):
    sb = sandbox_factory(clients=3)
    tokens = connect(sb)
    assert refresh(sb, tokens["refresh_token"]).status_code == 400
    advance(sb, 570)
    assert refresh(sb, tokens["refresh_token"]).status_code == 200
    lenient = sandbox_factory(clients=3, profile="lenient")
    assert refresh(lenient, connect(lenient)["refresh_token"]).status_code == 200


def test_refresh_token_expires_after_30_days(sandbox):
    tokens = connect(sandbox)
    advance(sandbox, 30 * 86400 + 5)
    reply = refresh(sandbox, tokens["refresh_token"])
    assert reply.status_code == 400
    body = reply.json()
    assert body["error"] == "invalid_request"
    assert re.fullmatch(
        r"The refresh token expired at \d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M and it is now "
        r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M\.",
        body["error_description"],
    )


def test_refresh_within_30_days_keeps_the_chain_alive(sandbox):
    tokens = connect(sandbox)
    advance(sandbox, 29 * 86400)
    fresh = refresh(sandbox, tokens["refresh_token"])
    assert fresh.status_code == 200
    advance(sandbox, 29 * 86400)
    assert refresh(sandbox, fresh.json()["refresh_token"]).status_code == 200


def test_reauthorising_kills_the_earlier_chain(sandbox):
    first = connect(sandbox)
    advance(sandbox, 570)  # re-authorising is a token issue too (570 s rule)
    second = connect(sandbox)
    advance(sandbox, 600)
    dead = refresh(sandbox, first["refresh_token"])
    assert dead.status_code == 401
    assert dead.json()["error_description"] == "Old refresh token used."
    assert refresh(sandbox, second["refresh_token"]).status_code == 200
    assert control(sandbox, "GET", "chain").json()["generation"] == 2


def test_obsoleted_chain_message_switch(sandbox_factory):
    sb = sandbox_factory(clients=3, obsoleted_chain_error="obsoleted")
    first = connect(sb)
    advance(sb, 570)
    connect(sb)
    dead = refresh(sb, first["refresh_token"])
    assert dead.status_code == 400
    assert dead.json() == {
        "error": "invalid_grant",
        "error_description": "An obsoleted refresh token can not be used.",
    }


def test_other_login_has_its_own_chain(sandbox):
    firm = connect(sandbox)
    connect(sandbox, role="client")
    advance(sandbox, 570)
    assert refresh(sandbox, firm["refresh_token"]).status_code == 200


def test_grace_keeps_the_previous_token_until_the_new_one_is_used(sandbox_factory):
    sb = sandbox_factory(clients=3, refresh_grace=True)
    tokens = connect(sb)
    advance(sb, 570)
    new = refresh(sb, tokens["refresh_token"]).json()
    advance(sb, 600)
    again = refresh(sb, tokens["refresh_token"])  # the response was "lost": reuse the old one
    assert again.status_code == 200
    advance(sb, 600)
    # The first successor was never used and is now superseded too.
    assert refresh(sb, new["refresh_token"]).status_code == 401
    assert refresh(sb, again.json()["refresh_token"]).status_code == 200


def test_no_grace_by_default(sandbox):
    tokens = connect(sandbox)
    advance(sandbox, 570)
    refresh(sandbox, tokens["refresh_token"])
    advance(sandbox, 600)
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 401


def test_daily_token_cap(sandbox_factory):
    sb = sandbox_factory(clients=3, token_daily_cap=2)
    tokens = connect(sb)
    advance(sb, 570)
    token = refresh(sb, tokens["refresh_token"]).json()["refresh_token"]
    advance(sb, 600)
    capped = refresh(sb, token)
    assert capped.status_code == 400
    assert capped.headers["Reason"].startswith("TooManyTokenRequests")


def test_revoke_kills_refresh_and_access_tokens(sandbox):
    tokens = connect(sandbox)
    reply = control(sandbox, "POST", "revoke", {})
    assert reply.json()["revoked_refresh_tokens"] == 1
    assert api_get(sandbox, tokens["access_token"], "current/Me").status_code == 401
    dead = refresh(sandbox, tokens["refresh_token"])
    assert dead.status_code == 400
    assert dead.json()["error"] == "invalid_grant"


def test_token_type_switch(sandbox_factory):
    sb = sandbox_factory(clients=3, token_type="Bearer")
    assert connect(sb)["token_type"] == "Bearer"


def test_basic_auth_can_be_refused(sandbox_factory):
    sb = sandbox_factory(clients=3, accept_basic_auth=False)
    app = sb.seed["app"]
    code = get_code(sb)
    reply = requests.post(
        f"{sb.base_url}/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app["redirect_uri"],
        },
        auth=(app["client_id"], app["client_secret"]),
        timeout=5,
    )
    assert reply.status_code == 400
    assert reply.json() == {"error": "invalid_client"}


def test_token_endpoint_is_post_only(sandbox):
    reply = requests.get(f"{sandbox.base_url}/api/oauth2/token", timeout=5)
    assert reply.status_code == 405


def test_unsupported_response_type_redirects_with_error(sandbox):
    reply = requests.get(auth_url(sandbox, response_type="token"), allow_redirects=False, timeout=5)
    assert reply.status_code == 302
    q = _query(reply.headers["Location"])
    assert q["error"] == "unsupported_response_type" and q["state"] == "st-1"
