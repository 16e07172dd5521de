"""`exactlink store init|join|status|key rotate` against a real PostgreSQL server, with two homes
("two computers": separate config and separate secret stores) on one team store."""

from __future__ import annotations

import json
import os
import re

import pytest

KEY = re.compile(r"^[A-Za-z0-9_-]{43}$")


@pytest.fixture
def team(postgres_server, tmp_path, monkeypatch):
    """An empty database on the real server, two homes, insecure-file key storage (the keyring
    is tested elsewhere); returns (url, home_a, home_b)."""
    monkeypatch.delenv("EXACTLINK_STORE", raising=False)
    monkeypatch.delenv("EXACTLINK_STORE_KEY", raising=False)
    url = postgres_server.create_schema()
    return url, tmp_path / "anna", tmp_path / "bram"


def in_home(home):
    return {"EXACTLINK_HOME": str(home)}


def test_init_prints_the_key_once_and_a_colleague_joins_with_it(cli, team):
    url, anna, bram = team
    made = cli("--json", "store", "init", url, "--insecure-storage", env=in_home(anna))
    assert made.exit_code == 0, made.stderr
    body = made.json()
    assert body["status"] == "success"
    key = body["data"]["store_key"]
    assert KEY.match(key)
    assert body["data"]["join_command"] == f"exactlink store join {url}"
    fingerprint = body["data"]["fingerprint"]

    # Anna uses the team store now: a portal she creates is the team's.
    assert cli("portal", "create", "K", "--email", "k@k.be", env=in_home(anna)).exit_code == 0

    wrong = cli(
        "store", "join", url, "--insecure-storage", input="A" * 43 + "\n", env=in_home(bram)
    )
    assert wrong.exit_code == 9
    assert "does not open" in wrong.stderr and "Hint:" in wrong.stderr
    assert not (bram / "config.toml").exists() or "store" not in (bram / "config.toml").read_text()

    joined = cli(
        "--json", "store", "join", url, "--insecure-storage", input=key + "\n", env=in_home(bram)
    )
    assert joined.exit_code == 0, joined.stderr
    assert joined.json()["data"]["fingerprint"] == fingerprint
    assert key not in joined.stdout + joined.stderr
    listed = cli("portal", "list", "--json", env=in_home(bram))
    assert [p["name"] for p in listed.json()] == ["K"]

    status = cli("store", "status", "--json", env=in_home(bram)).json()
    assert status["backend"] == "postgresql"
    assert status["key_fingerprint"] == fingerprint and status["key_matches"] is True
    assert status["schema_version"] >= 1
    assert status["quick_reads"] is True  # psycopg[binary], as the test extras install it
    assert "@" not in status["location"] and status["location"].endswith("/postgres")
    assert {m["os_user"] for m in status["members"]}
    log = cli("log", "--json", env=in_home(bram)).json()
    assert [e["action"] for e in log] == ["store.init", "portal.create", "store.join"]
    assert all(e["host"] for e in log)


def test_local_status(cli, monkeypatch):
    monkeypatch.delenv("EXACTLINK_STORE", raising=False)
    status = cli("store", "status", "--json").json()
    assert status["backend"] == "sqlite"
    assert status["location"].endswith("state.db")


def test_init_refuses_a_password_in_the_url_and_a_database_already_a_store(cli, team):
    url, anna, bram = team
    with_password = url.replace("postgres@", "postgres:hunter2@")
    refused = cli("store", "init", with_password, "--insecure-storage", env=in_home(anna))
    assert refused.exit_code == 2
    assert "hunter2" not in refused.stderr + refused.stdout
    assert "pgpass" in refused.stderr
    assert cli("store", "init", url, "--insecure-storage", env=in_home(anna)).exit_code == 0
    again = cli("store", "init", url, "--insecure-storage", env=in_home(bram))
    assert again.exit_code != 0
    assert "already holds" in again.stderr and "store join" in again.stderr


def test_key_rotate_reencrypts_and_the_old_key_is_refused(cli, team):
    url, anna, bram = team
    key = cli("--json", "store", "init", url, "--insecure-storage", env=in_home(anna))
    key = key.json()["data"]["store_key"]
    assert (
        cli("store", "join", url, "--insecure-storage", input=key, env=in_home(bram)).exit_code == 0
    )
    # A secret in the store: the app's client secret.
    app = cli(
        "exact",
        "app",
        "set",
        "--client-id",
        "app-1",
        "--redirect-uri",
        "https://www.kantoor-peeters.be/exact",
        input="s3cr3t-client\n",
        env=in_home(anna),
    )
    assert app.exit_code == 0, app.stderr

    rotated = cli("--json", "store", "key", "rotate", env=in_home(anna))
    assert rotated.exit_code == 0, rotated.stderr
    new = rotated.json()["data"]["store_key"]
    assert new != key and rotated.json()["data"]["secrets"] == 1
    assert cli("exact", "app", "show", "--json", env=in_home(anna)).exit_code == 0

    stale = cli("exact", "app", "show", env=in_home(bram))
    assert stale.exit_code == 9
    assert "store join" in stale.stderr
    assert (
        cli("store", "join", url, "--insecure-storage", input=new, env=in_home(bram)).exit_code == 0
    )
    shown = cli("--json", "exact", "app", "show", env=in_home(bram))
    assert shown.exit_code == 0, shown.stderr
    assert "s3cr3t" not in shown.stdout


def test_store_key_from_the_environment(cli, team, monkeypatch):
    url, anna, _bram = team
    key = cli("--json", "store", "init", url, "--insecure-storage", env=in_home(anna))
    key = key.json()["data"]["store_key"]
    server_home = anna.parent / "server"
    env = {**in_home(server_home), "EXACTLINK_STORE": url, "EXACTLINK_STORE_KEY": key}
    assert (
        cli(
            "exact",
            "app",
            "set",
            "--client-id",
            "a",
            "--redirect-uri",
            "https://www.kantoor-peeters.be/r",
            input="sec\n",
            env=env,
        ).exit_code
        == 0
    )
    env["EXACTLINK_STORE_KEY"] = "B" * 43
    wrong = cli("exact", "app", "show", env=env)
    assert wrong.exit_code == 9
    assert json.dumps(os.environ.get("EXACTLINK_STORE_KEY")) not in wrong.stderr


def test_init_and_join_keep_the_key_in_the_real_keyring(cli, team, real_keyring):
    url, anna, bram = team
    made = cli("--json", "store", "init", url, env=in_home(anna))
    assert made.exit_code == 0, made.stderr
    key = made.json()["data"]["store_key"]
    joined = cli("store", "join", url, input=key + "\n", env=in_home(bram))
    assert joined.exit_code == 0, joined.stderr
    app = cli(
        "exact",
        "app",
        "set",
        "--client-id",
        "app-1",
        "--redirect-uri",
        "https://www.kantoor-peeters.be/callback",
        input="s3cr3t-client\n",
        env=in_home(anna),
    )
    assert app.exit_code == 0, app.stderr
    # Bram's home reads the sealed client secret with the key from his keyring.
    shown = cli("--json", "exact", "app", "show", env=in_home(bram))
    assert shown.exit_code == 0, shown.stderr
    for home in (anna, bram):
        for path in home.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path


def test_init_refuses_a_database_that_holds_other_tables(cli, team, postgres_server):
    url, anna, _bram = team
    schema = url.rsplit("%3D", 1)[1]
    postgres_server.execute(f'CREATE TABLE "{schema}".clients (id int)')
    refused = cli("store", "init", url, "--insecure-storage", env=in_home(anna))
    assert refused.exit_code == 1
    assert "not empty" in refused.stderr and "clients" in refused.stderr
    assert "Unexpected" not in refused.stderr
    assert postgres_server.execute(
        f"SELECT to_regclass('\"{schema}\".exactlink_schema') IS NULL"
    ) == [(True,)]


def test_the_member_grants_in_the_docs_work_and_keep_the_log_append_only(
    cli, postgres_server, tmp_path, monkeypatch
):
    """docs/team.md's roles and grants, applied as written: a member runs the daily commands,
    rotates the key, and cannot change or delete an event."""
    import re
    from pathlib import Path

    import psycopg

    monkeypatch.delenv("EXACTLINK_STORE", raising=False)
    monkeypatch.delenv("EXACTLINK_STORE_KEY", raising=False)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "team.md").read_text("utf-8")
    block = next(b for b in re.findall(r"```sql\n(.*?)```", docs, re.S) if "exactlink_member" in b)
    postgres_server.create_database("exactlink")
    owner = postgres_server.dsn("exactlink")
    anna = tmp_path / "anna"
    made = cli("--json", "store", "init", owner, "--insecure-storage", env=in_home(anna))
    assert made.exit_code == 0, made.stderr
    key = made.json()["data"]["store_key"]
    postgres_server.execute(block.replace("'...'", "'pw'"), dbname="exactlink")

    bram = tmp_path / "bram"
    member = postgres_server.dsn("exactlink", user="bram")
    env = in_home(bram)
    assert cli("store", "join", member, "--insecure-storage", input=key, env=env).exit_code == 0
    for args in (
        ("portal", "create", "K", "--email", "k@k.be"),
        ("client", "add", "Bakkerij Peeters BV", "--access-granted"),
        ("client", "update", "Bakkerij Peeters BV", "--email", "jan@peeters.be"),
        (
            "exact",
            "app",
            "set",
            "--client-id",
            "a",
            "--redirect-uri",
            "https://www.kantoor-peeters.be/callback",
        ),
        ("client", "remove", "Bakkerij Peeters BV", "--yes"),
        ("store", "key", "rotate"),
    ):
        done = cli(*args, input="secret\n", env=env)
        assert done.exit_code == 0, (args, done.stderr)
    with psycopg.connect(member, autocommit=True) as conn:
        for sql in ("UPDATE events SET action = 'x'", "DELETE FROM events", "TRUNCATE events"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
