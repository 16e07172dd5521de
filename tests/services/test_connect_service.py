"""services.connect with in-memory fakes: the conflict rule, storing before use, marking the
chains a re-authorisation killed, status arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from exactlink.errors import Conflict, ExactUnreachable
from exactlink.models import Connection, Portal
from exactlink.services import connect as svc
from exactlink.services import status as connection_status
from exactlink.services.exact_app import AppSettings
from exactlink.services.keepalive import keepalive

APP = AppSettings("app-1", "http://127.0.0.1:1/cb", "nl", None, "https://site", False)


def _portal(pid: int, name: str) -> Portal:
    return Portal(pid, name, f"{pid}@x", None, None, None, None, "t", "t")


@dataclass
class FakeTokens:
    access_token: str = "A1"
    refresh_token: str = "R1"
    obtained_at: float = 1000.0

    @property
    def access_expires_at(self) -> float:
        return self.obtained_at + 600


class Gateway:
    def __init__(self, me=None, fail_me=False):
        self._me = me or {"UserID": "u-1", "UserName": "jan@x", "CurrentDivision": 42}
        self.fail_me = fail_me
        self.exchanged = []

    def new_state(self):
        return "S"

    def authorize_url(self, state):
        return f"https://site/auth?state={state}"

    def code_from_redirect(self, url, state):
        assert state == "S"
        return "CODE!"

    def exchange(self, code):
        self.exchanged.append(code)
        return FakeTokens()

    def me(self, access_token):
        if self.fail_me:
            raise ExactUnreachable("down")
        return self._me


class Connections:
    def __init__(self):
        self.rows: dict[int, Connection] = {}

    def _new(self, **kw) -> Connection:
        cid = len(self.rows) + 1
        row = Connection(
            id=cid,
            portal_id=kw["portal_id"],
            client_id=kw["client_id"],
            base_url=kw["base_url"],
            app_client_id=kw["app_client_id"],
            status="connected",
            storage=kw["storage"],
            exact_user_id=None,
            exact_username=None,
            exact_full_name=None,
            exact_email=None,
            current_division=None,
            access_expires_at=kw["access_expires_at"],
            refresh_issued_at=kw["token_call_at"],
            last_token_call_at=kw["token_call_at"],
            last_error=None,
            created_at="t",
            updated_at="t",
        )
        self.rows[cid] = row
        return row

    def find(self, portal_id, client_id=None):
        return next(
            (
                r
                for r in self.rows.values()
                if r.portal_id == portal_id and r.client_id == client_id
            ),
            None,
        )

    def get(self, cid):
        return self.rows.get(cid)

    def list(self, portal_id=None):
        return list(self.rows.values())

    def same_identity(self, base_url, app_client_id, exact_user_id=None):
        return [
            r
            for r in self.rows.values()
            if r.base_url == base_url
            and r.app_client_id == app_client_id
            and r.status != "disconnected"
            and (exact_user_id is None or r.exact_user_id == exact_user_id)
        ]

    def save_connected(self, **kw):
        found = self.find(kw["portal_id"], kw["client_id"])
        if found:
            del self.rows[found.id]
        return self._new(**kw)

    def set_identity(self, cid, **kw):
        self.rows[cid] = self.rows[cid]._replace(
            exact_user_id=kw["user_id"],
            exact_username=kw["username"],
            current_division=kw["current_division"],
        )

    def set_status(self, cid, status, last_error=None):
        self.rows[cid] = self.rows[cid]._replace(status=status, last_error=last_error)

    def mark_disconnected(self, cid):
        self.set_status(cid, "disconnected")

    def rate_limits(self, cid):
        return []


class Secrets:
    backend_name = "memory"
    secure = True

    def __init__(self):
        self.data = {}

    def get(self, k):
        return self.data.get(k)

    def set(self, k, v):
        self.data[k] = v

    def delete(self, k):
        self.data.pop(k, None)


class Events:
    def __init__(self):
        self.recorded = []

    def record(self, action, subject=None, **kw):
        self.recorded.append((action, subject, kw))


def _connect(portal, connections, secrets, gateway=None, force=False):
    return svc.connect(
        portal=portal,
        client=None,
        app=APP,
        mode="paste",
        gateway=gateway or Gateway(),
        receive=lambda url, state: "https://cb",
        connections=connections,
        secrets=secrets,
        events=Events(),
        portal_names=lambda pid: f"P{pid}",
        force=force,
    )


def test_connect_stores_tokens_and_identity():
    connections, secrets = Connections(), Secrets()
    result = _connect(_portal(1, "A"), connections, secrets)
    assert result.connection.exact_user_id == "u-1"
    assert result.connection.current_division == 42
    from exactlink.adapters.exact.token_store import TokenPairStore

    pair = TokenPairStore(secrets).read("connection-1")
    assert pair is not None
    assert (pair.access_token, pair.refresh_token) == ("A1", "R1")
    assert pair.access_expires_at == pair.obtained_at + 600  # the expiry in the same unit
    assert sorted(secrets.data) == ["connection-1/tokens", "connection-1/tokens.1"]


def test_tokens_are_stored_before_me_is_called():
    connections, secrets = Connections(), Secrets()
    with pytest.raises(ExactUnreachable):
        _connect(_portal(1, "A"), connections, secrets, Gateway(fail_me=True))
    from exactlink.adapters.exact.token_store import TokenPairStore

    pair = TokenPairStore(secrets).read("connection-1")
    assert pair is not None and pair.refresh_token == "R1"


def test_another_portal_of_the_same_app_needs_force_before_the_browser():
    connections, secrets = Connections(), Secrets()
    _connect(_portal(1, "A"), connections, secrets)
    gateway = Gateway()
    with pytest.raises(Conflict) as conflict:
        _connect(_portal(2, "B"), connections, secrets, gateway)
    assert "--force" in conflict.value.hint
    assert gateway.exchanged == []  # nothing was exchanged: A's chain is intact
    result = _connect(_portal(2, "B"), connections, secrets, force=True)
    assert connections.get(1).status == "needs-reconnect"
    assert connections.get(1).last_error == "obsoleted"
    assert result.warnings


def test_describe_counts_the_days_left():
    connections, secrets = Connections(), Secrets()
    connection = _connect(_portal(1, "A"), connections, secrets).connection
    data = connection_status.describe(
        connection, rate_limits=[], insecure_storage=False, now=1000.0 + 10 * 86400
    )
    assert data["refresh_token_days_left"] == 20.0
    assert data["access_token_seconds_left"] < 0
    assert data["secret_storage"] == "memory" and not data["insecure_storage"]


@pytest.mark.parametrize(
    ("uri", "no_browser", "mode"),
    [
        ("http://127.0.0.1:8765/callback", False, "loopback"),
        ("http://localhost:8765/cb", False, "loopback"),
        ("https://localhost:8765/cb", False, "loopback-tls"),
        ("https://example.com/exact", False, "paste"),
        ("http://127.0.0.1:8765/callback", True, "paste"),
    ],
)
def test_redirect_modes(uri, no_browser, mode):
    from exactlink.services.exact_app import redirect_mode

    assert redirect_mode(uri, no_browser) == mode


def test_require_connection_live_refuses_a_dead_chain_with_the_reconnect_command():
    from exactlink.errors import NotConnected, ReconnectNeeded
    from exactlink.models import Client

    connections, secrets = Connections(), Secrets()
    portal = _portal(1, "A")
    with pytest.raises(NotConnected) as missing:
        connection_status.require_connection(connections, portal)
    assert "exactlink exact connect" in missing.value.hint
    row = _connect(portal, connections, secrets).connection
    connections.set_status(row.id, "needs-reconnect", "expired")
    assert connection_status.require_connection(connections, portal).id == row.id  # status shows it
    with pytest.raises(ReconnectNeeded) as dead:
        connection_status.require_connection(connections, portal, live=True)
    assert "expired" in dead.value.message
    client = Client(7, 1, "Bakkerij 't Hoekje", None, None, None, False, None, "t", "t")
    with pytest.raises(NotConnected) as theirs:
        connection_status.require_connection(connections, portal, client)
    assert "--client 'Bakkerij '\"'\"'t Hoekje'" in theirs.value.hint


def test_keepalive_verdict_and_exit_code():
    from exactlink.errors import ReconnectNeeded

    connections, secrets = Connections(), Secrets()
    a = _connect(_portal(1, "A"), connections, secrets, force=True).connection
    b = _connect(_portal(2, "B"), connections, secrets, force=True).connection
    rows = [connections.get(a.id)._replace(status="connected"), connections.get(b.id)]

    def refresh(connection, client_name, idle_seconds):
        if connection.id == a.id:
            raise ReconnectNeeded("dead", hint="`exactlink exact connect`")
        return True

    def run(refresh):
        return keepalive(
            rows,
            older_than_days=7,
            refresh=refresh,
            portal_names=lambda pid: f"P{pid}",
            client_names=lambda cid: None,
        )

    partial = run(refresh)
    assert [o.result for o in partial.outcomes] == ["failed", "refreshed"]
    assert (partial.status, partial.exit_code) == ("partial", 5)
    assert partial.errors[0]["message"] == "dead"
    ok = run(lambda c, n, s: False)
    assert (ok.status, ok.exit_code, ok.errors) == ("success", 0, [])
    none = keepalive([], older_than_days=7, refresh=refresh, portal_names=str, client_names=str)
    assert (none.status, none.exit_code) == ("success", 0)


def test_ipv6_loopback_redirect_listens():
    from exactlink.services.exact_app import redirect_mode

    assert redirect_mode("http://[::1]:8765/cb") == "loopback"
