"""Migration 2 on a store that already holds one administration on two clients (written by a
version without the unique rule): the earliest activation stays, the later one goes, and the
audit log says so."""

from __future__ import annotations

import sqlite3

from exactlink.adapters.store import Store
from exactlink.adapters.store.migrations import m001_initial

NOW = "2026-12-01T00:00:00Z"


def test_duplicate_activations_are_resolved_and_audited(tmp_path):
    path = tmp_path / "state.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("BEGIN")
    m001_initial(old)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO portals VALUES (1, 'K', 'k@k.be', NULL, NULL, NULL, NULL, ?, ?)", (NOW, NOW)
    )
    for cid, name in ((1, "Later"), (2, "Eerder"), (3, "Elders")):
        old.execute(
            "INSERT INTO clients (id, portal_id, name, created_at, updated_at)"
            " VALUES (?, 1, ?, ?, ?)",
            (cid, name, NOW, NOW),
        )
    old.execute(
        "INSERT INTO connections (id, portal_id, base_url, app_client_id, status, storage,"
        " created_at, updated_at) VALUES (1, 1, 'https://x', 'app', 'connected', 'file', ?, ?)",
        (NOW, NOW),
    )
    for cid, division, at in (
        (1, 7, "2026-12-01T10:00:00Z"),
        (2, 7, "2026-12-01T09:00:00Z"),
        (3, 8, "2026-12-01T11:00:00Z"),
    ):
        old.execute(
            "INSERT INTO activations VALUES (?, 1, ?, 'D', 'manual', ?)", (cid, division, at)
        )
    old.execute("COMMIT")
    old.close()

    store = Store(path)
    try:
        assert store.activations.holder(1, 7).client_id == 2  # the earlier one stays
        assert store.activations.get(1) is None
        assert store.activations.get(3).division == 8  # untouched
        events = store.events.list()
        assert [(e.action, e.client, e.subject) for e in events] == [
            ("exact.deactivate", "Later", "7")
        ]
        assert events[0].details["reason"] == "duplicate"
        unique = store.db.execute(
            "SELECT \"unique\" FROM pragma_index_list('activations')"
            " WHERE name = 'activations_division'"
        ).fetchone()
        assert unique[0] == 1
    finally:
        store.close()
