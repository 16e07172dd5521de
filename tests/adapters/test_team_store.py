"""The team store's adapter on a real PostgreSQL server: migrations under a lock, the append-only
audit log, sealed secrets bound to their row, and the SQL translation the repositories rely on."""

from __future__ import annotations

import threading

import pytest

from support.postgres import TEST_STORE_KEY


@pytest.fixture
def team_url(postgres_server):
    from exactlink.services import team_store

    url = postgres_server.create_schema()
    team_store.create_schema(url, TEST_STORE_KEY)
    return url


def test_two_members_upgrading_at_once_migrate_once(team_url, monkeypatch):
    from exactlink.adapters.store import postgres_migrations
    from exactlink.adapters.store.postgres import open_database

    slow = (
        "m999_test",
        "SELECT pg_sleep(0.5); CREATE TABLE upgrade_probe (id int); "
        "INSERT INTO upgrade_probe VALUES (1);",
    )
    monkeypatch.setattr(postgres_migrations, "MIGRATIONS", [*postgres_migrations.MIGRATIONS, slow])
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            open_database(team_url).close()  # migrates on open
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db = open_database(team_url)
    try:
        assert postgres_migrations.current_version(db) == len(postgres_migrations.MIGRATIONS)
        assert db.execute("SELECT COUNT(*) FROM upgrade_probe").fetchone()[0] == 1
    finally:
        db.close()


def test_a_store_from_a_newer_exactlink_is_refused(team_url):
    from exactlink.adapters.store.db import StoreError
    from exactlink.adapters.store.postgres import open_database

    db = open_database(team_url)
    db.execute("UPDATE exactlink_schema SET version = 99")
    db.close()
    with pytest.raises(StoreError) as caught:
        open_database(team_url)
    assert "newer exactlink" in caught.value.message


def test_the_audit_log_is_append_only(team_url):
    import psycopg

    from exactlink.adapters.store.events import EventRepository
    from exactlink.adapters.store.postgres import open_database

    db = open_database(team_url)
    try:
        EventRepository(db).record("test.event", "x")  # type: ignore[arg-type]
        for sql in ("UPDATE events SET action = 'x'", "DELETE FROM events", "TRUNCATE events"):
            # As on SQLite, the trigger's refusal is a bug of ours, not a store fault.
            with pytest.raises(psycopg.Error, match="append-only"):
                db.execute(sql)
        assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    finally:
        db.close()


def test_secrets_are_sealed_and_bound_to_their_row(team_url):
    from exactlink.adapters import crypto
    from exactlink.adapters.store.postgres import open_database
    from exactlink.adapters.store.team_secrets import TeamSecretStore

    db = open_database(team_url)
    try:
        store = TeamSecretStore(db, TEST_STORE_KEY)
        store.set("connection-1/refresh", "refresh-token-value")
        store.set("connection-2/refresh", "another-value")
        raw = db.execute("SELECT value FROM secrets WHERE name = 'connection-1/refresh'")
        sealed = bytes(raw.fetchone()[0])
        assert b"refresh-token-value" not in sealed
        assert store.get("connection-1/refresh") == "refresh-token-value"
        # The same value twice gives two ciphertexts (a fresh nonce each time).
        store.set("connection-1/refresh", "refresh-token-value")
        again = db.execute("SELECT value FROM secrets WHERE name = 'connection-1/refresh'")
        assert bytes(again.fetchone()[0]) != sealed
        # A ciphertext moved to another row does not open there.
        db.execute("UPDATE secrets SET value = ? WHERE name = 'connection-2/refresh'", (sealed,))
        with pytest.raises(crypto.WrongStoreKey):
            store.get("connection-2/refresh")
        # Another key opens nothing.
        with pytest.raises(crypto.WrongStoreKey):
            TeamSecretStore(db, crypto.new_key()).get("connection-1/refresh")
        store.delete("connection-1/refresh")
        assert store.get("connection-1/refresh") is None
    finally:
        db.close()


def test_sql_translation():
    pytest.importorskip("psycopg")
    from exactlink.adapters.store.postgres import translate

    assert translate("SELECT * FROM t WHERE a = ? AND b = ?") == (
        "SELECT * FROM t WHERE a = %s AND b = %s"
    )
    assert translate("SELECT :id, x::text, '?:no' FROM t WHERE c LIKE 'a%'") == (
        "SELECT %(id)s, x::text, '?:no' FROM t WHERE c LIKE 'a%%'"
    )


def test_percent_and_question_marks_in_literals_reach_the_server(team_url):
    from exactlink.adapters.store.postgres import open_database

    db = open_database(team_url)
    try:
        assert db.execute("SELECT 'a%b?', ?", ("x",)).fetchone() == ("a%b?", "x")
        assert db.execute("SELECT 'a%b?'").fetchone() == ("a%b?",)
    finally:
        db.close()


def test_key_encoding_round_trips_and_rejects_junk():
    from exactlink.adapters import crypto

    key = crypto.new_key()
    text = crypto.encode_key(key)
    assert len(text) == 43 and crypto.decode_key(f"  {text}\n") == key
    for junk in ("", "abc", "A" * 44 + "!!", crypto.encode_key(key)[:-4]):
        with pytest.raises(crypto.WrongStoreKey):
            crypto.decode_key(junk)
    assert crypto.fingerprint(key) != crypto.fingerprint(crypto.new_key())


def test_a_member_without_grants_gets_a_clear_error(team_url, postgres_server, cli, monkeypatch):
    from exactlink.adapters import crypto

    schema = team_url.rsplit("%3D", 1)[1]
    role = f"outsider_{schema}"
    postgres_server.execute(f"CREATE ROLE {role} LOGIN")
    postgres_server.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
    postgres_server.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {role}')
    url = team_url.replace("postgres@", f"{role}@", 1)
    monkeypatch.setenv("EXACTLINK_STORE", url)
    monkeypatch.setenv("EXACTLINK_STORE_KEY", crypto.encode_key(TEST_STORE_KEY))
    result = cli("portal", "create", "K", "--email", "k@k.be")
    assert result.exit_code == 1
    assert "permission denied" in result.stderr and "docs/team.md" in result.stderr
    assert "Unexpected" not in result.stderr
