"""Faults of a team store on a real PostgreSQL server: down or unreachable, a wrong password, a
missing database, a connection killed mid-import, the server stopped mid-command, a statement
timeout, a connection lost during a token refresh. Each gives a clear message naming the host
(never the password), its exit code, and nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from support.crashkit import make_team_stale
from support.exactkit import advance, connect_inprocess, make_world, stats
from support.postgres import TEST_STORE_KEY, free_port

pytestmark = pytest.mark.slow

PASSWORD = "pw-Sekr1t-never-shown"


def execute(url: str, sql: str, *args):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, args)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def team_url(postgres_server_private, monkeypatch):
    """A team store on a server of the test's own (the tests stop and restart it)."""
    from exactlink.adapters import crypto
    from exactlink.services import team_store

    url = postgres_server_private.create_schema()
    team_store.create_schema(url, TEST_STORE_KEY)
    monkeypatch.setenv("EXACTLINK_STORE", url)
    monkeypatch.setenv("EXACTLINK_STORE_KEY", crypto.encode_key(TEST_STORE_KEY))
    return url


# A command that only reads (libpq, postgres_reads.py) and one that writes (psycopg): both roads
# to the team store report a fault alike.
BOTH_ROADS = pytest.mark.parametrize(
    "command",
    [("portal", "list"), ("portal", "create", "Kantoor", "--email", "k@k.be")],
    ids=["reads", "writes"],
)


@BOTH_ROADS
def test_server_down_names_the_host_and_exits_8(cli, monkeypatch, command):
    port = free_port()
    monkeypatch.setenv("EXACTLINK_STORE", f"postgresql://anna@127.0.0.1:{port}/kantoor")
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    result = cli("--json", *command)
    assert result.exit_code == 8
    assert f"127.0.0.1:{port}/kantoor" in result.stderr
    assert "Hint:" in result.stderr and "Unexpected" not in result.stderr
    assert result.json()["errors"][0]["code"] == "store_unavailable"
    assert PASSWORD not in result.stdout + result.stderr


@BOTH_ROADS
def test_wrong_password_and_missing_database(cli, postgres_server_private, monkeypatch, command):
    server = postgres_server_private
    server.execute(f"CREATE ROLE anna LOGIN PASSWORD 'right-{PASSWORD}'")
    hba = server.data / "pg_hba.conf"
    hba.write_text(
        "local all all trust\n"
        "host all anna 127.0.0.1/32 scram-sha-256\n"
        "host all all 127.0.0.1/32 trust\n"
    )
    server.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)
    monkeypatch.setenv("EXACTLINK_STORE", server.dsn(user="anna"))
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    wrong = cli(*command)
    assert wrong.exit_code == 8
    assert "password authentication failed" in wrong.stderr
    assert "pgpass" in wrong.stderr
    assert PASSWORD not in wrong.stdout + wrong.stderr

    monkeypatch.setenv("EXACTLINK_STORE", server.dsn("no_such_db"))
    missing = cli(*command)
    assert missing.exit_code == 8
    assert "no_such_db" in missing.stderr and "does not exist" in missing.stderr

    monkeypatch.setenv("EXACTLINK_STORE", server.dsn())  # a database that is not a team store
    foreign = cli(*command)
    assert foreign.exit_code == 1
    assert "not an exactlink team store" in foreign.stderr and "store init" in foreign.stderr


def _blocked_import(url: str, tmp_path, env_extra: dict | None = None):
    """An import of 2,000 clients that blocks on its first insert (another session holds the
    clients table); returns (process, locking connection, the import's backend pid)."""
    import psycopg

    assert (
        subprocess.run(
            [sys.executable, "-m", "exactlink", "portal", "create", "K", "--email", "k@k.be"],
            env={**os.environ},
            capture_output=True,
        ).returncode
        == 0
    )
    rows = "".join(f"Klant {i:05d};k{i}@example.be\n" for i in range(2000))
    path = tmp_path / "big.csv"
    path.write_text("name;email\n" + rows, encoding="utf-8")
    holder = psycopg.connect(url)
    holder.execute("LOCK TABLE clients IN EXCLUSIVE MODE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "exactlink", "client", "import", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env_extra or {})},
    )
    deadline = time.monotonic() + 60
    pid = None
    while time.monotonic() < deadline and pid is None:
        found = execute(
            url,
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'exactlink'"
            " AND wait_event_type = 'Lock'",
        )
        pid = found[0][0] if found else None
        time.sleep(0.05)
    assert pid is not None or proc.poll() is not None, "the import never reached its insert"
    return proc, holder, pid


def test_a_killed_connection_mid_import_writes_nothing(cli, team_url, tmp_path):
    proc, holder, pid = _blocked_import(team_url, tmp_path)
    events_before = execute(team_url, "SELECT COUNT(*) FROM events")[0][0]
    execute(team_url, "SELECT pg_terminate_backend(%s)", pid)
    code = proc.wait(timeout=60)
    _out, err = proc.communicate()
    holder.close()
    assert code == 8, err
    assert "127.0.0.1" in err and "Hint:" in err
    assert execute(team_url, "SELECT COUNT(*) FROM clients") == [(0,)]
    assert execute(team_url, "SELECT COUNT(*) FROM events")[0][0] == events_before
    # The store still works and the import completes.
    again = cli("client", "import", str(tmp_path / "big.csv"))
    assert again.exit_code == 0, again.stderr
    assert execute(team_url, "SELECT COUNT(*) FROM clients") == [(2000,)]


def test_ctrl_c_stops_a_read_that_waits_on_the_server(team_url):
    """`portal list` reads through libpq (postgres_reads.py); while the server keeps it waiting
    (another session locks the table), Ctrl-C ends it at once: exit 130, one line."""
    import psycopg

    with psycopg.connect(team_url) as holder:
        holder.execute("LOCK TABLE portals IN ACCESS EXCLUSIVE MODE")
        proc = subprocess.Popen(
            [sys.executable, "-m", "exactlink", "portal", "list"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        deadline, waiting = time.monotonic() + 60, []
        while time.monotonic() < deadline and proc.poll() is None:
            waiting = execute(
                team_url,
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'exactlink'"
                " AND wait_event_type = 'Lock'",
            )
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the read never waited on the lock"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        _out, err = proc.communicate()
        assert code == 130, err
        assert time.monotonic() - started < 5
        assert "Interrupted" in err and "Traceback" not in err
        holder.rollback()
    assert execute(team_url, "SELECT COUNT(*) FROM portals") == [(0,)]


def test_a_statement_timeout_is_a_clear_error(team_url, tmp_path):
    proc, holder, _pid = _blocked_import(
        team_url, tmp_path, {"EXACTLINK_STORE_STATEMENT_TIMEOUT": "1"}
    )
    code = proc.wait(timeout=60)
    _out, err = proc.communicate()
    holder.close()
    assert code == 1, err
    assert "statement timeout" in err and "Unexpected" not in err
    assert execute(team_url, "SELECT COUNT(*) FROM clients") == [(0,)]


def test_the_server_stopped_mid_command(cli, team_url, tmp_path, postgres_server_private):
    proc, holder, _pid = _blocked_import(team_url, tmp_path)
    postgres_server_private.stop()
    holder.close()
    code = proc.wait(timeout=60)
    _out, err = proc.communicate()
    assert code == 8, err
    assert "not available" in err
    down = cli("client", "list")
    assert down.exit_code == 8
    postgres_server_private.start()
    assert execute(team_url, "SELECT COUNT(*) FROM clients") == [(0,)]
    assert cli("client", "list", "--json").stdout.strip() == "[]"


def test_a_connection_lost_during_a_token_refresh_keeps_the_new_tokens(
    team_url, sandbox_factory, cli, monkeypatch, isolated_home
):
    """The refresh's token call succeeds, then the store's connection dies before the new tokens
    are written: the command fails (exit 8) saying the new pair is kept encrypted, and the next
    command stores it: the chain lives on, no reconnect (issue 15)."""
    import psycopg

    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    advance(world.sb, 601)
    make_team_stale(team_url, TEST_STORE_KEY)
    holder = psycopg.connect(team_url)
    holder.execute("LOCK TABLE secrets IN EXCLUSIVE MODE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "exactlink", "exact", "api", "current/Me"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid = None
    deadline = time.monotonic() + 60
    while pid is None and time.monotonic() < deadline:
        found = execute(
            team_url,
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'exactlink'"
            " AND wait_event_type = 'Lock'",
        )
        pid = found[0][0] if found else None
        time.sleep(0.05)
    assert pid is not None, proc.communicate()
    execute(team_url, "SELECT pg_terminate_backend(%s)", pid)
    code = proc.wait(timeout=60)
    _out, err = proc.communicate()
    holder.close()
    assert code == 8, err
    assert "issued new tokens" in err and "kept encrypted in" in err, err
    kept = list((isolated_home / "rescue").iterdir())
    assert [p.name for p in kept] == ["connection-1.sealed"]
    assert kept[0].stat().st_mode & 0o777 == 0o600
    sealed_text = kept[0].read_text()
    for token in [*world.sb.engine.refresh_tokens, *world.sb.engine.access_tokens]:
        assert token not in sealed_text
    # Meanwhile a colleague's computer refreshed with the pair still in the store: Exact said
    # "Old refresh token used" and the row says needs-reconnect. The kept pair is newer.
    execute(
        team_url,
        "UPDATE connections SET status = 'needs-reconnect', last_error = 'old_refresh_token'",
    )
    before = stats(world.sb)
    after = cli("exact", "api", "current/Me")
    assert after.exit_code == 0, after.stderr
    assert cli("exact", "status", "--json").json()["status"] == "connected"
    assert not list((isolated_home / "rescue").iterdir())
    # The kept pair was used: no new token call, no "Old refresh token used".
    assert stats(world.sb)["token_calls"] == before["token_calls"]


def test_libpq_settings_and_pgpass_carry_the_login(
    cli, postgres_server_private, monkeypatch, tmp_path
):
    """PGHOST/PGPORT/PGUSER and a password file work; the password is in no output, no file of
    the home, and not in config."""
    from exactlink.services import team_store

    server = postgres_server_private
    server.execute(f"CREATE ROLE anna LOGIN SUPERUSER PASSWORD 'right-{PASSWORD}'")
    (server.data / "pg_hba.conf").write_text(
        "local all all trust\nhost all anna 127.0.0.1/32 scram-sha-256\n"
        "host all all 127.0.0.1/32 trust\n"
    )
    server.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)
    url = server.create_schema()
    team_store.create_schema(url, TEST_STORE_KEY)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{server.port}:*:anna:right-{PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.delenv("EXACTLINK_STORE", raising=False)
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(server.port))
    monkeypatch.setenv("PGUSER", "anna")
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    bare = "postgresql:///postgres?" + url.split("?", 1)[1]
    from exactlink.adapters import crypto

    joined = cli(
        "store", "join", bare, "--insecure-storage", input=crypto.encode_key(TEST_STORE_KEY)
    )
    assert joined.exit_code == 0, joined.stderr
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    status = cli("store", "status", "--json")
    assert status.json()["location"] == f"127.0.0.1:{server.port}/postgres"
    home = tmp_path / "home"
    for path in home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in status.stdout + status.stderr + joined.stdout + joined.stderr
    assert execute(url, "SELECT os_user FROM events WHERE action = 'portal.create'")


def _certificates(folder, owner_kwargs):
    """A throwaway CA and a server certificate for 127.0.0.1 (key 0600, owned by the server's
    user); returns (ca.pem, another CA's pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def ca(label):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(label))
            .issuer_name(name(label))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    ca_key, ca_cert = ca("exactlink test CA")
    _other_key, other_cert = ca("another CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(name("db.kantoor.test"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "server.crt").write_bytes(server_cert.public_bytes(pem))
    key_path = folder / "server.key"
    key_path.write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    if owner_kwargs:
        for path in (folder / "server.crt", key_path):
            os.chown(path, owner_kwargs["user"], owner_kwargs["group"])
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (folder / "other-ca.pem").write_bytes(other_cert.public_bytes(pem))
    return folder / "ca.pem", folder / "other-ca.pem"


def test_tls_verify_full(cli, postgres_server_private, monkeypatch, tmp_path):
    """sslmode=verify-full in the URL: the server's certificate is checked against the firm's
    CA and the host; a server the CA did not sign is refused (exit 8), naming the host."""
    from exactlink.adapters import crypto
    from exactlink.services import team_store

    server = postgres_server_private
    ca, other = _certificates(server.data, server.user_kwargs)
    server.execute("ALTER SYSTEM SET ssl = on")
    server.execute("ALTER SYSTEM SET ssl_cert_file = 'server.crt'")
    server.execute("ALTER SYSTEM SET ssl_key_file = 'server.key'")
    server.execute("SELECT pg_reload_conf()")
    time.sleep(0.5)
    url = server.create_schema()
    team_store.create_schema(url, TEST_STORE_KEY)
    tls = url + f"&sslmode=verify-full&sslrootcert={ca}"
    monkeypatch.setenv("EXACTLINK_STORE", tls)
    monkeypatch.setenv("EXACTLINK_STORE_KEY", crypto.encode_key(TEST_STORE_KEY))
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    used = execute(tls, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert used == [(True,)]
    listed = cli("--json", "portal", "list")  # a read: libpq's road, verify-full as well
    assert listed.exit_code == 0 and [p["name"] for p in listed.json()] == ["K"]

    monkeypatch.setenv("EXACTLINK_STORE", url + f"&sslmode=verify-full&sslrootcert={other}")
    refused = cli("portal", "list")
    assert refused.exit_code == 8
    assert f"127.0.0.1:{server.port}" in refused.stderr
    assert "certificate" in refused.stderr
