"""Helpers for the Exact connection tests: a sandbox whose registered redirect URI is ours, a
portal and the app set through the CLI, and scripted consent (no person at the keyboard)."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass

# One of each sandbox helper, in support/sandbox.py; re-exported for the Exact tests.
from support.sandbox import LOOPBACK_REDIRECT_OPT_OUT, auth_url, free_port
from support.sandbox import advance as advance
from support.sandbox import login_of as login

PORTAL = "Kantoor Peeters"
FIXED_STATE = "test-state-123"


def control(sb, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(sb.base_url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stats(sb) -> dict:
    return control(sb, "GET", "/_sandbox/stats")


@dataclass
class World:
    sb: object
    redirect_uri: str
    portal: str = PORTAL

    @property
    def app(self) -> dict:
        return self.sb.seed["app"]

    def auth_url(self, state: str = FIXED_STATE) -> str:
        return auth_url(self.sb, state, redirect_uri=self.redirect_uri)

    def consent(self, url: str | None = None, role: str = "firm", **kwargs) -> str:
        from exactlink_sandbox.autoconsent import authorize

        who = login(self.sb, role, kwargs.pop("index", 0))
        return authorize(url or self.auth_url(), who["username"], who["password"], **kwargs)


def make_world(
    sandbox_factory,
    cli,
    *,
    scheme: str = "http",
    host: str = "127.0.0.1",
    insecure: bool = True,
    portal: str = PORTAL,
    set_app: bool = True,
    clients: int = 6,
    seed: int = 1,
    **switches,
) -> World:
    """A strict sandbox registered with a free loopback redirect URI, a portal, and the app set
    (``insecure``: secrets in the home's file store, for tests that do not test the keyring)."""
    redirect = f"{scheme}://{host}:{free_port()}/callback"
    # A loopback redirect needs the one named opt-out (support/sandbox.py); make_strict_world
    # below registers a public HTTPS relay page instead and needs none.
    switches = {**LOOPBACK_REDIRECT_OPT_OUT, **switches}
    sb = sandbox_factory(clients=clients, seed=seed, redirect_uri=redirect, **switches)
    world = World(sb, redirect, portal)
    result = cli("portal", "create", portal, "--email", "kantoor@example.nl")
    assert result.exit_code == 0, result.stderr
    if set_app:
        args = [
            "exact",
            "app",
            "set",
            "--client-id",
            world.app["client_id"],
            "--redirect-uri",
            redirect,
            "--base-url",
            sb.base_url,
        ]
        if insecure:
            args.append("--insecure-storage")
        result = cli(*args, input=world.app["client_secret"] + "\n")
        assert result.exit_code == 0, result.stderr
    return world


def connect_inprocess(world: World, cli, monkeypatch, *args: str, role: str = "firm", **kw):
    """`exact connect --no-browser` in-process, the redirect pasted on stdin (fixed state)."""
    monkeypatch.setattr("exactlink.adapters.exact.oauth.new_state", lambda: FIXED_STATE)
    redirect = world.consent(role=role, **kw)
    return cli("exact", "connect", "--no-browser", *args, input=redirect + "\n")


def connected(sandbox_factory, cli, monkeypatch, *, clients: int = 14, seed: int = 1, **switches):
    """``make_world`` with the firm's connection made (scripted consent, insecure storage)."""
    world = make_world(sandbox_factory, cli, clients=clients, seed=seed, **switches)
    result = connect_inprocess(world, cli, monkeypatch)
    assert result.exit_code == 0, result.stderr
    return world


def seed_clients(sb) -> list[dict]:
    """The seed's client companies (not the firm's practice, not HQ)."""
    return [c for c in sb.seed["companies"] if c["kind"] == "client"]


# ---------------------------------------------------------------------------- the real rules
# What the real Exact Online demands (reference, December 2026 notes), switched on explicitly
# so these tests keep their meaning whatever the sandbox's default profile is.
STRICT = {"require_https_redirect": True, "code_exchange_counts": True, "accept_basic_auth": False}
RELAY_URI = "https://auth.exactlink.test/callback"


def make_strict_world(
    sandbox_factory,
    cli,
    *,
    relay: bool = True,
    secret: str | None = None,
    clients: int = 6,
    insecure: bool = True,
    **switches,
) -> World:
    """A strict sandbox whose app is registered with a public-looking HTTPS redirect URI (the
    firm's relay page, or any HTTPS page for ``relay=False``), a portal, and the app set
    (``insecure``: secrets in the home's file store; otherwise in the keyring)."""
    sb = sandbox_factory(clients=clients, seed=1, redirect_uri=RELAY_URI, **{**STRICT, **switches})
    world = World(sb, RELAY_URI)
    assert cli("portal", "create", PORTAL, "--email", "kantoor@example.nl").exit_code == 0
    args = ["exact", "app", "set", "--client-id", world.app["client_id"]]
    args += ["--redirect-uri", RELAY_URI, "--base-url", sb.base_url]
    if insecure:
        args.append("--insecure-storage")
    if relay:
        args.append("--relay")
    result = cli(*args, input=(secret or world.app["client_secret"]) + "\n")
    assert result.exit_code == 0, result.stderr
    return world


def auth_url_from(proc, base_url: str, stream=None, deadline: float = 20) -> str:
    """Read a running `exactlink exact connect`'s stderr (or ``stream``) until it prints the
    authorize URL; kill it and fail with what it printed when none comes."""
    stream = stream or proc.stderr
    end = time.monotonic() + deadline
    seen = []
    while time.monotonic() < end:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith(base_url + "/api/oauth2/auth?"):
            return line.strip()
    proc.kill()
    raise AssertionError("no authorize URL: " + "".join(seen))
