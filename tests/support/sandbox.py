"""pytest fixtures for the local Exact Online (``exactlink_sandbox``).

* ``sandbox``: a fresh ``Sandbox(clients=12, seed=1)``, started before and stopped after the test.
* ``sandbox_factory(**kwargs)``: start sandboxes with any arguments; all stopped at teardown.

Both use the sandbox's default, the **strict** profile (as strict as Exact Online). A test that
needs the forgiving behaviour says so by name: ``sandbox_factory(profile="lenient")``, or opts out
of one rule by its switch name.
"""

from __future__ import annotations

import pytest

# Strict Exact refuses a loopback redirect URI (a public HTTPS one only). exactlink's loopback and
# loopback-tls modes exist for servers that allow one, so tests that connect through
# http://127.0.0.1:PORT/callback (``exactkit.make_world``) opt out of exactly that ONE strict rule,
# by this name; every other strict rule stays on for them. Relay mode (public HTTPS, strict as is)
# has landed: tests that only need *a* connection can move to ``exactkit.make_strict_world`` and
# drop the opt-out (grep for LOOPBACK_REDIRECT_OPT_OUT).
LOOPBACK_REDIRECT_OPT_OUT = {"require_public_https_redirect": False}


@pytest.fixture
def sandbox_factory():
    """Start sandboxes on demand: ``sb = sandbox_factory(clients=3, list_archived=False)``."""
    from exactlink_sandbox import Sandbox

    started: list[Sandbox] = []

    def make(**kwargs) -> Sandbox:
        sb = Sandbox(**kwargs).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox(sandbox_factory):
    """A running ``Sandbox(clients=12, seed=1)`` for one test."""
    return sandbox_factory(clients=12, seed=1)


# ---------------------------------------------------------------------------- helpers
# Plain functions (not fixtures) that drive the sandbox over HTTP the way a client would.


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a redirect URI's listener)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def auth_url(sb, state: str = "st-1", **extra) -> str:
    """The authorize URL for the sandbox's registered app (``extra`` adds or overrides
    parameters, e.g. another ``redirect_uri``)."""
    from urllib.parse import urlencode

    app = sb.seed["app"]
    params = {
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uri"],
        "response_type": "code",
        "state": state,
        **extra,
    }
    return f"{sb.base_url}/api/oauth2/auth?{urlencode(params)}"


def login_of(sb, role: str = "firm", index: int = 0) -> dict:
    """The ``index``-th seeded login with ``role`` (firm or client)."""
    return [login for login in sb.seed["logins"] if login["role"] == role][index]


def get_code(sb, role: str = "firm", select=None) -> str:
    """Log in and consent with autoconsent; return the (URL-decoded) code."""
    from urllib.parse import parse_qs, urlsplit

    from exactlink_sandbox.autoconsent import authorize

    login = login_of(sb, role)
    location = authorize(auth_url(sb), login["username"], login["password"], select=select)
    return parse_qs(urlsplit(location).query)["code"][0]


def token_call(sb, **form):
    """POST /api/oauth2/token with the app's credentials in the body (form-encoded)."""
    import requests

    app = sb.seed["app"]
    data = {"client_id": app["client_id"], "client_secret": app["client_secret"], **form}
    return requests.post(f"{sb.base_url}/api/oauth2/token", data=data, timeout=10)


def connect(sb, role: str = "firm", select=None) -> dict:
    """Full authorization-code flow; returns the token response JSON."""
    code = get_code(sb, role, select)
    reply = token_call(
        sb, grant_type="authorization_code", code=code, redirect_uri=sb.seed["app"]["redirect_uri"]
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def refresh(sb, refresh_token: str):
    return token_call(sb, grant_type="refresh_token", refresh_token=refresh_token)


def api_get(sb, access_token: str, path: str, params: dict | None = None):
    """GET /api/v1/{path} with a bearer token and ``Accept: application/json``."""
    import requests

    return requests.get(
        f"{sb.base_url}/api/v1/{path}",
        params=params,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=10,
    )


def control(sb, method: str, name: str, body: dict | None = None):
    """Call a /_sandbox/ control and return the response."""
    import requests

    return requests.request(method, f"{sb.base_url}/_sandbox/{name}", json=body, timeout=10)


def advance(sb, seconds: float) -> dict:
    reply = control(sb, "POST", "clock", {"advance_seconds": seconds})
    assert reply.status_code == 200, reply.text
    return reply.json()


def usable_division(sb) -> int:
    """A client division the firm login sees and may use: visible, granted, not blocked."""
    return next(
        c["division"]
        for c in reversed(sb.seed["companies"])
        if c["division"] in sb.seed["visible_divisions"]
        and c["kind"] == "client"
        and c["blocking_status"] == 0
    )
