"""The store: one connection per command, repositories that return the records of ``models.py``.

The local SQLite file is the default; a team store on PostgreSQL (``url``, from
``EXACTLINK_STORE`` or the config key ``store.url``) runs the very same repositories through
``postgres.PostgresDatabase``. Each table group has its own repository module; ``Store`` opens the
database on first use and builds a repository the first time it is asked for, so a command pays
only for what it touches (and imports psycopg only for a team store).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from exactlink.adapters.store import db as _db
from exactlink.i18n import _

if TYPE_CHECKING:
    from exactlink.adapters.store.activations import ActivationRepository
    from exactlink.adapters.store.clients import ClientRepository
    from exactlink.adapters.store.connections import ConnectionRepository
    from exactlink.adapters.store.divisions import DivisionRepository
    from exactlink.adapters.store.events import EventRepository
    from exactlink.adapters.store.portals import PortalRepository


class Store:
    """The state database of one exactlink home."""

    def __init__(
        self,
        path: Path,
        url: str | None = None,
        *,
        in_use: Callable[[], bool] | None = None,
        quick_reads: bool = False,
    ) -> None:
        self.path = path
        self.url = url or None
        self._in_use = in_use  # asked only of an empty file: has this home been used?
        # A command that only reads: a team store's reads go through libpq (postgres_reads.py).
        self.quick_reads = quick_reads

    @property
    def is_team(self) -> bool:
        """A team store on PostgreSQL (else the local SQLite file)."""
        return self.url is not None

    @property
    def location(self) -> str:
        """Where the store is, for people: the file, or ``host:port/dbname`` (no password)."""
        if self.url is None:
            return str(self.path)
        if "db" in self.__dict__:  # already open: no second parse (nor psycopg's import)
            return str(self.db.location)  # type: ignore[attr-defined]
        from exactlink.adapters.store.postgres import location

        return location(self.url)

    @cached_property
    def db(self) -> sqlite3.Connection:
        if self.url is not None:
            # The same sqlite3.Connection subset the repositories use (see postgres.py).
            if self.quick_reads:
                from exactlink.adapters.store.postgres_reads import open_for_reads

                quick = open_for_reads(self.url, open_team_database)
                if quick is not None:
                    return cast("sqlite3.Connection", quick)
            return cast("sqlite3.Connection", open_team_database(self.url))
        return _db.connect(self.path, in_use=self._in_use)

    def schema_version(self) -> int:
        if self.url is not None:
            from exactlink.adapters.store import postgres_migrations

            return postgres_migrations.current_version(self.db) or 0  # type: ignore[arg-type]
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside land together or not at all."""
        with _db.transaction(self.db) as conn:
            yield conn

    def summary(self) -> dict[str, Any]:
        """Row counts of the whole store (for a support bundle; no names, no secrets)."""

        def count(sql: str) -> int:
            return int(self.db.execute(sql).fetchone()[0])

        return {
            "backend": "postgresql" if self.is_team else "sqlite",
            "schema_version": self.schema_version(),
            "portals": count("SELECT COUNT(*) FROM portals"),
            "clients": count("SELECT COUNT(*) FROM clients"),
            "activations": count("SELECT COUNT(*) FROM activations"),
            "cached_divisions": count("SELECT COUNT(*) FROM divisions"),
            "connections": self.connections.status_counts(),
            "events": count("SELECT COUNT(*) FROM events"),
            "exact_errors": count("SELECT COUNT(*) FROM exact_errors"),
        }

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
            del self.__dict__["db"]

    @cached_property
    def events(self) -> EventRepository:
        from exactlink.adapters.store.events import EventRepository

        return EventRepository(self.db)

    @cached_property
    def portals(self) -> PortalRepository:
        from exactlink.adapters.store.portals import PortalRepository

        return PortalRepository(self.db)

    @cached_property
    def clients(self) -> ClientRepository:
        from exactlink.adapters.store.clients import ClientRepository

        return ClientRepository(self.db)

    @cached_property
    def connections(self) -> ConnectionRepository:
        from exactlink.adapters.store.connections import ConnectionRepository

        return ConnectionRepository(self.db)

    @cached_property
    def activations(self) -> ActivationRepository:
        from exactlink.adapters.store.activations import ActivationRepository

        return ActivationRepository(self.db)

    @cached_property
    def divisions(self) -> DivisionRepository:
        from exactlink.adapters.store.divisions import DivisionRepository

        return DivisionRepository(self.db)


def open_team_database(url: str) -> Any:
    """A psycopg connection to the team store at ``url`` (postgres.py), its schema up to date."""
    try:
        from exactlink.adapters.store.postgres import open_database
    except ImportError as exc:
        raise _db.StoreError(
            _("A team store needs psycopg, which is not installed ({error}).").format(error=exc),
            hint=_("pip install 'exactlink[team]'"),
        ) from None
    return open_database(url)
