"""Secrets of any length on stores whose entries are size-limited (every OS keyring; the
insecure file keeps the same layout so a store moves between them unchanged)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from exactlink.errors import SecureStorageUnavailable
from exactlink.i18n import _

# Windows Credential Manager's CRED_MAX_CREDENTIAL_BLOB_SIZE (5 * 512 bytes): the smallest
# limit of the OS keyrings, applied to every backend so a store moves between them unchanged.
MAX_ENTRY_BYTES = 2560
# The first entry of a split secret: "exactlink-chunks:1:<tag>:<count>:<sha256 prefix>".
CHUNK_MARKER = "exactlink-chunks:1:"
# How often a reader looks at a marker whose parts a writer is replacing: about 0.56 s in all
# (20 ms more each time), room for a writer slowed down by a busy machine.
REREADS = 8


def split_secret(value: str, encoding: str, limit: int = MAX_ENTRY_BYTES) -> list[str]:
    """``value`` in pieces of at most ``limit`` bytes each once encoded (never a split code
    point)."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in value:
        width = len(char.encode(encoding, "surrogatepass"))
        if size + width > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current or not pieces:
        pieces.append("".join(current))
    return pieces


class ChunkedEntries:
    """Secrets of any length on a store of size-limited entries (``get``/``set``/``delete`` of
    one raw entry each).

    A secret that fits is one entry, as before. A longer one is written as parts
    ``<key>#<tag>.<i>`` first and then a marker in ``<key>`` naming the tag, the count and a
    hash; the previous parts are removed last. A reader thus never sees a marker whose parts
    are missing, except while a writer replaces them: it then reads the marker again (a few
    times, after a short pause, as another process may replace it twice in a row)."""

    def __init__(
        self,
        get: Callable[[str], str | None],
        set: Callable[[str, str], None],
        delete: Callable[[str], None],
        encoding: str = "utf-8",
        limit: int = MAX_ENTRY_BYTES,
    ) -> None:
        self._get, self._set, self._delete = get, set, delete
        self.encoding = encoding
        self.limit = limit

    def _fits(self, value: str) -> bool:
        return (
            not value.startswith(CHUNK_MARKER)
            and len(value.encode(self.encoding, "surrogatepass")) <= self.limit
        )

    @staticmethod
    def _parts(key: str, marker: str | None) -> list[str]:
        if not marker or not marker.startswith(CHUNK_MARKER):
            return []
        try:
            tag, count, _digest = marker[len(CHUNK_MARKER) :].split(":")
            return [f"{key}#{tag}.{i}" for i in range(int(count))]
        except ValueError:
            return []

    @staticmethod
    def _digest(value: str) -> str:
        return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def _assemble(self, key: str, marker: str) -> str | None:
        pieces = [self._get(name) for name in self._parts(key, marker)]
        if not pieces or any(piece is None for piece in pieces):
            return None
        value = "".join(piece for piece in pieces if piece is not None)
        return value if marker.endswith(":" + self._digest(value)) else None

    def get(self, key: str) -> str | None:
        for attempt in range(REREADS):
            if attempt:
                time.sleep(0.02 * attempt)
            stored = self._get(key)
            if stored is None or not stored.startswith(CHUNK_MARKER):
                return stored
            value = self._assemble(key, stored)
            if value is not None:
                return value
        raise SecureStorageUnavailable(
            _("The secret '{key}' is damaged in the secret store (parts are missing).").format(
                key=key
            ),
            hint=_("Store it again: `exactlink exact app set` or `exactlink exact connect`."),
        )

    def set(self, key: str, value: str) -> None:
        old_parts = self._parts(key, self._get(key))
        if self._fits(value):
            self._set(key, value)
        else:
            import secrets

            tag = secrets.token_hex(4)
            pieces = split_secret(value, self.encoding, self.limit)
            for i, piece in enumerate(pieces):
                self._set(f"{key}#{tag}.{i}", piece)
            self._set(key, f"{CHUNK_MARKER}{tag}:{len(pieces)}:{self._digest(value)}")
        for name in old_parts:
            self._delete(name)

    def delete(self, key: str) -> None:
        parts = self._parts(key, self._get(key))
        self._delete(key)
        for name in parts:
            self._delete(name)


class ChunkedStore:
    """A secret store made of size-limited entries: ``get``/``set``/``delete`` of whole secrets
    through ``ChunkedEntries``; a subclass says how one entry is read, written and removed and
    sets ``self._entries`` (``ChunkedEntries(self._get_entry, self._set_entry,
    self._delete_entry, ...)``)."""

    _entries: ChunkedEntries

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def set(self, key: str, value: str) -> None:
        self._entries.set(key, value)

    def delete(self, key: str) -> None:
        self._entries.delete(key)
