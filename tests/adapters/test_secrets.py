"""The secrets adapter against the real Secret Service keyring (CI's gnome-keyring), and its
refusal of insecure backends."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from exactlink.adapters.secrets import (
    InsecureFileSecretStore,
    KeyringSecretStore,
    check_backend,
    open_secret_store,
)
from exactlink.errors import SecureStorageUnavailable
from exactlink.paths import Paths


def test_real_keyring_set_get_delete(real_keyring, tmp_path):
    store = KeyringSecretStore(f"test-{uuid.uuid4().hex}", backend=real_keyring)
    assert "SecretService" in store.backend_name
    assert store.get("connection-1/refresh") is None
    store.set("connection-1/refresh", "Gcp7!IAAAAB-secret")
    assert store.get("connection-1/refresh") == "Gcp7!IAAAAB-secret"
    store.set("connection-1/refresh", "rotated!")
    assert store.get("connection-1/refresh") == "rotated!"
    store.delete("connection-1/refresh")
    assert store.get("connection-1/refresh") is None
    store.delete("connection-1/refresh")  # idempotent


def test_real_keyring_is_chosen_by_default(real_keyring, tmp_path):
    store = open_secret_store(Paths.resolve(tmp_path))
    assert store.secure
    assert "SecretService" in store.backend_name


def test_homes_do_not_share_entries(real_keyring, tmp_path):
    a = open_secret_store(Paths.resolve(tmp_path / "a"))
    b = open_secret_store(Paths.resolve(tmp_path / "b"))
    a.set("app/client_secret", "only-in-a")
    try:
        assert b.get("app/client_secret") is None
    finally:
        a.delete("app/client_secret")


@pytest.mark.parametrize(
    "module",
    ["keyring.backends.fail", "keyring.backends.null", "keyrings.alt.file"],
)
def test_insecure_backends_are_refused(module):
    backend_class = type("Keyring", (), {"__module__": module})
    with pytest.raises(SecureStorageUnavailable) as info:
        check_backend(backend_class())
    assert info.value.exit_code == 9
    assert "--insecure-storage" in info.value.hint


def test_the_fail_backend_is_refused_when_there_is_no_keyring(tmp_path, monkeypatch):
    import keyring
    from keyring.backends import fail

    # no D-Bus session: the platform's backend (Secret Service) cannot serve, keyring's own
    # discovery decides, and finds nothing but its fail backend
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    with pytest.raises(SecureStorageUnavailable):
        open_secret_store(Paths.resolve(tmp_path))


def test_python_keyring_backend_still_chooses(tmp_path, monkeypatch):
    """keyring's environment variable wins over the platform's backend, as in keyring."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    with pytest.raises(SecureStorageUnavailable) as info:
        open_secret_store(Paths.resolve(tmp_path))
    assert "keyring.backends.null.Keyring" in info.value.message


def test_keyring_config_file_still_chooses(tmp_path, monkeypatch):
    """keyring's config file (keyringrc.cfg in its config root) wins too."""
    from keyring.util import platform_

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    root = platform_.config_root()
    assert str(root).startswith(str(tmp_path))
    root.mkdir(parents=True)
    (root / "keyringrc.cfg").write_text(
        "[backend]\ndefault-keyring=keyring.backends.fail.Keyring\n", encoding="utf-8"
    )
    with pytest.raises(SecureStorageUnavailable) as info:
        open_secret_store(Paths.resolve(tmp_path))
    assert "keyring.backends.fail.Keyring" in info.value.message


def test_the_platform_backend_is_chosen_without_keyrings_scan(real_keyring, monkeypatch):
    """With a Secret Service at hand, it is picked directly: keyring's discovery of every
    installed backend (entry points, other platforms' modules) is never run."""
    import keyring.backend
    from keyring.backends import SecretService

    from exactlink.adapters.secrets import platform_keyring

    def scan():
        raise AssertionError("keyring's backend discovery ran")

    monkeypatch.setattr(keyring.backend, "get_all_keyring", scan)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-exactlink-test")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    backend = platform_keyring()
    assert isinstance(backend, SecretService.Keyring)
    assert type(backend) is type(real_keyring)  # the machine's Secret Service


def test_a_hanging_keyring_times_out(monkeypatch, tmp_path):
    import threading

    from keyring.backends import SecretService

    release = threading.Event()

    class Hanging(SecretService.Keyring):
        def get_password(self, service, username):
            release.wait(5)

    monkeypatch.setenv("EXACTLINK_KEYRING_TIMEOUT", "0.2")
    store = KeyringSecretStore("t", backend=Hanging())
    try:
        with pytest.raises(SecureStorageUnavailable) as info:
            store.get("x")
        assert "did not answer" in info.value.message
    finally:
        release.set()


def test_insecure_file_store_is_private(tmp_path):
    store = open_secret_store(Paths.resolve(tmp_path), insecure=True)
    assert isinstance(store, InsecureFileSecretStore)
    assert not store.secure
    store.set("connection-1/access", "token-value")
    assert store.get("connection-1/access") == "token-value"
    assert os.stat(store.path).st_mode & 0o777 == 0o600
    assert os.stat(store.path.parent).st_mode & 0o777 == 0o700
    lock = store.path.with_name(store.path.name + ".lock")
    assert os.stat(lock).st_mode & 0o777 == 0o600
    store.delete("connection-1/access")
    assert json.loads(store.path.read_text()) == {}
