"""The insecure secrets file through the CLI: at 0644 or as a symlink it is refused (exit 11, the
file and the fix named, --json with its code), and `doctor` reports the file's real mode."""

from __future__ import annotations

import json
import os

import pytest

from support.exactkit import connected

pytestmark = pytest.mark.skipif(os.name != "posix", reason="modes and symlinks")


@pytest.fixture
def firm(sandbox_factory, cli, monkeypatch, isolated_home):
    """A connected firm whose secrets are in the insecure file (the tests' default)."""
    connected(sandbox_factory, cli, monkeypatch, clients=4)
    path = isolated_home / "secrets-insecure.json"
    assert path.stat().st_mode & 0o777 == 0o600
    return path


def _doctor_keyring(cli) -> dict:
    result = cli("--json", "doctor")
    return {c["id"]: c for c in json.loads(result.stdout)["checks"]}["keyring"]


def test_a_world_readable_file_is_refused(cli, firm):
    os.chmod(firm, 0o644)
    result = cli("exact", "api", "current/Me")
    assert result.exit_code == 11, result.stderr
    assert f"The insecure secrets file {firm} can be read by other users (mode 0644)" in (
        result.stderr
    )
    assert f"chmod 600 {firm}" in result.stderr
    assert "Unexpected error" not in result.stderr
    envelope = cli("--json", "exact", "api", "current/Me")
    assert envelope.exit_code == 11
    error = envelope.json()["errors"][0]
    assert error["code"] == "unsafe_file"
    assert error["details"] == {"path": str(firm), "problem": "mode", "mode": "0644"}
    assert firm.stat().st_mode & 0o777 == 0o644  # refused, never chmodded behind your back


def test_a_symlinked_file_is_refused(cli, firm, tmp_path):
    moved = tmp_path / "moved.json"
    os.replace(firm, moved)
    os.symlink(moved, firm)
    result = cli("--json", "exact", "api", "current/Me")
    assert result.exit_code == 11, result.stderr
    error = result.json()["errors"][0]
    assert error["details"]["problem"] == "symlink"
    assert str(firm) in error["message"]


def test_doctor_reports_the_files_real_mode(cli, firm):
    fine = _doctor_keyring(cli)
    assert fine["status"] == "warn"
    assert f"({firm}, mode 0600)" in fine["message"]
    os.chmod(firm, 0o644)
    refused = _doctor_keyring(cli)
    assert refused["status"] == "fail"
    assert "mode 0644" in refused["message"] and str(firm) in refused["message"]
    assert f"chmod 600 {firm}" in refused["fix"]
    human = cli("doctor")
    assert human.exit_code == 10
    assert "✗ keyring" in human.stdout and "mode 0644" in human.stdout
    os.chmod(firm, 0o600)
    assert cli("exact", "api", "current/Me").exit_code == 0
