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


def m002_event_host(db: sqlite3.Connection) -> None:
    """Who did what: the computer (``host``) and, for Exact calls, the Exact login of each event,
    beside the OS user (a team shares one store; older events keep NULL)."""
    db.execute("ALTER TABLE events ADD COLUMN host TEXT")
    db.execute("ALTER TABLE events ADD COLUMN exact_user TEXT")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_initial,
    m002_event_host,
]
