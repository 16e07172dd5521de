"""paths.write_private_file: the secrets file and config written through an exclusive temporary
file that never outlives its writer with a secret in it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from exactlink.paths import write_private_file

posix_only = pytest.mark.skipif(os.name != "posix", reason="modes, symlinks and signals")


@posix_only
def test_a_symlink_at_the_old_guessable_temp_name_is_never_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / f".secrets.json.{os.getpid()}.tmp").symlink_to(victim)
    write_private_file(home / "secrets.json", b'{"k": "SECRET"}')
    assert victim.read_text() == "precious"
    assert (home / "secrets.json").read_bytes() == b'{"k": "SECRET"}'
    assert (home / "secrets.json").stat().st_mode & 0o777 == 0o600


@posix_only
def test_a_failed_write_leaves_no_temp_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "secrets.json").mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError):
        write_private_file(home / "secrets.json", b"SECRET")
    assert sorted(p.name for p in home.iterdir()) == ["secrets.json"]


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
import exactlink.paths as paths

real_fsync = os.fsync
def fsync_then_die(fd):
    real_fsync(fd)
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 between the write and the rename
os.fsync = fsync_then_die
paths.write_private_file(Path(sys.argv[1]), b"SECRET-TOKENS")
"""


@posix_only
def test_the_temp_file_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    target = home / "secrets.json"
    write_private_file(target, b"old")
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)], check=False)
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in home.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].read_bytes() == b"SECRET-TOKENS"  # what kill -9 leaves
    assert target.read_bytes() == b"old"
    write_private_file(target, b"new")
    assert sorted(p.name for p in home.iterdir()) == ["secrets.json"]
    assert target.read_bytes() == b"new"


@posix_only
def test_a_live_writers_temp_file_is_left_alone(tmp_path):
    import fcntl

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    busy = home / ".secrets.json.0123456789abcdef.tmp"
    fd = os.open(busy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        write_private_file(home / "secrets.json", b"x")
        assert busy.exists()
    finally:
        os.close(fd)
    time.sleep(0)  # the lock is gone with the descriptor: the next write takes the file
    write_private_file(home / "secrets.json", b"y")
    assert not busy.exists()
