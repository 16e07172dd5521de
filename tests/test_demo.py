"""`exactlink demo`: the README's first command, run as a user runs it (a subprocess) on a fresh
machine without a keyring service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exactlink.services.demo import Cast, clients_csv, command_line
from exactlink_sandbox.demo_world import cast
from exactlink_sandbox.seed import generate


def cast_from_seed(seed: dict) -> Cast:
    return Cast.from_dict(cast(seed))


def run_demo(
    tmp_path: Path, *global_options: str, demo_options: tuple[str, ...] = (), timeout: float = 180
) -> subprocess.CompletedProcess:
    """The demo in a fresh environment: its own TMPDIR, no keyring (keyring's fail backend)."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    env = dict(os.environ)
    env["TMPDIR"] = str(tmpdir)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "exactlink", *global_options, "demo", *demo_options],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_demo_runs_the_whole_job_and_leaves_nothing_behind(tmp_path, isolated_home):
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    # Narration on stderr: every step with the command a user types (never --home).
    for step in range(1, 12):
        assert f"Step {step}/11:" in done.stderr
    commands = [line.strip()[2:] for line in done.stderr.splitlines() if line.startswith("  $ ")]
    assert commands[0].startswith("exactlink portal create ")
    assert all(c.startswith("exactlink ") and "--home" not in c for c in commands)
    assert any(c.startswith("exactlink client import clients.csv") for c in commands)
    assert any(
        c.startswith("exactlink exact app set ") and "--insecure-storage" in c for c in commands
    )
    assert "exactlink exact connect" in commands
    assert "exactlink exact activate --all" in commands
    assert any(c.endswith("--overwrite") for c in commands)
    assert any(c.startswith("exactlink doctor --client ") for c in commands)
    # The relay flow a real firm uses: a public HTTPS redirect URI (the strict sandbox refuses
    # any other) and exactlink's listener, whose port travels in `state`.
    assert "redirect_uri=https%3A%2F%2Fauth.exactlink.test%2Fcallback" in done.stderr
    assert "Waiting for the browser (up to 300 s)" in done.stderr
    assert any(c.startswith("exactlink exact app set ") and " --relay" in c for c in commands)
    assert "✗ division_listed" in done.stderr  # doctor's finding, shown and explained
    assert "As expected" in done.stderr
    assert "throwaway secrets" in done.stderr  # it says where the secrets went

    # The summary on stdout.
    summary = done.stdout
    assert "Summary" in summary
    assert "Portal:" in summary and "Clients:" in summary and "Activated:" in summary
    assert "1 pending" in summary
    assert "Doctor:" in summary and "✗" in summary
    assert "nothing was left behind" in summary

    # Nothing left: not the temporary home, not the user's home.
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not Path(isolated_home).exists()


@pytest.mark.slow
def test_demo_narrates_in_dutch(tmp_path):
    done = run_demo(tmp_path, "--lang", "nl")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Stap 1/11:" in done.stderr and "Step 1/11:" not in done.stderr
    assert "Samenvatting" in done.stdout
    # the summary's statuses and doctor's finding in Dutch too (its report comes from --json)
    summary = done.stdout[done.stdout.index("Samenvatting") :]
    assert "actief" in summary and "in afwachting" in summary
    assert "✗ administraties:" in summary
    for english in ("pending", "granted", "None of the", "Fix:"):
        assert english not in summary, english


@pytest.mark.slow
def test_demo_json_with_keep(tmp_path, cli):
    # --json speaks English whatever --lang says, so scripts see the same document.
    done = run_demo(tmp_path, "--lang", "nl", "--json", demo_options=("--keep",))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Step 1/11:" in done.stderr
    envelope = json.loads(done.stdout)  # stdout is the one JSON document
    assert envelope["status"] == "success"
    data = envelope["data"]
    assert data["portal"]["email"]
    assert data["clients"]["pending"] == 1
    assert data["clients"]["active"] == len(data["activations"]) >= 3
    assert data["doctor"]["exit_code"] == 10
    assert [check["id"] for check in data["doctor"]["failed"]] == ["division_listed"]
    assert data["storage"] == "insecure-file"

    home = Path(data["home"])
    assert home.parent == tmp_path / "tmp"
    assert (home.stat().st_mode & 0o777) == 0o700
    listed = cli("--home", str(home), "--json", "client", "list")  # the kept home works
    assert listed.exit_code == 0, listed.stderr
    assert {c["status"] for c in listed.json()} == {"active", "granted", "pending"}


def test_demo_refuses_too_few_clients(run_exactlink):
    done = run_exactlink("demo", "--clients", "3")
    assert done.exit_code == 2
    assert "--clients" in done.stderr


@pytest.mark.parametrize("clients", [7, 8, 12, 40])
def test_every_world_casts_all_parts(clients):
    seed = generate(clients=clients, seed=1).to_json("http://127.0.0.1:1")
    cast = cast_from_seed(seed)
    parts = [cast.own_link.name, cast.not_granted.name, *(c.name for c in cast.pending)]
    assert len(set(parts)) == len(parts) == 4, parts
    assert cast.grants_now in cast.pending
    assert cast.own_login.username != cast.firm_login.username
    rows = clients_csv(cast).splitlines()
    assert rows[0] == "name;email;vat;coc;access_granted"
    assert len(rows) == 1 + len(cast.clients) == 1 + clients
    assert sum(row.endswith(";no") for row in rows) == 2


def test_printed_command_is_what_a_user_types():
    assert command_line(["client", "access", "Café Willems SComm", "--granted"]) == (
        "exactlink client access 'Café Willems SComm' --granted"
    )
