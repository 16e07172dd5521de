"""The store's own failures after it opened (locked past the busy timeout, read-only file) are
user errors with a hint, not bugs."""

from __future__ import annotations

import json
import sqlite3

import pytest

from exactlink.adapters.store import db as store_db


@pytest.fixture
def impatient(monkeypatch):
    """A busy timeout of a few milliseconds, so a held lock fails at once."""
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 20)


def test_a_write_lock_held_by_another_process_is_a_store_error(cli, isolated_home, impatient):
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    other = sqlite3.connect(isolated_home / "state.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        result = cli("--json", "client", "add", "Bakkerij Peeters BV")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.exit_code == store_db.StoreError.exit_code
    assert "Error:" in result.stderr and "Hint:" in result.stderr
    assert "Unexpected error" not in result.stderr
    assert "Wait a minute" in result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "error"
    assert envelope["errors"][0]["code"] == store_db.StoreError.code
    assert cli("client", "list", "--json").stdout.strip() == "[]"


def test_a_read_only_store_is_a_store_error(tmp_path):
    path = tmp_path / "state.db"
    db = store_db.connect(path)
    db.close()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        with pytest.raises(store_db.StoreError) as caught, store_db.transaction(db):
            db.execute(
                "INSERT INTO portals (name, email, created_at, updated_at)"
                " VALUES ('K', 'k@k.be', 'now', 'now')"
            )
    finally:
        db.close()
    assert "readonly" in caught.value.message
    assert caught.value.hint
