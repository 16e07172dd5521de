"""The team store: create one, join one, show it, rotate its key.

A firm's staff share one store on PostgreSQL and so one Exact token chain (reference §2.8: one
live chain per Exact login per app). The store key (AES-256-GCM, adapters/crypto.py) seals the
secrets in it; each member keeps the key outside the database (their OS keyring, or on a server
``EXACTLINK_STORE_KEY`` / the explicit insecure file). Moving a local store into a team store is
``store_copy.py``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from exactlink.adapters import crypto
from exactlink.adapters.secrets import SecretStore
from exactlink.adapters.store import team_secrets
from exactlink.adapters.store.db import StoreError, utc_now
from exactlink.errors import Conflict, NotFound, UsageError
from exactlink.i18n import _
from exactlink.models import CONNECTION_CONNECTED

if TYPE_CHECKING:
    from exactlink.models import Client, Connection, Portal
    from exactlink.services.exact_app import AppSettings
    from exactlink.services.ports import ConnectionsLike

# The name under which a member's secret store (keyring or insecure file) keeps a store's key.
KEY_ENV = "EXACTLINK_STORE_KEY"
STORE_ENV = "EXACTLINK_STORE"
CONFIG_KEY = "store.url"


def key_entry(store_id: str) -> str:
    return f"store-key/{store_id}"


def store_url(config_url: str | None) -> str | None:
    """The team store to use: ``EXACTLINK_STORE``, else config ``store.url``; None: local."""
    url = os.environ.get(STORE_ENV) or config_url
    return str(url) if url else None


def check_url(url: str) -> None:
    """A URL for config must be a PostgreSQL one without a password (libpq's ~/.pgpass,
    PGPASSFILE or PGPASSWORD keep it instead)."""
    from exactlink.adapters.store.postgres import has_password

    if not url.startswith(("postgresql://", "postgres://")) and "=" not in url:
        raise UsageError(
            _("A team store URL starts with postgresql://."),
            hint=_("For example: postgresql://anna@db.kantoor.be/exactlink?sslmode=verify-full"),
        )
    if has_password(url):
        raise UsageError(
            _("The URL contains a password; exactlink never stores one."),
            hint=_("Put it in ~/.pgpass (or PGPASSFILE) and leave it out of the URL."),
        )


@dataclass(frozen=True)
class TeamInfo:
    """What ``store init`` and ``store join`` tell the member."""

    location: str
    store_id: str
    fingerprint: str
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def _who() -> str:
    from exactlink.adapters.store.events import os_identity

    return os_identity()


def create_schema(url: str, key: bytes) -> TeamInfo:
    """Create the schema and the store's identity in an empty database (one transaction)."""
    from exactlink.adapters.store import postgres_migrations
    from exactlink.adapters.store.postgres import open_database

    db = open_database(url, migrate=False)
    try:
        postgres_migrations.create(db)
        store_id = uuid.uuid4().hex
        with db.transaction():
            for name, value in (
                ("store_id", store_id),
                ("key_check", crypto.key_check(key)),
                ("key_fingerprint", crypto.fingerprint(key)),
                ("created_at", utc_now()),
                ("created_by", _who()),
            ):
                db.execute("INSERT INTO store_meta (name, value) VALUES (?, ?)", (name, value))
        return TeamInfo(
            db.location, store_id, crypto.fingerprint(key), len(postgres_migrations.MIGRATIONS)
        )
    finally:
        db.close()


def join(url: str, key: bytes) -> TeamInfo:
    """Check ``key`` against the team store at ``url`` (``WrongStoreKey`` when it does not open
    it); nothing is saved here."""
    from exactlink.adapters.store import postgres_migrations
    from exactlink.adapters.store.postgres import open_database

    db = open_database(url)
    try:
        team_secrets.check_key(db, key)
        meta = team_secrets.read_meta(db)
        version = postgres_migrations.current_version(db) or 0
        return TeamInfo(db.location, meta["store_id"], crypto.fingerprint(key), version)
    finally:
        db.close()


def store_id(db: Any) -> str:
    found = team_secrets.read_meta(db).get("store_id")
    if not found:
        raise StoreError(_("The team store has no identity (store_meta is empty)."))
    return found


def load_key(db: Any, member_secrets: SecretStore | None) -> bytes:
    """This member's store key: ``EXACTLINK_STORE_KEY``, else their secret store; checked."""
    text = os.environ.get(KEY_ENV)
    if not text and member_secrets is not None:
        text = member_secrets.get(key_entry(store_id(db)))
    if not text:
        raise NotFound(
            _("This home has no key for the team store."),
            hint=_(
                "Ask a colleague for the store key and run `exactlink store join URL` "
                "(or set EXACTLINK_STORE_KEY on a server)."
            ),
        )
    key = crypto.decode_key(text)
    team_secrets.check_key(db, key)
    return key


def save_key(member_secrets: SecretStore, store: str, key: bytes) -> None:
    member_secrets.set(key_entry(store), crypto.encode_key(key))


def status(db: Any, key: bytes | None) -> dict[str, Any]:
    """Backend facts for ``store status``: members seen, the key's fingerprint, counts."""
    meta = team_secrets.read_meta(db)
    members = [
        {"os_user": row[0], "host": row[1], "last_seen": row[2]}
        for row in db.execute(
            "SELECT os_user, host, MAX(at) FROM events GROUP BY os_user, host ORDER BY 3 DESC"
        ).fetchall()
    ]
    return {
        "store_id": meta.get("store_id"),
        "created_at": meta.get("created_at"),
        "created_by": meta.get("created_by"),
        "key_rotated_at": meta.get("key_rotated_at"),
        "key_fingerprint": meta.get("key_fingerprint"),
        "key_matches": key is not None and crypto.fingerprint(key) == meta.get("key_fingerprint"),
        "members": members,
        "secrets": int(db.execute("SELECT COUNT(*) FROM secrets").fetchone()[0]),
    }


def rotate_key(db: Any, old: bytes) -> tuple[bytes, int]:
    """Re-seal every secret under a new key in one transaction; returns (key, how many)."""
    new = crypto.new_key()
    with db.transaction():
        # Re-check under the write lock: a colleague may have rotated a moment ago.
        team_secrets.check_key(db, old)
        rows = db.execute("SELECT name, value FROM secrets ORDER BY name").fetchall()
        for name, value in rows:
            plain = crypto.open_sealed(old, bytes(value), team_secrets.aad(name))
            db.execute(
                "UPDATE secrets SET value = ?, updated_at = ? WHERE name = ?",
                (crypto.seal(new, plain, team_secrets.aad(name)), utc_now(), name),
            )
        for name, value in (
            ("key_check", crypto.key_check(new)),
            ("key_fingerprint", crypto.fingerprint(new)),
            ("key_rotated_at", utc_now()),
        ):
            db.execute(
                "INSERT INTO store_meta (name, value) VALUES (?, ?) ON CONFLICT (name)"
                " DO UPDATE SET value = excluded.value",
                (name, value),
            )
    return new, len(rows)


# The Exact app settings a member shares with the team (config's ``[exact]`` table, without the
# member's own storage choice); the client secret is a sealed secret, never here.
_LOCAL_ONLY = ("insecure_storage",)


def share_app(db: Any, settings: dict[str, Any]) -> None:
    import json

    shared = {k: v for k, v in settings.items() if k not in _LOCAL_ONLY}
    db.execute(
        "INSERT INTO store_meta (name, value) VALUES ('exact_app', ?) ON CONFLICT (name)"
        " DO UPDATE SET value = excluded.value",
        (json.dumps(shared, sort_keys=True),),
    )


def shared_app(db: Any) -> dict[str, Any] | None:
    import json

    value = team_secrets.read_meta(db).get("exact_app")
    return dict(json.loads(value)) if value else None


def refuse_a_colleagues_chain(
    connections: ConnectionsLike,
    portal: Portal,
    client: Client | None,
    app: AppSettings,
    connected_by: Callable[[Connection], str],
) -> None:
    """On a team store a live chain of this owner is the whole firm's: connecting again (on any
    computer) kills it for every colleague (reference §2.8), so it needs ``--force``."""
    existing = connections.find(portal.id, client.id if client else None)
    if existing is None or existing.status != CONNECTION_CONNECTED:
        return
    if (existing.base_url, existing.app_client_id) != (app.site, app.client_id):
        return
    raise Conflict(
        _(
            "The team store already holds a live connection for {owner} (Exact user {user}), "
            "made by {who}. Connecting again ends that token chain for every colleague."
        ).format(
            owner=f"{portal.name} / {client.name}" if client else portal.name,
            user=existing.exact_username or "?",
            who=connected_by(existing),
        ),
        hint=_(
            "Use the existing connection (`exactlink exact status`), or pass --force if it "
            "really must be made again."
        ),
    )
