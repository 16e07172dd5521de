"""What both roads to the team store share, without importing psycopg: the SQL the repositories
write turned into PostgreSQL's, rows read by index and by name, where the store is, and the
messages for a server that cannot be reached.

Two roads: ``postgres.py`` (psycopg 3, every command) and ``postgres_reads.py`` (libpq itself,
for the commands that only read; see there why). They must answer alike, so what they share
lives here and nowhere else.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from exactlink.adapters.limits import DAY, env_seconds
from exactlink.adapters.store.db import StoreError
from exactlink.i18n import _

DEFAULT_STATEMENT_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10


class StoreUnavailable(StoreError):
    """The team store's server cannot be reached, or refused the login (exit 8)."""

    exit_code = 8
    code = "store_unavailable"


def location_of(params: Mapping[str, Any]) -> str:
    """``host:port/dbname`` of parsed connection settings, PG* variables filled in: what
    messages and ``store status`` show (never the user's password)."""
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    dbname = str(params.get("dbname") or os.environ.get("PGDATABASE") or "")
    return f"{host}:{port}/{dbname}"


def first_line(exc: BaseException | str) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def unavailable(where: str, exc: BaseException | str) -> StoreUnavailable:
    """The server down, unreachable, restarting, or refusing the login, as one clear error."""
    detail = first_line(exc)
    if "password authentication failed" in detail or "no password supplied" in detail:
        hint = _(
            "Check the password in ~/.pgpass (or PGPASSFILE/PGPASSWORD) for this server and user."
        )
    elif "does not exist" in detail:
        hint = _("Check the database name in the URL, or ask the firm's administrator.")
    else:
        hint = _("Check that the server runs and this computer can reach it, then try again.")
    return StoreUnavailable(
        _("The team store {where} is not available: {error}").format(where=where, error=detail),
        hint=hint,
    )


def cancelled(where: str, exc: BaseException | str) -> StoreError:
    """A statement the server cancelled (``statement_timeout``)."""
    return StoreError(
        _("The team store {where} cancelled a statement: {error}").format(
            where=where, error=first_line(exc)
        ),
        hint=_(
            "The server was too slow or busy (statement timeout); try again, or raise "
            "EXACTLINK_STORE_STATEMENT_TIMEOUT."
        ),
    )


def statement_timeout() -> float:
    """``EXACTLINK_STORE_STATEMENT_TIMEOUT`` seconds (1 to a day; 0, which PostgreSQL reads as
    "no limit", is refused like nan or inf), else 60."""
    return env_seconds("EXACTLINK_STORE_STATEMENT_TIMEOUT", DEFAULT_STATEMENT_TIMEOUT, 1.0, DAY)


# -- SQL -----------------------------------------------------------------------------------------
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|\?|(?<![:\w]):([A-Za-z_]\w*)|%")

# SQLite's JSON accessor on the TEXT ``details`` column, as PostgreSQL's.
_JSON_EXTRACT = re.compile(r"json_extract\((\w+(?:\.\w+)?), '\$\.(\w+)'\)")


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite's ``?`` / ``:name`` parameters as psycopg's ``%s`` / ``%(name)s`` (quotes kept),
    and SQLite's ``json_extract(col, '$.key')`` as ``(col::json ->> 'key')``."""
    sql = _JSON_EXTRACT.sub(r"(\1::json ->> '\2')", sql)

    def swap(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        if text[0] in "'\"":
            return text.replace("%", "%%")  # psycopg reads % everywhere, literals included
        return text

    return _TOKEN.sub(swap, sql)


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> tuple[str, tuple[str | None, ...]]:
    """The same SQL with libpq's numbered parameters (``$1``), and what each number stands for:
    ``None`` for the next positional ``?``, else the name of a ``:name`` (one number a name)."""
    sql = _JSON_EXTRACT.sub(r"(\1::json ->> '\2')", sql)
    order: list[str | None] = []

    def swap(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            order.append(None)
            return f"${len(order)}"
        name = match.group(1)
        if name:
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}"
        return text

    return _TOKEN.sub(swap, sql), tuple(order)


def bind(order: tuple[str | None, ...], params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    """The values for ``numbered``'s parameters, in number order."""
    if isinstance(params, Mapping):
        return [params[name] for name in order if name is not None]
    if len(params) != len(order):
        raise ValueError(f"{len(order)} parameters expected, {len(params)} given")
    return list(params)


# -- rows ----------------------------------------------------------------------------------------
class Row(tuple):  # type: ignore[type-arg]
    """A row read by index (``row[0]``) or by column name (``row["name"]``), like sqlite3.Row."""

    __slots__ = ()
    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@functools.lru_cache(maxsize=256)
def row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})
