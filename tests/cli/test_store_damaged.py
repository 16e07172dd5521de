"""A damaged or unreadable state.db is named, with `support bundle` as the next step and exit 11
(docs/exit-codes.md), never "No portal chosen" or a fresh empty store (issue 14)."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys

import pytest

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes")


@pytest.fixture
def home(cli, isolated_home):
    """A home in use: a portal (the config's default) with two clients."""
    assert cli("portal", "create", "Kantoor", "--email", "k@kantoor.be").exit_code == 0
    for name in ("Bakkerij Peeters", "Garage Janssens"):
        assert cli("client", "add", name).exit_code == 0
    return isolated_home


def _db(home):
    db = home / "state.db"
    for sidecar in ("state.db-wal", "state.db-shm"):
        (home / sidecar).unlink(missing_ok=True)
    return db


def _assert_damaged(cli, db, problem: str) -> dict:
    shown = cli("client", "list")
    assert shown.exit_code == 11, shown.stderr
    assert f"The local store {db} is damaged" in shown.stderr
    assert "`exactlink support bundle -o bundle.json`" in shown.stderr
    assert "No portal" not in shown.stderr and "does not exist" not in shown.stderr
    error = cli("--json", "client", "list").json()["errors"][0]
    assert error["code"] == "store_damaged"
    assert error["details"] == {"path": str(db), "problem": problem}
    return error


def test_garbage_bytes(cli, home):
    db = _db(home)
    db.write_bytes(os.urandom(8192))
    _assert_damaged(cli, db, "not_a_database")


@pytest.mark.parametrize(
    ("keep", "problem"),
    [(0, "empty"), (60, "truncated"), (None, "malformed")],  # None: cut after the first page
)
def test_a_truncated_file(cli, home, keep, problem):
    db = _db(home)
    data = db.read_bytes()
    assert len(data) > 8192
    db.write_bytes(data[: 4096 if keep is None else keep])
    _assert_damaged(cli, db, problem)
    assert db.stat().st_size == (4096 if keep is None else keep)  # left as it was


def test_pages_damaged_inside_the_file_are_found_by_a_read(cli, home):
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows([["name"], *([f"Klant {i:05d}"] for i in range(2000))])
    assert cli("client", "import", "-", "--format", "csv", input=buf.getvalue()).exit_code == 0
    assert cli("client", "list").exit_code == 0  # checkpointed, closed
    db = _db(home)
    with open(db, "r+b") as handle:  # the header and the schema page intact, the rest noise
        size = db.stat().st_size
        for page in range(3, size // 4096):
            handle.seek(page * 4096)
            handle.write(os.urandom(4096))
    _assert_damaged(cli, db, "malformed")


def test_an_empty_file_in_a_new_home_is_a_new_store(cli, isolated_home):
    isolated_home.mkdir(mode=0o700, exist_ok=True)
    (isolated_home / "state.db").write_bytes(b"")  # a first run cut short, or a parallel one
    (isolated_home / "state.db").chmod(0o600)
    assert cli("portal", "create", "Kantoor", "--email", "k@kantoor.be").exit_code == 0
    assert [p["name"] for p in cli("--json", "portal", "list").json()] == ["Kantoor"]


def _without_root_override() -> None:
    """In the child: as root, give up reading past file modes (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH), so a mode of 0200 denies it like anyone else."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@posix_only
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl capabilities")
def test_no_read_permission(home):
    db = _db(home)
    db.chmod(0o200)
    done = subprocess.run(
        [sys.executable, "-m", "exactlink", "--json", "client", "list"],
        capture_output=True,
        text=True,
        env=dict(os.environ, EXACTLINK_HOME=str(home)),
        preexec_fn=_without_root_override if os.geteuid() == 0 else None,
        timeout=60,
    )
    assert done.returncode == 11, done.stderr
    assert f"The local store {db} cannot be read: permission denied." in done.stderr
    assert f"chmod 600 {db}" in done.stderr and "support bundle" in done.stderr
    error = json.loads(done.stdout)["errors"][0]
    assert error["code"] == "store_damaged"
    assert error["details"]["problem"] == "unreadable"


def test_the_support_bundle_is_written_without_a_damaged_store(cli, home, tmp_path):
    db = _db(home)
    db.write_bytes(b"not a database at all" * 100)
    out = tmp_path / "bundle.json"

    result = cli("support", "bundle", "-o", str(out))

    assert result.exit_code == 0, result.stderr
    bundle = json.loads(out.read_text("utf-8"))
    assert bundle["store"]["path"] == str(db)
    assert bundle["store"]["error"]["code"] == "store_damaged"
    assert bundle["store"]["size_bytes"] == 2100 and bundle["store"]["sqlite_header"] is False
    assert bundle["config"]["default_portal"] == "Kantoor"
    store_check = next(c for c in bundle["doctor"]["checks"] if c["id"] == "store")
    assert store_check["status"] == "fail"
