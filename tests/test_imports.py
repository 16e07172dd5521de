"""Start-up stays light: local commands import neither requests nor keyring (nor Rich when
stdout is not a terminal, nor python-stdnum when nothing is validated). Checked in a fresh
subprocess, the way a user's shell runs exactlink."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("requests", "keyring", "rich", "stdnum", "platformdirs", "psycopg", "cryptography")

PROBE = """
import json, runpy, sys
sys.argv = ["exactlink", *sys.argv[2:]]
code = None
try:
    runpy.run_module("exactlink", run_name="__main__")
except SystemExit as exit:
    code = exit.code
with open({path!r}, "w") as handle:
    json.dump({{"exit": code, "modules": [m for m in {heavy!r} if m in sys.modules]}}, handle)
"""


def loaded(tmp_path, *args):
    """Run exactlink ARGS in a fresh interpreter; the heavy modules it imported."""
    out = tmp_path / "modules.json"
    code = PROBE.format(path=str(out), heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", code, "-", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["exit"] in (0, None), proc.stderr
    return set(result["modules"])


@pytest.fixture
def home_with_clients(run_exactlink):
    assert run_exactlink("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    rows = "name,vat\nA,BE0403170701\nB,\n"
    assert run_exactlink("client", "import", "-", input=rows).exit_code == 0


def test_help_imports_neither_requests_nor_keyring(tmp_path):
    modules = loaded(tmp_path, "--help")
    assert not modules & {"requests", "keyring", "stdnum", "platformdirs"}


def test_client_list_stays_light(tmp_path, home_with_clients):
    # stdout is a pipe here: plain text, so not even Rich
    assert loaded(tmp_path, "client", "list") == set()
    assert loaded(tmp_path, "client", "list", "--json") == set()


def test_portal_list_stays_light(tmp_path, home_with_clients):
    assert loaded(tmp_path, "portal", "list") == set()
    assert loaded(tmp_path, "portal", "show", "--json") == set()


def test_version_stays_light(tmp_path):
    assert loaded(tmp_path, "--version") == set()
