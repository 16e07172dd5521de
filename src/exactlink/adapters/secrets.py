"""Secrets: the Exact app's client secret and each connection's tokens.

They live only in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker), one
entry per secret; a secret longer than one entry may hold (Windows Credential Manager refuses a
blob over 2,560 bytes, and stores UTF-16) is split over several entries transparently
(:class:`ChunkedEntries`), so Exact's tokens of several thousand characters fit everywhere. A keyring that is plaintext, missing or
failing is refused with exit 9; the only way around it is the explicit ``--insecure-storage``
opt-in, which keeps secrets in a 0600 JSON file in the data folder and is shown by ``exact status``
and ``doctor``. Every keyring call is bounded by a timeout: a locked or hung Secret Service must
not hang a cron job.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from exactlink.errors import SecureStorageUnavailable
from exactlink.i18n import _
from exactlink.paths import Paths, write_private_file

SERVICE = "exactlink"
INSECURE_BACKEND = "insecure-file"
DEFAULT_TIMEOUT = 10.0
# Windows Credential Manager's CRED_MAX_CREDENTIAL_BLOB_SIZE (5 * 512 bytes): the smallest
# limit of the OS keyrings, applied to every backend so a store moves between them unchanged.
MAX_ENTRY_BYTES = 2560
# The first entry of a split secret: "exactlink-chunks:1:<tag>:<count>:<sha256 prefix>".
CHUNK_MARKER = "exactlink-chunks:1:"

T = TypeVar("T")

# Backends that store in plain files or do not store at all (keyring's own fail/null backends,
# keyrings.alt's file backends): never used silently.
_REFUSED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


class SecretStore(Protocol):
    """Where secrets go. ``backend_name`` is what `exact status` and `doctor` show."""

    backend_name: str
    secure: bool

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


def home_namespace(paths: Paths) -> str:
    """Entries are namespaced per exactlink home, so two homes (a demo, tests, two firms) on one
    machine never read each other's tokens."""
    digest = hashlib.sha256(str(paths.data_dir.resolve()).encode()).hexdigest()
    return digest[:16]


def _timeout() -> float:
    try:
        return float(os.environ.get("EXACTLINK_KEYRING_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT


def _bounded(call: Callable[[], T], what: str) -> T:
    """Run a keyring call in a worker thread and give up after the timeout (exit 9)."""
    import concurrent.futures

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyring")
    future = pool.submit(call)
    try:
        return future.result(timeout=_timeout())
    except concurrent.futures.TimeoutError:
        raise SecureStorageUnavailable(
            _("The keyring did not answer within {seconds:.0f} s ({what}).").format(
                seconds=_timeout(), what=what
            ),
            hint=_(
                "Unlock the keyring (log in to the desktop session, or start gnome-keyring-daemon "
                "--unlock), or set EXACTLINK_KEYRING_TIMEOUT."
            ),
        ) from None
    finally:
        pool.shutdown(wait=False)


def _refusal(reason: str) -> SecureStorageUnavailable:
    return SecureStorageUnavailable(
        _("No secure keyring is available: {reason}.").format(reason=reason),
        hint=_(
            "Install and unlock an OS keyring (Secret Service: gnome-keyring or KWallet). On a "
            "headless server you may opt in to a 0600 file with --insecure-storage on "
            "`exactlink exact app set` or `exactlink exact connect`."
        ),
    )


# Each platform's own backend, by keyring's name for it. keyring's discovery imports every
# installed backend (its own for other platforms, and third-party ones found through entry
# points) to compare their priorities: about 45 ms of every command that touches a secret.
PLATFORM_BACKENDS = {
    "darwin": "keyring.backends.macOS.Keyring",
    "win32": "keyring.backends.Windows.WinVaultKeyring",
}
DEFAULT_PLATFORM_BACKEND = "keyring.backends.SecretService.Keyring"  # Linux and the BSDs


def platform_keyring() -> object:
    """The keyring backend to use: the one keyring would choose, found without its full scan.

    An explicit choice wins, as in keyring itself: ``PYTHON_KEYRING_BACKEND``, then the
    ``default-keyring`` of keyring's config file (``keyringrc.cfg`` in its config root). Then the
    platform's own backend (Secret Service, macOS Keychain, Windows Credential Locker) when it
    is usable here. Otherwise (no D-Bus session, say) keyring's own discovery decides; it may
    find KWallet or a third-party backend, or only the fail backend, which ``check_backend``
    refuses."""
    import sys

    import keyring
    import keyring.core

    chosen = keyring.core.load_env() or keyring.core.load_config()
    if chosen is not None:
        return chosen
    try:
        # load_keyring asks the backend's priority first: it raises when the backend cannot
        # work here (no D-Bus Secret Service, another platform's API missing).
        return keyring.core.load_keyring(
            PLATFORM_BACKENDS.get(sys.platform, DEFAULT_PLATFORM_BACKEND)
        )
    except Exception:  # any reason the platform's backend cannot serve: let keyring look
        return keyring.get_keyring()


def check_backend(backend: object) -> str:
    """The backend's display name, or ``SecureStorageUnavailable`` for an insecure one."""
    inner = getattr(backend, "backends", None)  # keyring's ChainerBackend
    if inner is not None:
        if not inner:
            raise _refusal(_("keyring found no backend"))
        names = [check_backend(b) for b in inner]
        return " + ".join(names)
    module = type(backend).__module__
    name = f"{module}.{type(backend).__name__}"
    if module.startswith(_REFUSED_MODULES):
        raise _refusal(_("the keyring backend is {name}, which is not secure").format(name=name))
    return name


def entry_encoding(backend: object) -> str:
    """How ``backend`` encodes a secret: keyring's Windows backend stores UTF-16-LE blobs."""
    return (
        "utf-16-le" if type(backend).__module__.startswith("keyring.backends.Windows") else "utf-8"
    )


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
    are missing, except while a writer replaces them: it reads again once."""

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
        for _attempt in range(2):
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


class KeyringSecretStore:
    """The OS keyring through the ``keyring`` package."""

    secure = True

    def __init__(self, namespace: str, backend: object | None = None) -> None:
        if backend is None:
            backend = _bounded(platform_keyring, "loading the backend")
        self.backend_name = check_backend(backend)
        self._backend = backend
        self._namespace = namespace
        self._entries = ChunkedEntries(
            self._get_entry, self._set_entry, self._delete_entry, entry_encoding(backend)
        )

    def _user(self, key: str) -> str:
        return f"{self._namespace}/{key}"

    def _call(self, call: Callable[[], T], what: str) -> T:
        from keyring.errors import KeyringError

        try:
            return _bounded(call, what)
        except KeyringError as exc:
            raise SecureStorageUnavailable(
                _("The keyring refused to {what}: {kind}.").format(
                    what=what, kind=type(exc).__name__
                ),
                hint=_("Unlock the keyring, or run `exactlink doctor` to check it."),
            ) from None

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def set(self, key: str, value: str) -> None:
        self._entries.set(key, value)

    def delete(self, key: str) -> None:
        self._entries.delete(key)

    def _get_entry(self, key: str) -> str | None:
        backend = self._backend
        return self._call(
            lambda: backend.get_password(SERVICE, self._user(key)),  # type: ignore[attr-defined]
            _("read a secret"),
        )

    def _set_entry(self, key: str, value: str) -> None:
        backend = self._backend
        self._call(
            lambda: backend.set_password(SERVICE, self._user(key), value),  # type: ignore[attr-defined]
            _("store a secret"),
        )

    def _delete_entry(self, key: str) -> None:
        from keyring.errors import PasswordDeleteError

        backend = self._backend

        def remove() -> None:
            try:
                backend.delete_password(SERVICE, self._user(key))  # type: ignore[attr-defined]
            except PasswordDeleteError:
                pass  # already gone: deleting is idempotent

        self._call(remove, _("delete a secret"))


class InsecureFileSecretStore:
    """The explicit opt-in: a 0600 JSON file in a 0700 folder, for servers without a keyring."""

    secure = False
    backend_name = INSECURE_BACKEND

    def __init__(self, path: Path) -> None:
        self.path = path
        # The same entry size as the keyrings: a file moved to a keyring store fits unchanged.
        self._entries = ChunkedEntries(self._get_entry, self._set_entry, self._delete_entry)

    def _lock(self):  # type: ignore[no-untyped-def]
        from filelock import FileLock

        return FileLock(str(self.path) + ".lock", timeout=30, mode=0o600)

    def _read(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.path.read_text("utf-8")))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise SecureStorageUnavailable(
                _("The insecure secrets file {path} cannot be read.").format(path=self.path),
                hint=_("Remove it and connect again: `exactlink exact connect`."),
            ) from exc

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def set(self, key: str, value: str) -> None:
        self._entries.set(key, value)

    def delete(self, key: str) -> None:
        self._entries.delete(key)

    def _get_entry(self, key: str) -> str | None:
        return self._read().get(key)

    def _set_entry(self, key: str, value: str) -> None:
        with self._lock():
            data = self._read()
            data[key] = value
            write_private_file(self.path, json.dumps(data).encode("utf-8"))

    def _delete_entry(self, key: str) -> None:
        with self._lock():
            data = self._read()
            if data.pop(key, None) is not None:
                write_private_file(self.path, json.dumps(data).encode("utf-8"))


def open_secret_store(paths: Paths, *, insecure: bool = False) -> SecretStore:
    """The keyring, or (only with the explicit opt-in) the insecure file store."""
    if insecure:
        return InsecureFileSecretStore(paths.insecure_secrets_file)
    return KeyringSecretStore(home_namespace(paths))
