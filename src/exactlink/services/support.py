"""`exactlink support bundle`: one redacted JSON file for a support ticket.

It holds what support staff need to tell *why* a link fails without access to the firm's
machine: versions, the configuration (never a secret), a summary of the store, the client's
mapping, the last errors Exact returned with their ``Reason`` header, the rate-limit state and
the ``doctor`` checklist. Two layers keep secrets out: nothing secret is ever read into the
bundle, and every string is scrubbed of the actual secret values (the app's client secret, each
chain's access and refresh token) before writing, so even a token that leaked into an error
message upstream would not reach the file.
"""

from __future__ import annotations

import platform
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exactlink.errors import ExactlinkError, NotFound
from exactlink.models import Portal
from exactlink.services.clients import get_client

if TYPE_CHECKING:
    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store import Store

BUNDLE_VERSION = 1
REDACTED = "[redacted]"
# Keys whose values never belong in a bundle, whatever they hold.
_SECRET_KEY = re.compile(r"secret|token|password|authorization|cookie|code_verifier", re.I)
# Bearer tokens and OAuth-shaped strings in free text (error messages, URLs).
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/!%=-]+")
_QUERY_SECRET = re.compile(r"(?i)((?:code|refresh_token|access_token|client_secret)=)[^&\s\"']+")
PACKAGES = ("exactlink", "typer", "rich", "requests", "keyring", "rapidfuzz", "python-stdnum")


def versions() -> dict[str, Any]:
    from importlib import metadata

    found: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def secret_values(store: Store, secrets: SecretStore) -> list[str]:
    """Every secret this machine holds (the app's client secret, each chain's tokens), to scrub
    from the bundle; read here and never written anywhere."""
    from exactlink.adapters.exact.token_store import TokenPairStore
    from exactlink.services.exact_app import SECRET_KEY

    values = [secrets.get(SECRET_KEY)]
    pairs = TokenPairStore(secrets)
    for connection in store.connections.list():
        values += pairs.values(connection.secret_key)
    return [value for value in values if value]


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A deep copy of ``value`` with secret keys blanked and secret values scrubbed."""
    known = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(text: str) -> str:
        for secret in known:
            text = text.replace(secret, REDACTED)
        text = _BEARER.sub(r"\1" + REDACTED, text)
        return _QUERY_SECRET.sub(r"\1" + REDACTED, text)

    def walk(node: Any, key: str = "") -> Any:
        if key and _SECRET_KEY.search(key) and not isinstance(node, bool | int | float):
            return REDACTED if node not in (None, "") else node
        if isinstance(node, dict):
            return {str(k): walk(v, str(k)) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return scrub(node)
        return node

    return walk(value)


def _summary(store: Store, portal: Portal | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"path": store.location, **store.summary()}
    if portal is not None:
        summary["portal"] = {
            "name": portal.name,
            "has_billing": portal.has_billing,
            "clients_by_status": store.clients.count_by_status(portal.id),
        }
    return summary


def _mapping(store: Store, portal: Portal, client_name: str) -> dict[str, Any]:
    try:
        client = get_client(store, portal, client_name)
    except NotFound:
        return {"client": client_name, "found": False}
    activation = store.activations.get(client.id)
    own = store.connections.find(client.portal_id, client.id)
    return {
        "client": {
            "name": client.name,
            "status": client.status,
            "vat": client.vat,
            "coc": client.coc,
            "managed": client.managed,
            "access_granted_at": client.access_granted_at,
        },
        "found": True,
        "activation": activation.to_dict() if activation else None,
        "own_link": (
            {"connection_id": own.id, "status": own.status, "exact_user": own.exact_username}
            if own
            else None
        ),
    }


def _rate_limits(store: Store, connection_id: int) -> list[dict[str, Any]]:
    seen = store.connections.rate_limits_seen_at(connection_id)
    return [
        {**state.to_dict(), "updated_at": seen.get(state.division)}
        for state in store.connections.rate_limits(connection_id)
    ]


def _connection(store: Store, portal: Portal | None) -> dict[str, Any] | None:
    if portal is None:
        return None
    conn = store.connections.find(portal.id)
    if conn is None:
        return None
    return {
        "id": conn.id,
        "site": conn.base_url,
        "app_client_id": conn.app_client_id,
        "status": conn.status,
        "storage": conn.storage,
        "exact_user": conn.exact_username,
        "current_division": conn.current_division,
        "access_expires_at": conn.access_expires_at,
        "refresh_issued_at": conn.refresh_issued_at,
        "last_token_call_at": conn.last_token_call_at,
        "last_error": conn.last_error,
        "rate_limits": _rate_limits(store, conn.id),
    }


def store_problem(store: Store) -> ExactlinkError | None:
    """Why the store cannot be opened (damaged, unreadable, unreachable), or None: a bundle is
    most needed when the store is broken, so it is written without it then."""
    try:
        store.portals.list()
    except ExactlinkError as exc:
        return exc
    return None


def describe_backend(name: str | None, error: BaseException | None = None) -> str:
    """Where the secrets are, in words support reads at a glance (never a secret):
    ``keyring: SecretService``, ``file (insecure)``, ``team store (AES-256-GCM)``, or
    ``unavailable: <why>``."""
    from exactlink.adapters.secrets import INSECURE_BACKEND

    if name is None:
        why = getattr(error, "message", None) or (type(error).__name__ if error else "unknown")
        return f"unavailable: {why}"
    if name == INSECURE_BACKEND:
        return f"file (insecure): {name}"
    if name.startswith("team-store"):
        return "team store" + name.removeprefix("team-store")
    # "keyring.backends.SecretService.Keyring" (or several joined by " + ")
    parts = [p.split(".")[2] if p.startswith("keyring.backends.") else p for p in name.split(" + ")]
    return f"keyring: {' + '.join(parts)} ({name})"


def _damaged_store(store: Store, problem: ExactlinkError) -> dict[str, Any]:
    """What can be told of a store that cannot be opened: where, how big, why."""
    facts: dict[str, Any] = {"path": store.location, "error": problem.to_dict()}
    if not store.is_team:
        try:
            with open(store.path, "rb") as handle:
                head = handle.read(16)
            facts["size_bytes"] = store.path.stat().st_size
            facts["sqlite_header"] = head == b"SQLite format 3\x00"
        except OSError as exc:
            facts["file_error"] = exc.strerror or type(exc).__name__
    return facts


def build_bundle(
    store: Store,
    *,
    config: dict[str, Any],
    portal: Portal | None,
    client: str | None,
    doctor: dict[str, Any] | None,
    secret_backend: str | None,
    secrets: Iterable[str] = (),
    errors_limit: int = 50,
    store_problem: ExactlinkError | None = None,
) -> dict[str, Any]:
    """The bundle as a dict, already redacted (``secrets``: the values to scrub). With a
    ``store_problem`` the store is not read: the bundle says why instead."""
    from exactlink.adapters.store.db import utc_now

    bundle: dict[str, Any] = {
        "bundle_version": BUNDLE_VERSION,
        "created_at": utc_now(),
        "versions": versions(),
        "config": config,
        "secret_storage": None,  # named below, after the redaction
        "doctor": doctor,
    }
    if store_problem is not None:
        bundle["store"] = _damaged_store(store, store_problem)
        bundle.update(connection=None, mapping=None, exact_errors=[])
    else:
        bundle["store"] = _summary(store, portal)
        bundle["connection"] = _connection(store, portal)
        bundle["mapping"] = _mapping(store, portal, client) if (portal and client) else None
        bundle["exact_errors"] = [e.to_dict() for e in store.connections.errors(limit=errors_limit)]
    clean = redact(bundle, secrets)
    # Named, never blanked: which backend holds the secrets is what support asks first, and the
    # name holds no secret (the redaction above would blank it for the word "secret").
    clean["secret_storage"] = redact(secret_backend, secrets)
    return clean


def write_bundle(path: Path, bundle: dict[str, Any]) -> Path:
    """Write atomically with mode 0600 (the bundle names the firm's clients), safely in a shared
    folder: an exclusive temp file, no symlink followed, the folder's mode left as it is."""
    import json

    from exactlink.adapters.files import write_file

    text = json.dumps(bundle, indent=2, ensure_ascii=False, default=str) + "\n"
    return write_file(path, text.encode("utf-8"))
