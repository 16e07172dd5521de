"""End to end: a firm's team on one team store (a real PostgreSQL server), two homes standing for
two computers (separate config, separate secret stores holding the same store key), the sandbox
as Exact Online. One token chain for the whole firm, refreshed once however many processes on
however many computers need it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from support.crashkit import make_team_stale
from support.exactkit import advance, connect_inprocess, make_world, stats

pytestmark = pytest.mark.slow


@pytest.fixture
def team(postgres_server, tmp_path, isolated_home, cli, monkeypatch):
    """Home A (the test's own home) made the team store; home B joined it. Returns
    (url, home_a, home_b, key)."""
    monkeypatch.delenv("EXACTLINK_STORE", raising=False)
    monkeypatch.delenv("EXACTLINK_STORE_KEY", raising=False)
    url = postgres_server.create_schema()
    made = cli("--json", "store", "init", url, "--insecure-storage")
    assert made.exit_code == 0, made.stderr
    key = made.json()["data"]["store_key"]
    home_b = tmp_path / "home-b"
    joined = cli(
        "store",
        "join",
        url,
        "--insecure-storage",
        input=key + "\n",
        env={"EXACTLINK_HOME": str(home_b)},
    )
    assert joined.exit_code == 0, joined.stderr
    return url, isolated_home, home_b, key


def execute(url: str, sql: str, *args):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, args)
        return cursor.fetchall() if cursor.description else []


def spawn(n: int, home, *args: str) -> list[subprocess.Popen]:
    env = {**os.environ, "EXACTLINK_HOME": str(home)}
    env.pop("EXACTLINK_STORE", None)
    return [
        subprocess.Popen(
            [sys.executable, "-m", "exactlink", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]


@pytest.mark.crowd
def test_two_homes_sixteen_processes_each_make_one_token_call(
    team, sandbox_factory, cli, monkeypatch
):
    url, home_a, home_b, key = team
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    assert cli("portal", "use", world.portal, env={"EXACTLINK_HOME": str(home_b)}).exit_code == 0
    # Home B never ran `exact app set` or `exact connect`: the team's app and chain serve it.
    shown = cli("exact", "status", "--json", env={"EXACTLINK_HOME": str(home_b)})
    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["status"] == "connected"

    before = stats(world.sb)
    advance(world.sb, 601)  # expired for Exact...
    make_team_stale(url, key)  # ...and for us: the row and the sealed pair
    started = time.perf_counter()
    procs = spawn(16, home_a, "exact", "api", "current/Me") + spawn(
        16, home_b, "exact", "api", "current/Me"
    )
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    wall = time.perf_counter() - started
    for code, out, err in results:
        assert code == 0, err
        assert '"UserName"' in out
    after = stats(world.sb)
    assert after["token_calls"] - before["token_calls"] == 1
    assert after["token_errors"].get("TooEarlyToRefreshTokens", 0) == 0
    print(f"32 processes on two homes: 1 token call, {wall:.2f} s wall")


WORKER = """
import sys
import typer.main
from exactlink.cli.app import app
command = typer.main.get_command(app)
worker, count = int(sys.argv[1]), int(sys.argv[2])
failures = 0
for i in range(count):
    args = ["client", "add", f"Klant {worker}-{i}", "--access-granted", "-q"]
    try:
        command.main(args, prog_name="exactlink")
    except SystemExit as exit:
        failures += exit.code not in (0, None)
sys.exit(1 if failures else 0)
"""


@pytest.mark.crowd
def test_eight_processes_over_two_homes_add_eight_hundred_clients(team, cli):
    url, home_a, home_b, _key = team
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    assert cli("portal", "use", "K", env={"EXACTLINK_HOME": str(home_b)}).exit_code == 0
    procs = []
    for worker in range(8):
        env = {**os.environ, "EXACTLINK_HOME": str(home_a if worker % 2 else home_b)}
        env.pop("EXACTLINK_STORE", None)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(worker), "100"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    results = [(proc.wait(timeout=240), *proc.communicate()) for proc in procs]
    for code, _stdout, stderr in results:
        assert code == 0, stderr
        assert "Error" not in stderr
    assert execute(url, "SELECT COUNT(*) FROM clients") == [(800,)]
    listed = cli("client", "list", "--json", "--status", "granted")
    assert len(listed.json()) == 800
    events = cli("log", "--json", env={"EXACTLINK_HOME": str(home_b)}).json()
    assert sum(1 for e in events if e["action"] == "client.add") == 800


def test_no_secret_in_a_pg_dump_or_any_output(
    team, sandbox_factory, cli, monkeypatch, postgres_server
):
    url, _home_a, home_b, key = team
    world = make_world(sandbox_factory, cli)
    connected = connect_inprocess(world, cli, monkeypatch)
    assert connected.exit_code == 0
    assert cli("portal", "use", world.portal, env={"EXACTLINK_HOME": str(home_b)}).exit_code == 0
    advance(world.sb, 601)  # a refresh too, with the HTTP debug log on
    make_team_stale(url, key)
    me = cli(
        "exact",
        "api",
        "current/Me",
        env={"EXACTLINK_HOME": str(home_b), "EXACTLINK_DEBUG_HTTP": "1"},
    )
    assert me.exit_code == 0, me.stderr
    assert "token" in me.stderr.lower()  # the debug log shows the token call, redacted

    from exactlink.adapters import crypto
    from exactlink.adapters.store.postgres import open_database
    from exactlink.adapters.store.team_secrets import TeamSecretStore

    db = open_database(url)
    try:
        sealed = TeamSecretStore(db, crypto.decode_key(key))
        names = sealed.names()
        plain = [sealed.get(name) for name in names]
    finally:
        db.close()
    # The client secret, and the chain's token pair: its pointer, the pair in force and the
    # one before it (kept until the next refresh, adapters/exact/token_store.py).
    # (Which two generations depends on how many commits the chain saw: make_team_stale made one.)
    generations = [name for name in names if name.startswith("connection-1/tokens.")]
    assert sorted(set(names) - set(generations)) == ["app/client_secret", "connection-1/tokens"]
    assert len(generations) == 2
    assert world.app["client_secret"] in plain
    schema = url.rsplit("%3D", 1)[1]
    dump = subprocess.run(
        [str(postgres_server.bindir / "pg_dump"), "--no-owner", "-n", schema, url.split("?")[0]],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "COPY " in dump and "secrets" in dump
    outputs = connected.stdout + connected.stderr + me.stdout + me.stderr
    for secret in [*plain, key]:
        assert secret not in dump
        assert secret not in outputs


def test_connect_on_a_team_store_with_a_live_chain_needs_force_and_says_who(
    team, sandbox_factory, cli, monkeypatch
):
    import getpass
    import socket

    from support.exactkit import FIXED_STATE

    _url, _home_a, home_b, _key = team
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    in_b = {"EXACTLINK_HOME": str(home_b)}
    assert cli("portal", "use", world.portal, env=in_b).exit_code == 0
    before = stats(world.sb)["token_calls"]

    monkeypatch.setattr("exactlink.adapters.exact.oauth.new_state", lambda: FIXED_STATE)
    refused = cli("exact", "connect", "--no-browser", input=world.consent() + "\n", env=in_b)
    assert refused.exit_code == 4, refused.stderr
    assert getpass.getuser() in refused.stderr and socket.gethostname() in refused.stderr
    assert "--force" in refused.stderr
    assert stats(world.sb)["token_calls"] == before  # no code exchanged: the chain lives
    assert cli("exact", "api", "current/Me", env=in_b).exit_code == 0

    advance(world.sb, 570)  # Exact's 570 s rule counts the first connect's code exchange
    forced = cli(
        "exact", "connect", "--no-browser", "--force", input=world.consent() + "\n", env=in_b
    )
    assert forced.exit_code == 0, forced.stderr
    connects = [e for e in cli("log", "--json").json() if e["action"] == "exact.connect"]
    assert len(connects) == 2
    assert all(e["exact_user"] and e["host"] == socket.gethostname() for e in connects)
    assert cli("exact", "api", "current/Me").exit_code == 0  # home A uses the new chain


def test_migrate_a_local_store_with_a_thousand_clients(
    postgres_server, sandbox_factory, cli, monkeypatch, isolated_home, tmp_path
):
    """A local store (1,000 clients, activations, events, a live connection) moved into an
    empty team store: counts equal, `exact api` works from the team store, the local store
    unchanged, a second migrate refused."""
    import hashlib
    import sqlite3

    from support.exactkit import seed_clients

    monkeypatch.delenv("EXACTLINK_STORE", raising=False)
    monkeypatch.delenv("EXACTLINK_STORE_KEY", raising=False)
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    rows = "".join(f"Klant {i:04d};BE0403170701\n" for i in range(1000))
    assert cli("client", "import", "-", input="name;vat\n" + rows).exit_code == 0
    company = seed_clients(world.sb)[0]
    add = cli(
        "client", "add", company["name"], "--vat", company.get("vat") or "", "--access-granted"
    )
    assert add.exit_code == 0, add.stderr
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    activated = cli("--json", "exact", "activate", "--all")
    calls = ("exact.connect", "exact.divisions.refresh", "exact.activate")
    exact_events = [e for e in cli("log", "--json").json() if e["action"] in calls]
    assert {e["action"] for e in exact_events} == set(calls)
    assert all(e["exact_user"] for e in exact_events)  # the Exact login of each Exact call
    assert activated.exit_code in (0, 10, 6, 4), activated.stderr  # some seed clients are refused
    local_db = isolated_home / "state.db"

    def fingerprint() -> str:
        conn = sqlite3.connect(local_db)
        try:
            dump = "\n".join(conn.iterdump())
        finally:
            conn.close()
        return hashlib.sha256(dump.encode()).hexdigest()

    local_before = fingerprint()
    local_counts = {
        t: sqlite3.connect(local_db).execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("clients", "activations", "divisions", "connections", "events")
    }
    assert local_counts["clients"] == 1001 and local_counts["activations"] >= 1

    url = postgres_server.create_schema()
    made = cli("--json", "store", "init", url)
    assert made.exit_code == 0, made.stderr
    migrated = cli("--json", "store", "migrate", "--to", url)
    assert migrated.exit_code == 0, migrated.stderr
    body = migrated.json()["data"]
    assert body["equal"] is True
    for table, count in local_counts.items():
        assert body["tables"][table] == {"local": count, "team": count}
    assert body["tables"]["secrets"]["team"] == 3
    assert execute(url, "SELECT COUNT(*) FROM clients") == [(1001,)]

    # This home now works on the team store, Exact calls included (tokens came along).
    assert cli("store", "status", "--json").json()["backend"] == "postgresql"
    me = cli("exact", "api", "current/Me")
    assert me.exit_code == 0, me.stderr
    assert len(cli("client", "list", "--json").json()) == 1001
    assert fingerprint() == local_before  # the local store untouched

    again = cli("--json", "store", "migrate", "--to", url)
    assert again.exit_code == 4
    assert "not empty" in again.stderr
    assert execute(url, "SELECT COUNT(*) FROM clients") == [(1001,)]
