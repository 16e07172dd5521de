"""Parallel writers and a kill mid-import: the store loses nothing and leaves nothing half-done
(DESIGN.md, "Local state": WAL, busy_timeout, one transaction per command)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

# One process running ``client add`` COUNT times, each a separate command (its own context,
# database connection and transaction), as `xargs -P8 exactlink client add ...` would. The click
# command tree is built once per process so the test measures the store, not typer's set-up.
WORKER = """
import sys
import typer.main
from exactlink.cli.app import app
command = typer.main.get_command(app)
worker, count = int(sys.argv[1]), int(sys.argv[2])
failures = 0
for i in range(count):
    args = ["client", "add", f"Klant {worker}-{i}", "--access-granted", "-q"]
    try:
        command.main(args, prog_name="exactlink")
    except SystemExit as exit:
        failures += exit.code not in (0, None)
sys.exit(1 if failures else 0)
"""


def count_clients(home) -> int:
    conn = sqlite3.connect(home / "state.db")
    try:
        return conn.execute("SELECT COUNT(*) FROM clients").fetchone()[0]
    finally:
        conn.close()


def integrity(home) -> str:
    conn = sqlite3.connect(home / "state.db")
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.crowd
def test_eight_processes_adding_fifty_clients_each(cli, isolated_home):
    # The set-up and the checks afterwards run in-process: only the writers need processes.
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(worker), "50"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(8)
    ]
    results = [(proc.wait(timeout=120), *proc.communicate()) for proc in procs]
    for code, _stdout, stderr in results:
        assert code == 0, stderr
        assert "database is locked" not in stderr
        assert "Error" not in stderr
    assert count_clients(isolated_home) == 400
    assert integrity(isolated_home) == "ok"
    listed = cli("client", "list", "--json", "--status", "granted")
    assert len(listed.json()) == 400
    events = cli("log", "--json").json()
    assert sum(1 for e in events if e["action"] == "client.add") == 400


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pid: int) -> float:
    """CPU seconds a running (or ended, not yet reaped) process has used (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="SIGKILL, Linux /proc")
def test_sigkill_during_an_import_leaves_none_or_all(cli, isolated_home, tmp_path):
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    rows = "".join(f"Klant {i:05d};k{i}@example.be;BE0403170701\n" for i in range(10_000))
    path = tmp_path / "big.csv"
    path.write_text("name;email;vat\n" + rows, encoding="utf-8")
    command = [sys.executable, "-m", "exactlink", "client", "import", str(path), "-q"]

    # How much CPU a whole import takes, in a throw-away home, to aim the kills inside it. CPU
    # time, not wall time: how busy the machine is changes the one, not the other.
    spare = dict(os.environ, EXACTLINK_HOME=str(tmp_path / "spare"))
    made = cli("--home", spare["EXACTLINK_HOME"], "portal", "create", "K", "--email", "k@k.be")
    assert made.exit_code == 0, made.stderr
    before = _children_cpu()
    subprocess.run(command, env=spare, check=True)
    whole = _children_cpu() - before

    outcomes = []
    for fraction in (0.6, 0.8, 0.95):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and _cpu_of(proc.pid) < whole * fraction:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)  # nothing to do if it has ended already
        proc.wait()
        assert integrity(isolated_home) == "ok"
        count = count_clients(isolated_home)
        assert count in (0, 10_000)
        outcomes.append((proc.returncode, count))
        if count:
            break
    # Whatever the kills hit, the store still works and the import completes.
    again = cli("client", "import", str(path), "--json")
    assert again.exit_code == 0, again.stderr
    assert count_clients(isolated_home) == 10_000
    assert integrity(isolated_home) == "ok"
    assert any(code == -signal.SIGKILL for code, _count in outcomes), outcomes
