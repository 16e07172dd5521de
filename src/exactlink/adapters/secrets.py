"""Secrets: the Exact app's client secret and each connection's tokens.

They live only in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker), one
entry per secret; a secret longer than one entry may hold (Windows Credential Manager refuses a
blob over 2,560 bytes, and stores UTF-16) is split over several entries transparently
(:class:`ChunkedEntries`, in secret_chunks.py), so Exact's tokens of several thousand characters
fit everywhere. A keyring that is plaintext, missing or failing is refused with exit 9; the only
way around it is the explicit ``--insecure-storage`` opt-in, which keeps secrets in a 0600 JSON
file in the data folder (secret_file.py) and is shown by ``exact status`` and ``doctor``.

Every keyring call is bounded by a timeout and runs on a daemon thread: a locked or hung Secret
Service must not hang a cron job, nor keep the process alive once the error is reported. A read
that races another process's replacement of the same entry is read again, never a bug.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from exactlink.adapters.secret_chunks import (
    CHUNK_MARKER,
    MAX_ENTRY_BYTES,
    ChunkedEntries,
    ChunkedStore,
    split_secret,
)
from exactlink.adapters.secret_file import INSECURE_BACKEND, InsecureFileSecretStore
from exactlink.errors import SecureStorageUnavailable
from exactlink.i18n import _
from exactlink.paths import Paths

# Names other modules and tests import from here: the secret store's one front door.
__all__ = [
    "CHUNK_MARKER",
    "INSECURE_BACKEND",
    "MAX_ENTRY_BYTES",
    "SERVICE",
    "ChunkedEntries",
    "InsecureFileSecretStore",
    "KeyringSecretStore",
    "SecretStore",
    "check_backend",
    "home_namespace",
    "open_secret_store",
    "platform_keyring",
    "split_secret",
]

SERVICE = "exactlink"
DEFAULT_TIMEOUT = 10.0

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
    """``EXACTLINK_KEYRING_TIMEOUT`` in seconds; anything that is not a bound (``nan``, ``inf``,
    zero or less, not a number) is the default, so every wait on the keyring ends."""
    try:
        seconds = float(os.environ.get("EXACTLINK_KEYRING_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return seconds if math.isfinite(seconds) and seconds > 0 else DEFAULT_TIMEOUT


class _Worker:
    """One keyring call on a daemon thread: its result, its exception, and whether it ended."""

    def __init__(self, call: Callable[[], object]) -> None:
        self._call = call
        self.done = threading.Event()
        self.value: object = None
        self.error: BaseException | None = None
        # A daemon thread: the interpreter never waits for it at exit, so a keyring stuck in
        # D-Bus cannot keep the process alive after its error is reported (concurrent.futures'
        # workers are joined at exit, which is how `doctor` used to hang after the message).
        self.thread = threading.Thread(target=self._run, name="keyring", daemon=True)

    def _run(self) -> None:
        try:
            self.value = self._call()
        except BaseException as exc:  # handed to the caller's thread as it is
            self.error = exc
        finally:
            self.done.set()


# The keyring call that did not answer in time and has not ended since, if any. While it hangs,
# the keyring is not asked again: the next call would hang the same way (one D-Bus connection,
# one locked collection), and every wait would add another timeout to the command's run.
_stuck: _Worker | None = None


def _not_answering(seconds: float, what: str) -> SecureStorageUnavailable:
    return SecureStorageUnavailable(
        _("The keyring did not answer within {seconds:g} s ({what}).").format(
            seconds=seconds, what=what
        ),
        hint=_(
            "Unlock the keyring (log in to the desktop session, or start gnome-keyring-daemon "
            "--unlock), or set EXACTLINK_KEYRING_TIMEOUT."
        ),
    )


def _bounded(call: Callable[[], T], what: str) -> T:
    """Run a keyring call on a daemon thread and give up after the timeout (exit 9)."""
    global _stuck
    seconds = _timeout()
    if _stuck is not None and not _stuck.done.is_set():
        raise _not_answering(seconds, what)
    worker = _Worker(call)
    worker.thread.start()
    if not worker.done.wait(seconds):
        _stuck = worker
        raise _not_answering(seconds, what)
    if worker.error is not None:
        raise worker.error
    return worker.value  # type: ignore[return-value]


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


def _import_backend_modules() -> None:
    """Import keyring and the platform's backend module before the clock starts: importing is
    no wait on the keyring, and on a busy machine (64 processes on 2 cores) the Secret Service
    backend's imports (secretstorage, jeepney, cryptography) alone can outlast the timeout."""
    import importlib

    import keyring.core  # noqa: F401  (imported for its side effect: loaded once, here)

    module = PLATFORM_BACKENDS.get(sys.platform, DEFAULT_PLATFORM_BACKEND).rpartition(".")[0]
    try:
        importlib.import_module(module)
    except Exception:  # platform_keyring finds out why, bounded, and reports it
        pass


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


# Another process may replace an entry while it is read: the Secret Service lists the item, and
# the writer deletes it before its secret is fetched (secretstorage's ItemNotFoundException; the
# old parts of a split secret are deleted last, see ChunkedEntries). Read again, a few times,
# after a short and growing pause: about 0.3 s in all before giving up.
REREAD_BACKOFF = (0.01, 0.02, 0.04, 0.08, 0.16)
# Libraries of the keyring backends whose errors are the keyring's, not a bug of exactlink.
_KEYRING_LIBRARIES = ("keyring.", "secretstorage.", "jeepney.", "dbus.", "keyrings.")


def _names(exc: BaseException) -> set[str]:
    return {f"{kind.__module__}.{kind.__qualname__}" for kind in type(exc).__mro__}


def _chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (keyring wraps secretstorage's)."""
    found: list[BaseException] = []
    while exc is not None and exc not in found:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def replaced_meanwhile(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says the item vanished between listing and reading
    it, which another process's write does. Names, not imports: secretstorage exists on Linux
    only. A dismissed unlock prompt is a subclass, and no reason to read again."""
    for link in _chain(exc):
        names = _names(link)
        if "secretstorage.exceptions.PromptDismissedException" in names:
            return False
        if "secretstorage.exceptions.ItemNotFoundException" in names:
            return True
    return False


def _keyring_failure(exc: Exception, what: str, secret: str | None = None) -> Exception:
    """A keyring library's error as exit 9 with the fix; anything else stays what it is (a bug,
    which the CLI reports as one)."""
    if not any(type(link).__module__.startswith(_KEYRING_LIBRARIES) for link in _chain(exc)):
        return exc
    kind, reason = type(exc).__name__, _reason(exc, secret)
    return SecureStorageUnavailable(
        _("The keyring refused to {what}: {kind} ({reason}).").format(
            what=what, kind=kind, reason=reason
        )
        if reason
        else _("The keyring refused to {what}: {kind}.").format(what=what, kind=kind),
        hint=_("Unlock the keyring, or run `exactlink doctor` to check it."),
    )


def _reason(exc: Exception, secret: str | None) -> str:
    """The keyring library's own words, which tell a daemon that is gone ("... not provided by
    any .service files") from a locked collection or a refused call: the first line, cut short.
    They name a backend's objects (a D-Bus path, a keychain code); a backend that echoes the
    ``secret`` it was given is not quoted at all."""
    if secret and secret in str(exc):
        return ""
    lines = str(exc).strip().splitlines()
    reason = lines[0].strip().rstrip(".") if lines else ""
    return reason if len(reason) <= 160 else reason[:159] + "…"


class KeyringSecretStore(ChunkedStore):
    """The OS keyring through the ``keyring`` package."""

    secure = True

    def __init__(self, namespace: str, backend: object | None = None) -> None:
        if backend is None:
            _import_backend_modules()
            try:
                backend = _bounded(platform_keyring, _("loading the backend"))
            except SecureStorageUnavailable:
                raise
            except Exception as exc:  # a PYTHON_KEYRING_BACKEND that does not import, say
                raise _refusal(
                    _("the keyring backend cannot be loaded ({kind})").format(
                        kind=type(exc).__name__
                    )
                ) from None
        self.backend_name = check_backend(backend)
        self._backend = backend
        self._namespace = namespace
        self._entries = ChunkedEntries(
            self._get_entry, self._set_entry, self._delete_entry, entry_encoding(backend)
        )

    def _user(self, key: str) -> str:
        return f"{self._namespace}/{key}"

    def _call(self, call: Callable[[], T], what: str, secret: str | None = None) -> T:
        """``call`` bounded by the timeout, read again while another process replaces the
        entry, and every failure of the keyring turned into exit 9 (never "Unexpected error")."""
        for delay in (*REREAD_BACKOFF, None):
            try:
                return _bounded(call, what)
            except SecureStorageUnavailable:
                raise
            except Exception as exc:
                if not replaced_meanwhile(exc):
                    raise _keyring_failure(exc, what, secret) from None
                if delay is None:
                    raise SecureStorageUnavailable(
                        _("A keyring entry kept changing while it was read ({what}).").format(
                            what=what
                        ),
                        hint=_("Another exactlink process is writing it: run the command again."),
                    ) from None
                time.sleep(delay * (1 + random.random()))  # apart from the other readers
        raise AssertionError("unreachable")  # the last round returns or raises

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
            secret=value,
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


def open_secret_store(paths: Paths, *, insecure: bool = False) -> SecretStore:
    """The keyring, or (only with the explicit opt-in) the insecure file store."""
    if insecure:
        return InsecureFileSecretStore(paths.insecure_secrets_file)
    return KeyringSecretStore(home_namespace(paths))
