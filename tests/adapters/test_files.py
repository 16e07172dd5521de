"""adapters/files.py: an output file written safely into a folder other users may share."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from exactlink.adapters.files import write_file
from exactlink.errors import EnvironmentProblem

posix_only = pytest.mark.skipif(os.name != "posix", reason="modes and symlinks")


@posix_only
def test_a_shared_folder_keeps_its_mode(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    target = write_file(shared / "out.json", b"{}\n")
    assert target.read_bytes() == b"{}\n"
    assert target.stat().st_mode & 0o7777 == 0o600
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert sorted(p.name for p in shared.iterdir()) == ["out.json"]  # no temp file left


@posix_only
def test_a_missing_folder_is_created_private(tmp_path):
    target = write_file(tmp_path / "new" / "deeper" / "out.json", b"x")
    assert target.parent.stat().st_mode & 0o777 == 0o700
    assert target.read_bytes() == b"x"


@posix_only
def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "out.json").symlink_to(victim)
    write_file(shared / "out.json", b"bundle")
    assert victim.read_text() == "precious"
    assert not (shared / "out.json").is_symlink()
    assert (shared / "out.json").read_bytes() == b"bundle"


@posix_only
def test_symlinks_planted_at_guessable_temp_names_are_never_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    shared = tmp_path / "shared"
    shared.mkdir()
    for name in (f".out.json.{os.getpid()}.tmp", ".out.json.tmp", "out.json.tmp"):
        (shared / name).symlink_to(victim)
    write_file(shared / "out.json", b"bundle")
    assert victim.read_text() == "precious"
    assert (shared / "out.json").read_bytes() == b"bundle"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/sys refuses new files")
def test_permission_denied_is_an_environment_problem_naming_the_path():
    with pytest.raises(EnvironmentProblem) as caught:
        write_file(Path("/sys/exactlink-test.json"), b"x")
    assert caught.value.exit_code == 11
    assert "/sys/exactlink-test.json" in caught.value.message
    assert caught.value.details["errno"] in ("EACCES", "EPERM")
    assert caught.value.hint


def test_a_file_in_place_of_the_folder_is_an_environment_problem(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    with pytest.raises(EnvironmentProblem) as caught:
        write_file(tmp_path / "plain" / "out.json", b"x")
    assert caught.value.exit_code == 11
    assert "plain" in caught.value.message
