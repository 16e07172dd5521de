"""The machine's own trouble: a home someone else could change is refused (never chmodded), and
permission denied, a full disk or a read-only disk name the path and the fix with exit 11,
not "Unexpected error" (docs/exit-codes.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import pytest

posix_only = pytest.mark.skipif(os.name != "posix", reason="modes, owners and symlinks")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/sys, tmpfs")


def _error(result) -> dict:
    return result.json()["errors"][0]


# -- the home folder ---------------------------------------------------------------------------
@posix_only
def test_a_home_that_is_a_symlink_is_refused_with_the_real_folder(cli, tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o755)
    link = tmp_path / "link"
    link.symlink_to(real)
    result = cli("--json", "--home", str(link), "portal", "list")
    assert result.exit_code == 11, result.stderr
    error = _error(result)
    assert error["code"] == "unsafe_folder"
    assert error["details"]["problem"] == "symlink"
    assert str(real) in error["hint"]
    assert real.stat().st_mode & 0o777 == 0o755  # not tightened through the link
    assert list(real.iterdir()) == []
    # and the fix in the hint works
    assert cli("--home", str(real), "portal", "list").exit_code == 0


@posix_only
@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o770], ids=oct)
def test_a_home_others_can_write_is_refused_and_left_as_it_is(cli, tmp_path, mode):
    home = tmp_path / "shared"
    home.mkdir()
    home.chmod(mode)
    result = cli("--home", str(home), "portal", "create", "K", "--email", "k@k.be")
    assert result.exit_code == 11, result.stderr
    assert "can be changed by other users" in result.stderr
    assert f"chmod 700 {home}" in result.stderr
    assert home.stat().st_mode & 0o7777 == mode
    assert not (home / "state.db").exists()


@posix_only
def test_an_existing_private_enough_home_is_used_without_chmod(cli, tmp_path):
    home = tmp_path / "mine"
    home.mkdir()
    home.chmod(0o750)
    assert cli("--home", str(home), "portal", "create", "K", "--email", "k@k.be").exit_code == 0
    assert home.stat().st_mode & 0o777 == 0o750
    assert (home / "state.db").stat().st_mode & 0o777 == 0o600


@posix_only
def test_a_home_created_by_exactlink_is_0700(cli, tmp_path):
    home = tmp_path / "fresh" / "home"
    assert cli("--home", str(home), "portal", "list").exit_code == 0
    assert home.stat().st_mode & 0o777 == 0o700


@posix_only
@pytest.mark.skipif(os.name == "posix" and os.geteuid() != 0, reason="chown needs root")
def test_a_home_owned_by_another_user_is_refused(cli, tmp_path):
    home = tmp_path / "theirs"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    result = cli("--json", "--home", str(home), "portal", "list")
    assert result.exit_code == 11, result.stderr
    error = _error(result)
    assert error["details"]["problem"] == "owner"
    assert "chown" in error["hint"] and "--home" in error["hint"]


# -- permission denied, disk full, read-only ---------------------------------------------------
@linux_only
def test_permission_denied_names_the_path_and_is_not_a_bug(cli):
    # /sys refuses new entries even to root: a real EACCES from the home's mkdir
    home = f"/sys/exactlink-{uuid.uuid4().hex}"
    result = cli("--home", home, "portal", "create", "K", "--email", "k@k.be")
    assert result.exit_code == 11, result.stderr
    assert f"Permission denied: {home}" in result.stderr
    assert "Unexpected error" not in result.stderr
    assert "Hint:" in result.stderr
    envelope = cli("--json", "--home", home, "portal", "list")
    assert envelope.exit_code == 11
    assert _error(envelope)["details"]["errno"] in ("EACCES", "EPERM")


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tiny tmpfs (Linux, root): ``mount(options)`` → its path; unmounted afterwards."""
    mounted = []

    def mount(options: str):
        if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("mounting a tmpfs needs Linux and root")
        where = tmp_path / f"mnt{len(mounted)}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_names_the_path_and_the_fix(cli, tmpfs):
    disk = tmpfs("size=64k,mode=0700")
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill it to the last block
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    out = disk / "bundle.json"
    result = cli("--json", "support", "bundle", "--no-doctor", "-o", str(out))
    assert result.exit_code == 11, result.stderr
    error = _error(result)
    assert error["details"]["errno"] == "ENOSPC"
    assert "disk is full" in error["message"] and str(out) in error["message"]
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no temp file left


def test_a_read_only_disk_names_the_path_and_the_fix(cli, tmpfs):
    disk = tmpfs("size=64k,ro")
    home = disk / "home"
    result = cli("--home", str(home), "portal", "list")
    assert result.exit_code == 11, result.stderr
    assert f"{home} is on a read-only file system" in result.stderr
    assert "Unexpected error" not in result.stderr
    bundle = cli("--json", "support", "bundle", "--no-doctor", "-o", str(disk / "b.json"))
    assert bundle.exit_code == 11
    assert _error(bundle)["details"]["errno"] == "EROFS"
