"""A D-Bus session and a gnome-keyring of one test alone (``private_keyring``), for tests that
stop the keyring, kill its clients with SIGKILL many times, or crowd it with 64 clients at once:
whatever that does to gnome-keyring stays out of the keyring the rest of the suite shares."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support.crashkit import wait_until

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={folder}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class PrivateKeyring:
    """A D-Bus session and a gnome-keyring of one test alone, which the test may stop and start
    again (the shared CI keyring must not be touched). The bus starts nothing by itself (no
    service folders), so a stopped keyring stays gone."""

    def __init__(self, folder, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.daemon: subprocess.Popen | None = None
        self.log = os.path.join(str(folder), "gnome-keyring.log")

    def start(self) -> None:
        # The daemon's own words go to a file that stop() quotes should the daemon die.
        with open(self.log, "ab") as log:
            self.daemon = self._spawn(log)
        assert self.daemon.stdin is not None
        self.daemon.stdin.write(b"private-test-keyring")
        self.daemon.stdin.close()
        assert wait_until(self.answers, timeout=20, step=0.05), "gnome-keyring did not start"

    def _spawn(self, log) -> subprocess.Popen:
        return subprocess.Popen(
            [
                "gnome-keyring-daemon",
                "--foreground",
                "--unlock",
                "--components=secrets",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=self.env,
        )

    def answers(self) -> bool:
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import keyring.backends.SecretService as s;"
                " s.Keyring().get_password('exactlink-probe', 'x')",
            ],
            env=self.env,
            capture_output=True,
            timeout=20,
        )
        return probe.returncode == 0

    def stop(self) -> None:
        """Stop the daemon. One that had already gone by itself is said on stderr with its log,
        which pytest shows beside a failure (a client's "InitError" then has its cause)."""
        if self.daemon is None:
            return
        code = self.daemon.poll()
        if code is None:
            self.daemon.terminate()
            self.daemon.wait(timeout=10)
        else:
            with open(self.log, errors="replace") as log:
                tail = [line for line in log if line.strip()][-20:]
            sys.stderr.write(
                f"gnome-keyring-daemon (pid {self.daemon.pid}) had exited by itself with code"
                f" {code}; the end of its log:\n{''.join(tail)}"
            )
        self.daemon = None


@pytest.fixture
def private_keyring(tmp_path, monkeypatch):
    import shutil

    from support.real import missing

    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        missing("dbus-daemon and gnome-keyring-daemon (a private Secret Service)")
    folder = tmp_path / "bus"
    folder.mkdir(mode=0o700)
    (folder / "bus.conf").write_text(BUS_CONFIG.format(folder=folder))
    bus = subprocess.Popen(
        ["dbus-daemon", f"--config-file={folder / 'bus.conf'}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert bus.stdout is not None
    address = bus.stdout.readline().strip()
    data = tmp_path / "keyring-data"
    data.mkdir(mode=0o700)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    # Its own bus, keyring file and control socket ($XDG_RUNTIME_DIR/keyring): the suite's
    # shared keyring is never seen, let alone replaced.
    for name, value in (
        ("DBUS_SESSION_BUS_ADDRESS", address),
        ("XDG_DATA_HOME", str(data)),
        ("XDG_RUNTIME_DIR", str(runtime)),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GNOME_KEYRING_CONTROL", raising=False)
    monkeypatch.setenv("EXACTLINK_KEYRING_TIMEOUT", "5")
    keyring = PrivateKeyring(folder, dict(os.environ))
    keyring.start()
    try:
        yield keyring
    finally:
        keyring.stop()
        bus.terminate()
        bus.wait(timeout=10)
