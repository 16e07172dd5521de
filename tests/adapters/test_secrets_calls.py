"""How the secrets adapter calls a keyring backend: bounded by the timeout on a daemon thread (a
hung keyring neither blocks the command nor keeps the process alive), read again when another
process replaces the entry meanwhile (secretstorage's ItemNotFoundException), and every failure of
the keyring reported as exit 9, never as a bug."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import exactlink
from exactlink.adapters import secrets as secrets_module
from exactlink.adapters.secrets import KeyringSecretStore, replaced_meanwhile
from exactlink.errors import SecureStorageUnavailable

SRC = Path(exactlink.__file__).resolve().parents[1]


class Hanging:
    """Duck-typed backend (a keyring subclass would register itself with keyring) whose calls
    wait until the test releases them."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def get_password(self, service, username):
        self.calls += 1
        self.release.wait(30)
        return "late"


@pytest.fixture
def hanging(monkeypatch):
    monkeypatch.setenv("EXACTLINK_KEYRING_TIMEOUT", "0.3")
    backend = Hanging()
    yield backend
    backend.release.set()  # the worker ends, and later tests meet a keyring that answers
    stuck = secrets_module._stuck
    if stuck is not None:
        assert stuck.done.wait(5)


def test_a_hung_call_is_given_up_after_the_timeout_on_a_daemon_thread(hanging):
    store = KeyringSecretStore("t", backend=hanging)
    started = time.monotonic()
    with pytest.raises(SecureStorageUnavailable) as info:
        store.get("x")
    assert 0.3 <= time.monotonic() - started < 1.0
    assert info.value.exit_code == 9
    assert "did not answer within 0.3 s" in info.value.message
    workers = [t for t in threading.enumerate() if t.name == "keyring" and t.is_alive()]
    assert workers and all(t.daemon for t in workers)


def test_while_a_call_hangs_the_keyring_is_not_asked_again(hanging):
    """One timeout per run, not one per secret: doctor and `exact api` read several."""
    store = KeyringSecretStore("t", backend=hanging)
    with pytest.raises(SecureStorageUnavailable):
        store.get("x")
    started = time.monotonic()
    with pytest.raises(SecureStorageUnavailable) as info:
        store.get("y")
    assert time.monotonic() - started < 0.1
    assert "did not answer" in info.value.message
    assert hanging.calls == 1
    # Once the stuck call ends (the keyring woke up), the keyring is asked again.
    hanging.release.set()
    assert secrets_module._stuck is not None and secrets_module._stuck.done.wait(5)
    assert store.get("z") == "late"


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon"])
def test_a_timeout_that_is_no_bound_falls_back_to_the_default(monkeypatch, value):
    monkeypatch.setenv("EXACTLINK_KEYRING_TIMEOUT", value)
    assert secrets_module._timeout() == secrets_module.DEFAULT_TIMEOUT


HUNG_PROCESS = """
import threading, time
from exactlink.adapters.secrets import KeyringSecretStore
from exactlink.errors import SecureStorageUnavailable

class Never:
    def get_password(self, service, username):
        threading.Event().wait()

try:
    KeyringSecretStore("t", backend=Never()).get("x")
except SecureStorageUnavailable as exc:
    print(exc.message, flush=True)
    print(time.time(), flush=True)
raise SystemExit(9)
"""


def test_interpreter_shutdown_does_not_wait_for_the_hung_thread(tmp_path):
    """The hung call is still running when the script ends: the process ends anyway."""
    env = {"PYTHONPATH": str(SRC), "EXACTLINK_KEYRING_TIMEOUT": "0.5", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", HUNG_PROCESS], capture_output=True, text=True, env=env, timeout=30
    )
    ended = time.time()
    assert proc.returncode == 9, proc.stderr
    message, gave_up = proc.stdout.splitlines()
    assert "did not answer within 0.5 s" in message
    # From the error to the process's end: no wait for the thread, which never ends (a few
    # seconds of slack for a busy CI machine; a join would be the 30 s timeout above).
    assert ended - float(gave_up) < 5.0


# ------------------------------------------------------------ a read racing another's write
def _item_not_found():
    exceptions = pytest.importorskip("secretstorage.exceptions")
    return exceptions.ItemNotFoundException("Item does not exist!")


class Flaky:
    """Raises ``errors`` one after another, then answers ``value``."""

    def __init__(self, errors, value="fresh-token") -> None:
        self.errors = list(errors)
        self.value = value
        self.calls = 0

    def get_password(self, service, username):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.value


def test_an_entry_replaced_while_it_is_read_is_read_again():
    backend = Flaky([_item_not_found(), _item_not_found()])
    assert KeyringSecretStore("t", backend=backend).get("connection-1/access") == "fresh-token"
    assert backend.calls == 3


def test_the_keyring_error_it_becomes_is_read_again_too():
    from keyring.errors import InitError

    try:
        raise InitError("Failed to create the collection") from _item_not_found()
    except InitError as wrapped:
        error = wrapped
    assert replaced_meanwhile(error)
    backend = Flaky([error])
    assert KeyringSecretStore("t", backend=backend).get("x") == "fresh-token"


def test_reading_again_is_bounded_and_never_a_bug():
    backend = Flaky([_item_not_found() for _ in range(50)])
    started = time.monotonic()
    with pytest.raises(SecureStorageUnavailable) as info:
        KeyringSecretStore("t", backend=backend).get("x")
    assert time.monotonic() - started < 2.0
    assert backend.calls == len(secrets_module.REREAD_BACKOFF) + 1
    assert info.value.exit_code == 9
    assert "kept changing" in info.value.message


def test_a_dismissed_prompt_is_not_read_again():
    exceptions = pytest.importorskip("secretstorage.exceptions")
    backend = Flaky([exceptions.PromptDismissedException("Prompt dismissed.")])
    with pytest.raises(SecureStorageUnavailable) as info:
        KeyringSecretStore("t", backend=backend).get("x")
    assert backend.calls == 1
    assert "PromptDismissedException" in info.value.message


class Refusing:
    """A keyring backend that refuses reads (``reads=True``) or writes, with the error
    ``make_error`` makes of the value given."""

    def __init__(self, make_error, *, reads=True) -> None:
        self.make_error = make_error
        self.reads = reads

    def get_password(self, service, username):
        if self.reads:
            raise self.make_error("")
        return None

    def set_password(self, service, username, password):
        raise self.make_error(password)


def test_the_keyring_says_why_it_refused():
    """The library's own words travel with exit 9: a daemon that is gone reads differently
    from a locked keyring, which a support ticket needs to tell."""
    from keyring.errors import InitError

    gone = (
        "Failed to create the collection: The name org.freedesktop.secrets was not provided "
        "by any .service files."
    )
    store = KeyringSecretStore("t", backend=Refusing(lambda _value: InitError(gone)))
    with pytest.raises(SecureStorageUnavailable) as info:
        store.get("x")
    assert info.value.exit_code == 9
    assert info.value.message == (
        "The keyring refused to read a secret: InitError (Failed to create the collection: "
        "The name org.freedesktop.secrets was not provided by any .service files)."
    )


def test_a_keyring_that_echoes_the_secret_is_not_quoted():
    from keyring.errors import PasswordSetError

    store = KeyringSecretStore(
        "t", backend=Refusing(lambda value: PasswordSetError(f"too long: {value}"), reads=False)
    )
    with pytest.raises(SecureStorageUnavailable) as info:
        store.set("x", "s3cret-refresh-token")
    assert "s3cret" not in info.value.message
    assert info.value.message == "The keyring refused to store a secret: PasswordSetError."


def test_a_long_reason_is_cut_to_one_short_line():
    from keyring.errors import KeyringError

    store = KeyringSecretStore(
        "t", backend=Refusing(lambda _value: KeyringError("x" * 500 + "\nsecond line"))
    )
    with pytest.raises(SecureStorageUnavailable) as info:
        store.get("x")
    reason = info.value.message.split("(", 1)[1]
    assert len(reason) < 170 and "second line" not in reason and "…" in reason


def test_a_bug_stays_a_bug():
    """Only the keyring's own errors become exit 9; a ValueError of ours is not hidden."""
    backend = Flaky([ValueError("ours")])
    with pytest.raises(ValueError):
        KeyringSecretStore("t", backend=backend).get("x")
    assert not replaced_meanwhile(ValueError("ours"))
