"""`store migrate --to URL`: a local store and its secrets moved into an empty team store.

Everything lands in one transaction on the team store (every portal, client, activation, cached
division, connection, rate-limit and error record, and event, with the client secret and the
tokens sealed under the store key), the counts are compared before it commits, and the local
store is only read: a failed or refused migration leaves both sides as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exactlink.adapters.secrets import SecretStore
from exactlink.adapters.store.team_secrets import TeamSecretStore
from exactlink.errors import Conflict, ExactlinkError
from exactlink.i18n import _

# In dependency order; ids are kept so every reference (and every token's secret name) holds.
TABLES = (
    "portals",
    "clients",
    "connections",
    "activations",
    "divisions",
    "rate_limits",
    "exact_errors",
)
# Tables with an identity column whose sequence must move past the copied ids.
IDENTITY_TABLES = ("portals", "clients", "connections", "exact_errors")
# What makes a team store "not empty" (its own store.* events do not count).
CONTENT_TABLES = ("portals", "clients", "connections", "secrets")


class CountMismatch(ExactlinkError):
    """The copy does not hold what the local store holds (nothing was committed)."""


@dataclass
class MigrationReport:
    """Rows per table in the local store and in the team store after the copy."""

    source: dict[str, int] = field(default_factory=dict)
    target: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tables": {
                name: {"local": self.source[name], "team": self.target.get(name)}
                for name in self.source
            },
            "equal": self.source == self.target,
        }


def _count(db: Any, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def check_empty(target: Any, location: str) -> None:
    """Refuse a team store that already holds a firm's data (exit 4)."""
    if any(_count(target, table) for table in CONTENT_TABLES):
        raise Conflict(
            _(
                "The team store {where} is not empty; migrating into it would mix two firms' data."
            ).format(where=location),
            hint=_("Migrate into a new, empty team store (`exactlink store init URL` first)."),
        )


def _copy_table(source: Any, target: Any, table: str) -> None:
    cursor = source.execute(f"SELECT * FROM {table}")
    columns = [column[0] for column in cursor.description]
    rows = [tuple(row) for row in cursor.fetchall()]
    if not rows:
        return
    marks = ", ".join("?" for _column in columns)
    target.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _copy_events(source: Any, target: Any) -> None:
    """Events get new ids (the team store's own ``store.init`` came first), in the same order."""
    cursor = source.execute("SELECT * FROM events ORDER BY id")
    columns = [column[0] for column in cursor.description if column[0] != "id"]
    rows = [tuple(row[name] for name in columns) for row in cursor.fetchall()]
    if rows:
        marks = ", ".join("?" for _column in columns)
        target.executemany(f"INSERT INTO events ({', '.join(columns)}) VALUES ({marks})", rows)


def _secret_names(source: Any, source_secrets: SecretStore, app_secret_key: str) -> list[str]:
    """The app's secret and every entry of each chain (its token pair's pointer and
    generations, or the two entries of the old scheme), copied as they are."""
    from exactlink.adapters.exact.token_store import TokenPairStore

    names = [app_secret_key]
    pairs = TokenPairStore(source_secrets)
    for (connection_id,) in source.execute("SELECT id FROM connections ORDER BY id").fetchall():
        names += pairs.names(f"connection-{connection_id}")
    return names


def migrate(
    source: Any,
    source_secrets: SecretStore,
    target: Any,
    key: bytes,
    *,
    location: str,
    app_secret_key: str,
) -> MigrationReport:
    """Copy ``source`` (the local SQLite connection) into ``target`` (an empty team store)."""
    report = MigrationReport()
    for table in (*TABLES, "events"):
        report.source[table] = _count(source, table)
    names = _secret_names(source, source_secrets, app_secret_key)
    secrets = {name: source_secrets.get(name) for name in names}
    report.source["secrets"] = sum(1 for value in secrets.values() if value)
    with target.transaction():
        check_empty(target, location)  # under the write lock: a colleague may race us
        events_before = _count(target, "events")
        for table in TABLES:
            _copy_table(source, target, table)
        _copy_events(source, target)
        for table in IDENTITY_TABLES:
            target.execute(
                "SELECT setval(pg_get_serial_sequence(?, 'id'),"
                f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)",
                (table,),
            )
        sealed = TeamSecretStore(target, key)
        for name, value in secrets.items():
            if value:
                sealed.set(name, value)
        for table in TABLES:
            report.target[table] = _count(target, table)
        report.target["events"] = _count(target, "events") - events_before
        report.target["secrets"] = _count(target, "secrets")
        if report.source != report.target:
            raise CountMismatch(
                _("The copy does not match the local store; nothing was written."),
                hint=_("Report it with `exactlink support bundle`."),
            )
    return report
