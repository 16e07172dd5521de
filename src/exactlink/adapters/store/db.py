"""The SQLite connection: WAL, busy timeout, foreign keys, migrations, one transaction per command."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from exactlink.adapters.store.migrations import MIGRATIONS
from exactlink.errors import ExactlinkError, StoreDamaged
from exactlink.i18n import _
from exactlink.paths import ensure_private_dir

# Parallel runs (`xargs -P8 exactlink client add ...`) wait for each other instead of failing
# with "database is locked"; a command's transaction is short, so 60 s is generous.
BUSY_TIMEOUT_MS = 60_000
# The first 16 bytes of every SQLite 3 database file; the header is 100 bytes long.
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_HEADER_BYTES = 100


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds, the form every timestamp in the store uses."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class StoreError(ExactlinkError):
    """The local store could not be opened or written."""


def connect(path: Path, *, in_use: Callable[[], bool] | None = None) -> sqlite3.Connection:
    """Open (creating if needed, 0600 in a 0700 folder) and migrate the database at ``path``.

    A file that is not a store (``StoreDamaged``, exit 11) is refused, never replaced; an empty
    file is a new store unless ``in_use()`` says this home has been used (then it was cut to
    nothing, and starting afresh would only look like "no portal")."""
    ensure_private_dir(path.parent)
    check_file(path, in_use)
    if not path.exists():
        # Create the file ourselves so it is 0600 from its first byte.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        damaged = damage(exc, path)
        if damaged is not None:
            raise damaged from exc
        raise StoreError(
            _("The local store {path} cannot be used: {error}").format(path=path, error=exc),
            hint=_("Check the file's permissions, or run `exactlink doctor`."),
        ) from exc
    for sidecar in ("-wal", "-shm"):
        side = path.with_name(path.name + sidecar)
        if side.exists():
            os.chmod(side, 0o600)
    return db


def check_file(path: Path, in_use: Callable[[], bool] | None = None) -> None:
    """``StoreDamaged`` when ``path`` exists but cannot be this home's store: unreadable, not
    an SQLite file, shorter than its header, or empty while the home is in use."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SQLITE_HEADER_BYTES)
    except FileNotFoundError:
        return  # a new home: the store is created
    except IsADirectoryError as exc:
        raise _damaged(path, "folder", _("it is a folder, not a file")) from exc
    except PermissionError as exc:
        raise StoreDamaged(
            _("The local store {path} cannot be read: permission denied.").format(path=path),
            hint=_(
                "Make it yours and readable (`chmod 600 {path}`; `ls -l` shows its owner), or"
                " run `exactlink support bundle -o bundle.json` for support."
            ).format(path=path),
            details={"path": str(path), "problem": "unreadable", "errno": "EACCES"},
        ) from exc
    if not head:
        if in_use is not None and in_use():
            raise _damaged(path, "empty", _("the file is empty, but this home was in use"))
        return
    if not head.startswith(SQLITE_MAGIC):
        raise _damaged(path, "not_a_database", _("it is not an SQLite database"))
    if len(head) < SQLITE_HEADER_BYTES:
        raise _damaged(
            path, "truncated", _("the file is cut short ({size} bytes)").format(size=len(head))
        )


def damage(exc: sqlite3.DatabaseError, path: str | Path) -> StoreDamaged | None:
    """SQLite's "malformed" and "not a database" as ``StoreDamaged``; None for anything else."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return _damaged(path, "malformed", str(exc))
    if code == sqlite3.SQLITE_CANTOPEN:
        return _damaged(path, "cannot_open", str(exc))
    return None


def _damaged(path: str | Path, problem: str, why: str) -> StoreDamaged:
    return StoreDamaged(
        _("The local store {path} is damaged: {why}.").format(path=path, why=why),
        hint=_(
            "Run `exactlink support bundle -o bundle.json` and send it to support (it is"
            " written without the store). Then restore {path} from a backup, or move it aside"
            " to start with an empty store."
        ).format(path=path),
        details={"path": str(path), "problem": problem},
    )


def translate(exc: BaseException, path: str | Path) -> ExactlinkError | None:
    """A store error that escaped a read (outside ``transaction``) as the error a person can
    act on; None when ``exc`` is not the store's."""
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError
    ):
        return None
    return damage(exc, path) or StoreError(
        _("The local store {path} cannot be used: {error}").format(path=path, error=exc),
        hint=_("Check the file's permissions, or run `exactlink doctor`."),
    )


def migrate(db: sqlite3.Connection) -> None:
    """Run the migrations not yet applied, each set in one IMMEDIATE transaction."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= len(MIGRATIONS):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: a parallel process may have migrated meanwhile.
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                _("The local store was written by a newer exactlink (schema {version}).").format(
                    version=version
                ),
                hint=_("Upgrade exactlink: pip install --upgrade exactlink"),
            )
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: all of a command's writes land together or not at all.

    IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout instead of
    deadlocking when both try to upgrade a read lock. A team store's connection (postgres.py)
    brings its own, which takes the store's write lock the same way.
    """
    if not isinstance(db, sqlite3.Connection):
        with db.transaction():  # type: ignore[attr-defined]
            yield db
        return
    if db.in_transaction:  # nested use joins the outer transaction
        yield db
        return
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.in_transaction:  # SQLite rolls back by itself on some errors (disk full)
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
        raise  # our own mistake, not the store's: a bug report is the right answer
    except sqlite3.DatabaseError as exc:
        if db.in_transaction:  # a failed COMMIT leaves the transaction open
            db.execute("ROLLBACK")
        raise store_error(db, exc) from exc


def store_error(db: sqlite3.Connection, exc: sqlite3.DatabaseError) -> StoreError | StoreDamaged:
    """A failure of the store itself (locked past the busy timeout, disk full, read-only file,
    corrupt) as a StoreError with the hint that fixes it."""
    try:
        path = next(row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main")
    except (sqlite3.Error, StopIteration):
        path = "?"
    damaged = damage(exc, path)
    if damaged is not None:
        return damaged
    if getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        # Another exactlink command held the write lock for the whole busy timeout.
        hint = _("Wait a minute and try again.")
    else:
        hint = _("Check the file's permissions, or run `exactlink doctor`.")
    return StoreError(
        _("The local store {path} cannot be used: {error}").format(path=path, error=exc),
        hint=hint,
    )
