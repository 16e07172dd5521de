"""The insecure secrets file (the explicit --insecure-storage opt-in) is used only while nobody
else could read or replace it: a mode open to the group or the world, a symlink, another user's
file are refused (exit 11) with the file's name and the fix, never quietly chmodded."""

from __future__ import annotations

import json
import os

import pytest

from exactlink.adapters.secret_file import InsecureFileSecretStore
from exactlink.errors import UnsafeFile

posix_only = pytest.mark.skipif(os.name != "posix", reason="modes, owners and symlinks")


@pytest.fixture
def store(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    store = InsecureFileSecretStore(data / "secrets-insecure.json")
    store.set("connection-1/access", "token-value")
    return store


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o610])
def test_a_file_open_to_others_is_refused_for_reading_and_writing(store, mode):
    os.chmod(store.path, mode)
    for use in (
        lambda: store.get("connection-1/access"),
        lambda: store.set("connection-1/access", "new"),
        lambda: store.delete("connection-1/access"),
    ):
        with pytest.raises(UnsafeFile) as info:
            use()
        error = info.value
        assert error.exit_code == 11 and error.code == "unsafe_file"
        assert str(store.path) in error.message
        assert f"{mode:04o}" in error.message
        assert f"chmod 600 {store.path}" in error.hint
        assert error.details == {"path": str(store.path), "problem": "mode", "mode": f"{mode:04o}"}
    assert os.stat(store.path).st_mode & 0o777 == mode  # refused, not "fixed"
    os.chmod(store.path, 0o600)
    assert store.get("connection-1/access") == "token-value"  # the file was never rewritten


@posix_only
def test_a_symlink_is_refused_even_to_a_private_file_of_ours(store, tmp_path):
    real = tmp_path / "elsewhere.json"
    os.replace(store.path, real)
    os.symlink(real, store.path)
    with pytest.raises(UnsafeFile) as info:
        store.get("connection-1/access")
    assert info.value.details["problem"] == "symlink"
    assert str(store.path) in info.value.message
    assert "rm " in info.value.hint
    with pytest.raises(UnsafeFile):
        store.set("connection-1/access", "new")
    assert json.loads(real.read_text()) == {"connection-1/access": "token-value"}
    os.unlink(store.path)
    os.symlink(tmp_path / "missing.json", store.path)  # a dangling link too
    with pytest.raises(UnsafeFile):
        store.get("connection-1/access")
    assert not (tmp_path / "missing.json").exists()


@posix_only
@pytest.mark.skipif(os.name == "posix" and os.geteuid() != 0, reason="chown needs root")
def test_another_users_file_is_refused(store):
    os.chown(store.path, 65534, 65534)
    with pytest.raises(UnsafeFile) as info:
        store.get("connection-1/access")
    assert info.value.details == {"path": str(store.path), "problem": "owner", "uid": 65534}
    assert "Recreate it" in info.value.hint


def test_a_folder_in_its_place_is_refused(tmp_path):
    path = tmp_path / "secrets-insecure.json"
    path.mkdir()
    with pytest.raises(UnsafeFile) as info:
        InsecureFileSecretStore(path).get("x")
    assert info.value.details["problem"] == "not_a_file"


def test_file_mode_reports_the_mode_on_disk(store):
    assert store.file_mode() == 0o600
    missing = InsecureFileSecretStore(store.path.with_name("none.json"))
    assert missing.file_mode() is None


@posix_only
def test_on_windows_modes_and_owners_are_not_asked(store, monkeypatch):
    """Windows has no POSIX modes or uids (os.geteuid does not exist): the checks that need
    them are skipped, not crashed into; a symlink would still be refused."""
    os.chmod(store.path, 0o644)
    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.delattr(os, "geteuid")
    assert store.get("connection-1/access") == "token-value"
    assert store.file_mode() == 0o644
