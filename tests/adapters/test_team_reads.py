"""The team store's quick reads (adapters/store/postgres_reads.py, libpq.py) on a real
PostgreSQL server: the same answers as psycopg's road, psycopg taking over for everything else,
and the faults answered once."""

from __future__ import annotations

import time

import pytest

from support.postgres import TEST_STORE_KEY, free_port

NOW = "2026-12-02T10:00:00Z"


@pytest.fixture
def team_url(postgres_server):
    from exactlink.services import team_store

    url = postgres_server.create_schema()
    team_store.create_schema(url, TEST_STORE_KEY)
    return url


@pytest.fixture
def filled(team_url):
    """A team store with a portal, clients (names with accents, quotes, NULLs, empty text), a
    connection with fractional times, an activation, cached divisions and events."""
    from exactlink.adapters.store.postgres import open_database

    db = open_database(team_url)
    try:
        db.execute(
            "INSERT INTO portals (name, email, vat, created_at, updated_at)"
            " VALUES ('Kantoor Één', 'k@k.be', '', ?, ?)",
            (NOW, NOW),
        )
        for i, name in enumerate(["Bakkerij 't Hoekje", "Café Ça Va", "Zeta", "alfa"]):
            db.execute(
                "INSERT INTO clients (portal_id, name, email, vat, managed, access_granted_at,"
                " created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                (name, None if i % 2 else f"c{i}@k.be", "BE0403170701", i % 2,
                 NOW if i else None, NOW, NOW),
            )  # fmt: skip
        db.execute(
            "INSERT INTO connections (portal_id, base_url, app_client_id, status, storage,"
            " exact_username, current_division, access_expires_at, refresh_issued_at,"
            " created_at, updated_at) VALUES (1, 'https://start.exactonline.nl', 'app',"
            " 'connected', 'team', 'Anna', 123456, 1796212800.125, 1796209200.5, ?, ?)",
            (NOW, NOW),
        )
        db.execute(
            "INSERT INTO activations VALUES (2, 1, 123456, 'Café Ça Va BV', 'vat', ?)", (NOW,)
        )
        db.execute(
            "INSERT INTO divisions (connection_id, code, description, status, blocking_status,"
            " fetched_at) VALUES (1, 123456, 'Café Ça Va BV', 1, 0, ?)",
            (NOW,),
        )
        for action in ("client.add", "client.activate"):
            db.execute(
                "INSERT INTO events (at, os_user, portal, client, action, subject, details, host)"
                " VALUES (?, 'anna', 'Kantoor Één', 'Café Ça Va', ?, 'x', '{\"n\": 1}', 'pc1')",
                (NOW, action),
            )
    finally:
        db.close()
    return team_url


def store(url, *, quick):
    from exactlink.adapters.store import Store

    return Store(__import__("pathlib").Path("/nonexistent/state.db"), url, quick_reads=quick)


def reads(s):
    """Every repository read a read-only command makes, as records."""
    portal = s.portals.get("kantoor één")
    return {
        "portal": portal,
        "portals": s.portals.list(),
        "clients": s.clients.list(portal.id),
        "granted": s.clients.list(portal.id, status="granted"),
        "one": s.clients.get(portal.id, "CAFÉ ÇA VA"),
        "counts": s.clients.count_by_status(portal.id),
        "by_portal": s.clients.count_by_portal(),
        "connections": s.connections.list(portal.id),
        "activations": s.activations.for_portal(portal.id),
        "divisions": s.divisions.list(1),
        "events": s.events.list(portal=None, client="Café Ça Va", limit=None),
        "summary": s.summary(),
    }


def test_quick_reads_answer_as_psycopg_does(filled):
    from exactlink.adapters.store.postgres_reads import ReadFirstDatabase

    quick, full = store(filled, quick=True), store(filled, quick=False)
    try:
        got = reads(quick)
        assert isinstance(quick.db, ReadFirstDatabase)
        assert quick.db.reads_through_libpq  # psycopg never needed
        assert got == reads(full)
        assert [c.name for c in got["clients"]] == ["alfa", "Bakkerij 't Hoekje", "Café Ça Va",
                                                    "Zeta"]  # fmt: skip
        assert got["connections"][0].access_expires_at == 1796212800.125
        assert got["portal"].vat == "" and got["clients"][0].email is None
        assert len(got["events"]) == 2
    finally:
        quick.close()
        full.close()


def test_parameters_and_values_round_trip_as_in_psycopg(team_url):
    quick, full = store(team_url, quick=True), store(team_url, quick=False)
    sql = (
        "SELECT CAST(? AS BIGINT) AS big, CAST(? AS TEXT) AS text, ? = 'x' AS same,"
        " CAST(? AS DOUBLE PRECISION) AS real, CAST(? AS BOOLEAN) AS yes,"
        " CAST(? AS TEXT) AS nothing, '50% ?' AS literal"
    )
    params = (2**62, "é 'quoted' \\ %s", "x", 0.1, True, None)
    try:
        row = quick.db.execute(sql, params).fetchone()
        assert tuple(row) == tuple(full.db.execute(sql, params).fetchone())
        assert row["big"] == 2**62 and row["real"] == 0.1 and row["yes"] is True
        assert row["text"] == "é 'quoted' \\ %s" and row["same"] is True
        assert row["nothing"] is None and row["literal"] == "50% ?"
        described = quick.db.execute(sql, params).description
        assert [column[0] for column in described] == [
            column[0] for column in full.db.execute(sql, params)._cursor.description
        ]
        named = quick.db.execute("SELECT CAST(:n AS INTEGER) * 2, :n = '21'", {"n": 21})
        assert tuple(named.fetchone()) == (42, True)
        assert quick.db.reads_through_libpq
    finally:
        quick.close()
        full.close()


def test_a_write_turns_the_connection_to_psycopg_and_lands(team_url):
    from exactlink.adapters.store import postgres

    quick = store(team_url, quick=True)
    try:
        assert quick.portals.list() == []
        assert quick.db.reads_through_libpq
        with quick.transaction():
            quick.portals.insert(name="Kantoor", email="k@k.be")
        assert not quick.db.reads_through_libpq
        assert isinstance(quick.db._full, postgres.PostgresDatabase)
        assert [p.name for p in quick.portals.list()] == ["Kantoor"]
    finally:
        quick.close()
    again = store(team_url, quick=False)
    try:
        assert [p.name for p in again.portals.list()] == ["Kantoor"]
    finally:
        again.close()


def test_sealed_secrets_are_read_through_libpq_as_through_psycopg(team_url):
    """bytea (the sealed secrets of ``exact app show`` and ``exact status``) comes back as the
    same bytes, whatever ``bytea_output`` the server or the role defaults to."""
    from exactlink.adapters.store.team_secrets import TeamSecretStore

    full = store(team_url, quick=False)
    try:
        sealed = TeamSecretStore(full.db, TEST_STORE_KEY)
        sealed.set("app/client_secret", "geheim-é")
        sealed.set("empty", "")
        full.db.execute("ALTER ROLE CURRENT_USER SET bytea_output = 'escape'")
        raw = "SELECT value, CAST(NULL AS BYTEA) AS nothing, ''::bytea AS none FROM secrets"
        expected = [tuple(row) for row in full.db.execute(raw).fetchall()]
    finally:
        full.close()
    quick = store(team_url, quick=True)
    try:
        secrets = TeamSecretStore(quick.db, TEST_STORE_KEY)
        assert secrets.get("app/client_secret") == "geheim-é"
        assert secrets.get("empty") == ""
        assert secrets.get("missing") is None
        assert [tuple(row) for row in quick.db.execute(raw).fetchall()] == expected
        assert expected[0][1:] == (None, b"")
        assert quick.db.reads_through_libpq
    finally:
        quick.close()
        reset = store(team_url, quick=False)
        reset.db.execute("ALTER ROLE CURRENT_USER RESET bytea_output")
        reset.close()


@pytest.mark.parametrize(
    ("sql", "params", "expected_type"),
    [
        ("SELECT now() AS at", (), "datetime"),  # a type libpq.py does not read
        ("SELECT ?::numeric AS n", (2**70,), "Decimal"),  # beyond bigint: psycopg sends it
        ("SELECT ?::bytea AS b", (b"\x00",), "bytes"),  # a bytes parameter: psycopg sends it
    ],
)
def test_what_libpq_does_not_read_psycopg_does(team_url, sql, params, expected_type):
    quick = store(team_url, quick=True)
    try:
        rows = quick.db.execute(sql, params).fetchall()
        assert not quick.db.reads_through_libpq
        value = rows[0][0] if expected_type != "list" else rows
        assert type(value).__name__ == expected_type
    finally:
        quick.close()


def test_a_locking_or_writing_select_is_not_a_quick_read():
    from exactlink.adapters.store.postgres_reads import only_reads

    assert only_reads("SELECT * FROM clients WHERE name = ?")
    assert only_reads("  select count(*) from events")
    for sql in (
        "SELECT pg_advisory_xact_lock(?, ?)",
        "SELECT * FROM connections WHERE id = ? FOR UPDATE",
        "SELECT * FROM clients FOR NO KEY UPDATE",
        "SELECT nextval('x')",
        "SELECT set_config('a', 'b', false)",
        "SELECT * INTO copy FROM clients",
        "WITH gone AS (DELETE FROM clients RETURNING *) SELECT * FROM gone",
        "INSERT INTO clients SELECT * FROM clients",
        "UPDATE clients SET name = ?",
    ):
        assert not only_reads(sql), sql


def test_numbered_parameters_leave_literals_alone():
    from exactlink.adapters.store.postgres_shared import bind, numbered

    sql, order = numbered("SELECT ':x ?', \"a?\" FROM t WHERE a = ? AND b::text = ? AND c % 2 = 0")
    assert sql == "SELECT ':x ?', \"a?\" FROM t WHERE a = $1 AND b::text = $2 AND c % 2 = 0"
    assert bind(order, (1, 2)) == [1, 2]
    sql, order = numbered("SELECT :a, :b, :a, json_extract(details, '$.n')")
    assert sql == "SELECT $1, $2, $1, (details::json ->> 'n')"
    assert bind(order, {"b": 2, "a": 1}) == [1, 2]
    with pytest.raises(ValueError):
        bind(numbered("SELECT ?")[1], (1, 2))


def test_a_server_error_is_psycopgs_error(team_url):
    import psycopg

    quick = store(team_url, quick=True)
    try:
        with pytest.raises(psycopg.errors.UndefinedTable):
            quick.db.execute("SELECT * FROM no_such_table")
    finally:
        quick.close()


def test_a_statement_timeout_is_reported_once(team_url, monkeypatch):
    from exactlink.adapters.store.db import StoreError

    monkeypatch.setenv("EXACTLINK_STORE_STATEMENT_TIMEOUT", "1")
    quick = store(team_url, quick=True)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="cancelled a statement") as caught:
            quick.db.execute("SELECT count(*) FROM pg_sleep(3)")
        assert time.monotonic() - started < 2.5  # not run a second time on psycopg
        assert "EXACTLINK_STORE_STATEMENT_TIMEOUT" in caught.value.hint
        assert quick.db.reads_through_libpq
    finally:
        quick.close()


def test_a_killed_connection_is_taken_over_by_psycopg(team_url, postgres_server):
    quick = store(team_url, quick=True)
    try:
        pid = quick.db.execute("SELECT pg_backend_pid()").fetchone()[0]
        postgres_server.execute(f"SELECT pg_terminate_backend({int(pid)})")
        assert quick.db.execute("SELECT count(*) FROM portals").fetchone()[0] == 0
        assert not quick.db.reads_through_libpq
    finally:
        quick.close()


def test_an_unreachable_server_names_the_host_never_the_password():
    from exactlink.adapters.store.postgres_shared import StoreUnavailable

    port = free_port()
    url = f"postgresql://anna:pw-Sekr1t@127.0.0.1:{port}/kantoor"
    with pytest.raises(StoreUnavailable) as caught:
        store(url, quick=True).schema_version()
    message = str(caught.value) + caught.value.hint
    assert f"127.0.0.1:{port}/kantoor" in message and "Sekr1t" not in message
    assert caught.value.exit_code == 8


@pytest.mark.parametrize("version", [None, 99])
def test_a_schema_not_this_exactlinks_goes_through_psycopg(team_url, postgres_server, version):
    """No team store here, or one of a newer exactlink: psycopg's road refuses it as always."""
    from exactlink.adapters.store.db import StoreError
    from exactlink.adapters.store.postgres import open_database

    url = team_url
    if version is None:
        url = postgres_server.create_schema()  # an empty schema: not a team store
    else:
        db = open_database(team_url)
        db.execute("UPDATE exactlink_schema SET version = ?", (version,))
        db.close()
    with pytest.raises(StoreError, match=r"not an exactlink team store|newer exactlink"):
        store(url, quick=True).schema_version()


def test_an_invalid_url_is_reported_by_psycopgs_road():
    from exactlink.adapters.store.db import StoreError

    with pytest.raises(StoreError, match="URL is not valid"):
        store("postgresql://bad url", quick=True).schema_version()


def test_without_psycopg_binarys_libpq_psycopg_does_everything(team_url, monkeypatch):
    """psycopg would run on another libpq (here: its pure-Python build): so does every read."""
    from exactlink.adapters.store import libpq, postgres

    monkeypatch.setenv("PSYCOPG_IMPL", "python")
    libpq.load.cache_clear()
    try:
        quick = store(team_url, quick=True)
        assert isinstance(quick.db, postgres.PostgresDatabase)
        assert quick.portals.list() == []
        quick.close()
    finally:
        monkeypatch.delenv("PSYCOPG_IMPL")
        libpq.load.cache_clear()


def test_psycopg_binarys_libpq_is_found():
    """The test extras install psycopg[binary]: its libpq must be found and load."""
    from exactlink.adapters.store import libpq

    found = libpq.load()
    assert found is not None
    assert found.parse("postgresql://anna@db.kantoor.be:6543/team?sslmode=verify-full") == {
        "user": "anna", "host": "db.kantoor.be", "port": "6543", "dbname": "team",
        "sslmode": "verify-full",
    }  # fmt: skip
    assert found.parse("postgresql://bad url") is None


def test_server_notices_stay_off_stderr(team_url, capfd):
    """libpq prints a server's NOTICE on stderr unless told otherwise; psycopg drops them."""
    from exactlink.adapters.store.postgres import open_database

    db = open_database(team_url)
    db.run_script(
        "CREATE FUNCTION noisy() RETURNS int LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE NOTICE 'a noisy notice'; RETURN 1; END $$;"
    )
    db.close()
    quick = store(team_url, quick=True)
    try:
        assert quick.db.execute("SELECT noisy()").fetchone()[0] == 1
        assert quick.db.reads_through_libpq
    finally:
        quick.close()
    assert "noisy" not in capfd.readouterr().err


def test_a_very_big_result_goes_to_psycopg(team_url, monkeypatch):
    """Beyond ``MOST_CELLS`` psycopg's C loop reads faster than a ctypes call a cell."""
    from exactlink.adapters.store import libpq

    monkeypatch.setattr(libpq, "MOST_CELLS", 2 * 500)
    quick = store(team_url, quick=True)
    try:
        small = quick.db.execute("SELECT g, g::text FROM generate_series(1, 500) g").fetchall()
        assert len(small) == 500 and quick.db.reads_through_libpq
        big = quick.db.execute("SELECT g, g::text FROM generate_series(1, 501) g").fetchall()
        assert [tuple(row) for row in big] == [(g, str(g)) for g in range(1, 502)]
        assert not quick.db.reads_through_libpq
    finally:
        quick.close()
