"""The local SQLite store: one connection per command, repositories that return the records of
``models.py``.

Each table group has its own repository module; ``Store`` opens the database on first use and
builds a repository the first time it is asked for, so a command pays only for what it touches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exactlink.adapters.store import db as _db

if TYPE_CHECKING:
    from exactlink.adapters.store.activations import ActivationRepository
    from exactlink.adapters.store.clients import ClientRepository
    from exactlink.adapters.store.connections import ConnectionRepository
    from exactlink.adapters.store.divisions import DivisionRepository
    from exactlink.adapters.store.events import EventRepository
    from exactlink.adapters.store.portals import PortalRepository


class Store:
    """The state database of one exactlink home."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @cached_property
    def db(self) -> sqlite3.Connection:
        return _db.connect(self.path)

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
            "schema_version": count("PRAGMA user_version"),
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
