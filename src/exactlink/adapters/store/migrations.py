"""Schema migrations: an ordered list of small named functions.

``PRAGMA user_version`` records how many have run. A migration only ever moves forward; to change
the schema, append a function to ``MIGRATIONS`` (never edit one that has shipped).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the caller's transaction.

    ``executescript`` would COMMIT first, so a migration could be left half-applied; splitting on
    complete statements keeps the whole migration in one transaction.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)


def m001_initial(db: sqlite3.Connection) -> None:
    """Portals, clients, connections, activations, the divisions cache and the audit log."""
    run_script(
        db,
        """
        CREATE TABLE portals (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
            email         TEXT NOT NULL,
            billing_name  TEXT,
            billing_email TEXT,
            vat           TEXT,
            address       TEXT,
            created_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL
        );

        CREATE TABLE clients (
            id                INTEGER PRIMARY KEY,
            portal_id         INTEGER NOT NULL REFERENCES portals(id),
            name              TEXT NOT NULL COLLATE NOCASE,
            email             TEXT,
            vat               TEXT,
            coc               TEXT,
            managed           INTEGER NOT NULL DEFAULT 0,
            access_granted_at TEXT,
            created_at        TEXT NOT NULL,
            updated_at        TEXT NOT NULL,
            UNIQUE (portal_id, name)
        );
        CREATE INDEX clients_vat ON clients (portal_id, vat);

        -- One row per OAuth token chain: the portal's own (client_id NULL) or a client's own link.
        -- Only metadata: the tokens are in the keyring.
        CREATE TABLE connections (
            id                 INTEGER PRIMARY KEY,
            portal_id          INTEGER NOT NULL REFERENCES portals(id),
            client_id          INTEGER REFERENCES clients(id),
            base_url           TEXT NOT NULL,
            app_client_id      TEXT NOT NULL,
            status             TEXT NOT NULL,
            storage            TEXT NOT NULL,
            exact_user_id      TEXT,
            exact_username     TEXT,
            exact_full_name    TEXT,
            exact_email        TEXT,
            current_division   INTEGER,
            access_expires_at  REAL,
            refresh_issued_at  REAL,
            last_token_call_at REAL,
            last_error         TEXT,
            created_at         TEXT NOT NULL,
            updated_at         TEXT NOT NULL
        );
        CREATE UNIQUE INDEX connections_owner
            ON connections (portal_id, COALESCE(client_id, 0));

        CREATE TABLE activations (
            client_id     INTEGER PRIMARY KEY REFERENCES clients(id),
            connection_id INTEGER NOT NULL REFERENCES connections(id),
            division      INTEGER NOT NULL,
            division_name TEXT,
            matched_by    TEXT NOT NULL,
            activated_at  TEXT NOT NULL
        );
        CREATE INDEX activations_division ON activations (connection_id, division);

        CREATE TABLE divisions (
            connection_id   INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
            code            INTEGER NOT NULL,
            description     TEXT NOT NULL,
            hid             INTEGER,
            customer_name   TEXT,
            vat_number      TEXT,
            coc_number      TEXT,
            status          INTEGER NOT NULL,
            blocking_status INTEGER NOT NULL,
            is_main         INTEGER NOT NULL DEFAULT 0,
            country         TEXT,
            fetched_at      TEXT NOT NULL,
            PRIMARY KEY (connection_id, code)
        );

        -- The last rate-limit headers seen per (connection, division) (reference §5.2).
        CREATE TABLE rate_limits (
            connection_id      INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
            division           INTEGER NOT NULL,
            daily_limit        INTEGER,
            daily_remaining    INTEGER,
            daily_reset_ms     INTEGER,
            minutely_limit     INTEGER,
            minutely_remaining INTEGER,
            minutely_reset_ms  INTEGER,
            updated_at         TEXT NOT NULL,
            PRIMARY KEY (connection_id, division)
        );

        -- The last errors Exact returned, for doctor and support bundles (never a token).
        CREATE TABLE exact_errors (
            id            INTEGER PRIMARY KEY,
            connection_id INTEGER REFERENCES connections(id) ON DELETE CASCADE,
            division      INTEGER,
            method        TEXT NOT NULL,
            endpoint      TEXT NOT NULL,
            status        INTEGER,
            reason        TEXT,
            message       TEXT,
            at            TEXT NOT NULL
        );

        CREATE TABLE events (
            id      INTEGER PRIMARY KEY,
            at      TEXT NOT NULL,
            os_user TEXT NOT NULL,
            portal  TEXT,
            client  TEXT,
            action  TEXT NOT NULL,
            subject TEXT,
            details TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_client ON events (client);
        -- The audit log is append-only.
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
    )


def m002_one_client_per_division(db: sqlite3.Connection) -> None:
    """An administration is held by at most one client per connection, enforced by the store.

    The service checks the holder before it writes, but two concurrent `exact activate` runs can
    both pass that check; the unique index makes the second write fail (a ``Conflict``). A store
    that already holds such a pair keeps the earliest activation and drops the later ones, each
    recorded in the audit log.
    """
    later = db.execute(
        "SELECT a.client_id, a.connection_id, a.division, c.name, p.name"
        " FROM activations a JOIN clients c ON c.id = a.client_id"
        " JOIN portals p ON p.id = c.portal_id"
        " WHERE EXISTS (SELECT 1 FROM activations b WHERE b.connection_id = a.connection_id"
        " AND b.division = a.division AND (b.activated_at < a.activated_at"
        " OR (b.activated_at = a.activated_at AND b.client_id < a.client_id)))"
    ).fetchall()
    import json  # here, not at the top: every command imports this module, few run this step

    for client_id, connection_id, division, client, portal in later:
        db.execute("DELETE FROM activations WHERE client_id = ?", (client_id,))
        details = {"connection_id": connection_id, "division": division, "reason": "duplicate"}
        db.execute(
            "INSERT INTO events (at, os_user, portal, client, action, subject, details)"
            " VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'exactlink', ?, ?,"
            " 'exact.deactivate', ?, ?)",
            (portal, client, str(division), json.dumps(details, sort_keys=True)),
        )
    run_script(
        db,
        """
        DROP INDEX activations_division;
        CREATE UNIQUE INDEX activations_division ON activations (connection_id, division);
        """,
    )


def m003_event_host(db: sqlite3.Connection) -> None:
    """Who did what: the computer (``host``) and, for Exact calls, the Exact login of each event,
    beside the OS user (a team shares one store; older events keep NULL)."""
    db.execute("ALTER TABLE events ADD COLUMN host TEXT")
    db.execute("ALTER TABLE events ADD COLUMN exact_user TEXT")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_initial,
    m002_one_client_per_division,
    m003_event_host,
]
