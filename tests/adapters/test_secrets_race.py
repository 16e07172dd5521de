"""Reads that survive another process's write, on the real Secret Service (CI's gnome-keyring):
a long token (split over several entries) replaced again and again by one process while another
reads it. Every read returns one whole value; none fails with ItemNotFoundException."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import exactlink
from exactlink.adapters.secrets import KeyringSecretStore, home_namespace
from exactlink.paths import Paths

SRC = Path(exactlink.__file__).resolve().parents[1]
WRITES = 25


def token(i: int) -> str:
    """A token as long as Exact's (several entries each), numbered and checkable."""
    return f"stampNL001.{i:04d}." + "x" * 6000 + f".{i:04d}"


WRITER = """
import sys
from keyring.backends import SecretService
from exactlink.adapters.secrets import KeyringSecretStore
sys.path.insert(0, sys.argv[3])
from test_secrets_race import token
store = KeyringSecretStore(sys.argv[1], backend=SecretService.Keyring())
for i in range(1, int(sys.argv[2]) + 1):
    store.set("connection-1/access", token(i))
print("done", flush=True)
"""


@pytest.mark.real
@pytest.mark.slow
def test_reads_racing_a_writer_always_get_a_whole_token(real_keyring, tmp_path):
    namespace = home_namespace(Paths.resolve(tmp_path / "home"))
    store = KeyringSecretStore(namespace, backend=real_keyring)
    store.set("connection-1/access", token(0))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, namespace, str(WRITES), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(SRC), **_session_env()},
    )
    reads, seen = 0, set()
    try:
        while writer.poll() is None:
            value = store.get("connection-1/access")  # never raises, never half a token
            assert value is not None
            number = int(value.split(".")[1])
            assert value == token(number)
            seen.add(number)
            reads += 1
    finally:
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert out.strip() == "done"
    assert store.get("connection-1/access") == token(WRITES)
    assert reads > WRITES / 2 and len(seen) > 2, (reads, sorted(seen))


def _session_env() -> dict[str, str]:
    names = ("DBUS_SESSION_BUS_ADDRESS", "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "HOME", "PATH")
    return {name: os.environ[name] for name in names if name in os.environ}
