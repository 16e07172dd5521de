"""The team store's secret store: the client secret and the tokens, sealed with AES-256-GCM in the
``secrets`` table, so the whole firm shares one token chain (reference §2.8) and nothing readable
reaches the database, its backups or a ``pg_dump``.

It is a ``SecretStore`` like the keyring: the token manager and the connect flow do not know the
difference. Each write is its own autocommit statement, so new tokens are committed before they
are used (the token manager holds the connection's advisory lock around read → refresh → write).
"""

from __future__ import annotations

from typing import Any

from exactlink.adapters import crypto
from exactlink.adapters.store.db import utc_now

BACKEND_NAME = "team-store (AES-256-GCM)"


def aad(name: str) -> str:
    """The associated data of a secret: its row and field."""
    return f"secrets/{name}/value"


def read_meta(db: Any) -> dict[str, str]:
    return {row[0]: row[1] for row in db.execute("SELECT name, value FROM store_meta").fetchall()}


def check_key(db: Any, key: bytes) -> None:
    """``WrongStoreKey`` unless ``key`` is the store's current key."""
    check = read_meta(db).get("key_check")
    if check is None:
        raise crypto.WrongStoreKey(crypto.KEY_CHECK_AAD)
    crypto.verify_key(key, check)


class TeamSecretStore:
    """Secrets in the team store, sealed under the store key."""

    secure = True
    backend_name = BACKEND_NAME

    def __init__(self, db: Any, key: bytes) -> None:
        self._db = db
        self._key = key

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM secrets WHERE name = ?", (key,)).fetchone()
        if row is None:
            return None
        return crypto.open_sealed(self._key, bytes(row[0]), aad(key)).decode("utf-8")

    def set(self, key: str, value: str) -> None:
        sealed = crypto.seal(self._key, value.encode("utf-8"), aad(key))
        self._db.execute(
            "INSERT INTO secrets (name, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, sealed, utc_now()),
        )

    def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM secrets WHERE name = ?", (key,))

    def names(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT name FROM secrets ORDER BY name")]
