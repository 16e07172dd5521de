"""libpq itself, through ctypes: the few calls a team store's quick reads need.

Why: importing psycopg costs more than the rest of a command (1.6 × ``python -c "import typer"``,
benchmarks/README.md), and a command that only reads (``client list``) needs none of its Python
layer. The library loaded here is the libpq that psycopg_binary ships, the very library psycopg
runs on, so every libpq setting (``PG*`` variables, ``~/.pgpass``, service files, ``sslmode``)
applies exactly as it does there. When psycopg would run on another libpq (``psycopg_c``, the
pure-Python build, ``PSYCOPG_IMPL``), ``load()`` finds nothing and psycopg does all the work.

Only what the store's reads need is here: a blocking connect (``connect_timeout`` bounds it),
one statement at a time with text parameters, awaited in ``select`` so that Ctrl-C stops it,
and text results of the types the store's tables use (integers, text, double precision,
boolean, bytea). Anything else raises ``Unsupported``; the caller (postgres_reads.py) then
hands the work to psycopg, which answers as it always does.
"""

from __future__ import annotations

import binascii
import ctypes
import functools
import os
import select
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from typing import Any

_VOID = ctypes.c_void_p
_STR = ctypes.c_char_p
_INT = ctypes.c_int

CONNECTION_OK = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2
PG_DIAG_SQLSTATE = ord("C")
_DONE = (PGRES_COMMAND_OK, PGRES_TUPLES_OK)

BOOL, BYTEA, INT8, INT2, INT4, TEXT, OID, FLOAT4, FLOAT8 = 16, 17, 20, 21, 23, 25, 26, 700, 701
VARCHAR, NAME, BPCHAR = 1043, 19, 1042
INT8_RANGE = range(-(2**63), 2**63)

# Each cell costs one ctypes call (about 0.3 µs more than psycopg's C loop): beyond this many
# (33,000 clients), running the statement again on psycopg, import included, is faster
# (bench_team.py --only sizes, benchmarks/README.md).
MOST_CELLS = 400_000

_NOTICE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
_IGNORE_NOTICE = _NOTICE(lambda _arg, _message: None)


# Text results as psycopg's own loaders read them, by type OID (C functions: no Python frame a
# cell; ``bytes.decode`` reads UTF-8).
_text = bytes.decode


def _bytea(cell: bytes) -> bytes:
    """bytea in the text form ``\\x0a1b…`` (the session sets ``bytea_output = hex``)."""
    if not cell.startswith(b"\\x"):
        raise Unsupported("bytea not in hex form")
    return binascii.a2b_hex(cell[2:])


_LOADERS: dict[int, Callable[[bytes], Any]] = {
    BOOL: b"t".__eq__,
    BYTEA: _bytea,
    INT2: int,
    INT4: int,
    INT8: int,
    OID: int,
    FLOAT4: float,
    FLOAT8: float,
    TEXT: _text,
    VARCHAR: _text,
    NAME: _text,
    BPCHAR: _text,
}


class Unsupported(Exception):
    """Something only psycopg does here: a value or a result type this module does not read."""


class ServerError(Exception):
    """The server refused a statement (``sqlstate``), or the connection broke (``None``)."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class ConnectFailed(Exception):
    """libpq could not connect; the message is libpq's (it never holds the password)."""


def _library_path() -> str | None:
    """The libpq psycopg_binary ships, when psycopg would run on psycopg_binary."""
    chosen = os.environ.get("PSYCOPG_IMPL", "").lower()
    if chosen not in ("", "binary"):
        return None
    if not chosen and find_spec("psycopg_c") is not None:
        return None  # psycopg prefers psycopg_c, which runs on the system's libpq
    spec = find_spec("psycopg_binary")
    if spec is None or not spec.origin:
        return None
    package = os.path.dirname(spec.origin)
    # Linux and Windows wheels keep the libraries beside the package, macOS wheels inside it.
    for folder in (os.path.join(os.path.dirname(package), "psycopg_binary.libs"),
                   os.path.join(package, ".dylibs")):  # fmt: skip
        try:
            found = sorted(name for name in os.listdir(folder) if name.startswith("libpq"))
        except OSError:
            continue
        if found:
            return os.path.join(folder, found[0])
    return None


class LibPQ:
    """The loaded library with the prototypes this module calls."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        signatures: dict[str, tuple[Any, list[Any]]] = {
            "PQconnectdbParams": (_VOID, [ctypes.POINTER(_STR), ctypes.POINTER(_STR), _INT]),
            "PQstatus": (_INT, [_VOID]),
            "PQerrorMessage": (_STR, [_VOID]),
            "PQfinish": (None, [_VOID]),
            "PQresultStatus": (_INT, [_VOID]),
            "PQresultErrorMessage": (_STR, [_VOID]),
            "PQresultErrorField": (_STR, [_VOID, _INT]),
            "PQntuples": (_INT, [_VOID]),
            "PQnfields": (_INT, [_VOID]),
            "PQfname": (_STR, [_VOID, _INT]),
            "PQftype": (ctypes.c_uint, [_VOID, _INT]),
            "PQclear": (None, [_VOID]),
            "PQsendQuery": (_INT, [_VOID, _STR]),
            "PQsendQueryParams": (
                _INT,
                [
                    _VOID,
                    _STR,
                    _INT,
                    ctypes.POINTER(ctypes.c_uint),
                    ctypes.POINTER(_STR),
                    _VOID,
                    _VOID,
                    _INT,
                ],
            ),
            "PQsocket": (_INT, [_VOID]),
            "PQconsumeInput": (_INT, [_VOID]),
            "PQisBusy": (_INT, [_VOID]),
            "PQgetResult": (_VOID, [_VOID]),
            "PQsetNoticeProcessor": (_VOID, [_VOID, _NOTICE, _VOID]),
            "PQconninfoParse": (_VOID, [_STR, ctypes.POINTER(_VOID)]),
            "PQconninfoFree": (None, [_VOID]),
            "PQfreemem": (None, [_VOID]),
        }
        for name, (restype, argtypes) in signatures.items():
            function = getattr(lib, name)
            function.restype = restype
            function.argtypes = argtypes
        # Called once a cell: without argtypes ctypes converts nothing, which halves the cost of
        # reading 10,000 cells. So they take the result as a c_void_p and plain ints.
        self.getvalue = lib["PQgetvalue"]
        self.getvalue.restype = _STR
        self.getisnull = lib["PQgetisnull"]
        self.getisnull.restype = _INT
        self.lib = lib

    def parse(self, conninfo: str) -> dict[str, str] | None:
        """The settings a URL or keyword string gives (``conninfo_to_dict``), None if invalid."""
        error = _VOID()
        options = self.lib.PQconninfoParse(conninfo.encode("utf-8"), ctypes.byref(error))
        if not options:
            if error.value:
                self.lib.PQfreemem(error)
            return None
        try:
            found: dict[str, str] = {}
            entry = ctypes.cast(options, ctypes.POINTER(_ConninfoOption))
            index = 0
            while entry[index].keyword:
                if entry[index].val is not None:
                    found[entry[index].keyword.decode()] = entry[index].val.decode("utf-8")
                index += 1
            return found
        finally:
            self.lib.PQconninfoFree(options)

    def connect(self, conninfo: str, settings: dict[str, str]) -> Connection:
        """A connection; ``settings`` win over the same settings in ``conninfo``."""
        keywords = [b"dbname", *(k.encode() for k in settings), None]
        values = [conninfo.encode("utf-8"), *(v.encode() for v in settings.values()), None]
        conn = self.lib.PQconnectdbParams(
            (_STR * len(keywords))(*keywords), (_STR * len(values))(*values), 1
        )
        if not conn:
            raise ConnectFailed("out of memory")
        if self.lib.PQstatus(conn) != CONNECTION_OK:
            message = _decode(self.lib.PQerrorMessage(conn))
            self.lib.PQfinish(conn)
            raise ConnectFailed(message)
        # libpq would print the server's notices on stderr; psycopg drops them, and so do we.
        self.lib.PQsetNoticeProcessor(conn, _IGNORE_NOTICE, None)
        return Connection(self, conn)


class _ConninfoOption(ctypes.Structure):
    _fields_ = [
        ("keyword", _STR),
        ("envvar", _STR),
        ("compiled", _STR),
        ("val", _STR),
        ("label", _STR),
        ("dispchar", _STR),
        ("dispsize", _INT),
    ]


def _decode(message: bytes | None) -> str:
    return (message or b"").decode("utf-8", "replace").strip()


def _parameter(value: Any) -> tuple[int, bytes | None]:
    """(type OID, text) of one parameter, as psycopg sends it (a str's type left to the
    server, as psycopg does)."""
    if value is None:
        return 0, None
    if isinstance(value, bool):
        return BOOL, b"t" if value else b"f"
    if isinstance(value, int):
        if value not in INT8_RANGE:
            raise Unsupported("an integer beyond bigint")
        return INT8, str(value).encode()
    if isinstance(value, float):
        return FLOAT8, repr(value).encode()
    if isinstance(value, str):
        if "\0" in value:
            raise Unsupported("a NUL character")
        return 0, value.encode("utf-8")
    raise Unsupported(type(value).__name__)


class Connection:
    """One libpq connection, one statement at a time. A statement's answer is awaited in
    ``select``, not inside libpq, so Ctrl-C stops a read that waits on the server."""

    def __init__(self, libpq: LibPQ, conn: int) -> None:
        self._libpq = libpq
        self._lib = libpq.lib
        self._conn: int | None = conn

    def run(self, sql: str) -> tuple[tuple[str, ...], list[tuple]]:
        """Statements without parameters, several in one round trip: the last one's
        (column names, rows)."""
        conn = self._handle
        return self._answer(conn, self._lib.PQsendQuery(conn, sql.encode("utf-8")))

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[tuple[str, ...], list[tuple]]:
        """(column names, rows) of one statement with ``$n`` parameters."""
        types, texts = zip(*map(_parameter, params), strict=True) if params else ((), ())
        count, conn = len(types), self._handle
        sent = self._lib.PQsendQueryParams(
            conn,
            sql.encode("utf-8"),
            count,
            (ctypes.c_uint * count)(*types),
            (_STR * count)(*texts),
            None,
            None,
            0,
        )
        return self._answer(conn, sent)

    def close(self) -> None:
        if self._conn is not None:
            self._lib.PQfinish(self._conn)
            self._conn = None

    @property
    def _handle(self) -> int:
        if self._conn is None:
            raise ServerError("the connection is closed", None)
        return self._conn

    def _answer(self, conn: int, sent: int) -> tuple[tuple[str, ...], list[tuple]]:
        """The (column names, rows) of what was just sent, or its error as ``ServerError``."""
        lib = self._lib
        try:
            result = self._collect(conn) if sent else None
        except BaseException:  # Ctrl-C in select: the statement is still running; end it
            self.close()
            raise
        if not result:
            raise ServerError(_decode(lib.PQerrorMessage(conn)), None)
        try:
            if lib.PQresultStatus(result) not in _DONE:
                sqlstate = lib.PQresultErrorField(result, PG_DIAG_SQLSTATE)
                raise ServerError(
                    _decode(lib.PQresultErrorMessage(result)),
                    sqlstate.decode() if sqlstate else None,
                )
            return _rows(self._libpq, result)
        finally:
            lib.PQclear(result)

    def _collect(self, conn: int) -> int | None:
        """The results of the statements sent, waiting in ``select`` while libpq is busy: the
        first error among them, else the last. None when the connection broke."""
        lib = self._lib
        socket = lib.PQsocket(conn)
        chosen = None
        while True:
            while lib.PQisBusy(conn):
                select.select([socket], [], [])
                if not lib.PQconsumeInput(conn):
                    if chosen:
                        lib.PQclear(chosen)
                    return None
            result = lib.PQgetResult(conn)
            if not result:
                return chosen
            if chosen and lib.PQresultStatus(chosen) not in _DONE:
                lib.PQclear(result)  # an error came first: that is the answer
            else:
                if chosen:
                    lib.PQclear(chosen)
                chosen = result


def _rows(libpq: LibPQ, result: int) -> tuple[tuple[str, ...], list[tuple]]:
    lib = libpq.lib
    fields = range(lib.PQnfields(result))
    names = tuple(lib.PQfname(result, j).decode("utf-8") for j in fields)
    loaders = []
    for j in fields:
        loader = _LOADERS.get(lib.PQftype(result, j))
        if loader is None:
            raise Unsupported(f"type {lib.PQftype(result, j)}")
        loaders.append((j, loader))
    count = lib.PQntuples(result)
    if count * len(loaders) > MOST_CELLS:
        raise Unsupported(f"{count} rows: psycopg reads that many faster")
    value, isnull, handle = libpq.getvalue, libpq.getisnull, ctypes.c_void_p(result)
    try:
        # libpq gives b"" for NULL: ask whether it is NULL only then.
        rows = [
            tuple(
                [
                    load(cell)
                    if (cell := value(handle, i, j)) or not isnull(handle, i, j)
                    else None
                    for j, load in loaders
                ]
            )
            for i in range(count)
        ]
    except UnicodeDecodeError:
        raise Unsupported("text that is not UTF-8") from None
    return names, rows


@functools.cache
def load() -> LibPQ | None:
    """psycopg_binary's libpq, loaded once; None when it is not there or will not load."""
    path = _library_path()
    if path is None:
        return None
    try:
        return LibPQ(path)
    except (OSError, AttributeError):  # not loadable here, or a libpq too old for a call
        return None
