"""Shared by the Exact benchmarks: a temporary home connected to a fresh sandbox through the
real CLI (paste mode, scripted consent), with the insecure file store so it runs anywhere."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import tempfile
import urllib.request
from contextlib import contextmanager

from _installed import exactlink_command


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for the redirect URI's listener)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def home_env(home: str) -> dict[str, str]:
    """The environment of an exactlink run in ``home``, talking to the sandbox directly."""
    return {**os.environ, "EXACTLINK_HOME": home, "NO_PROXY": "127.0.0.1,localhost"}


def control(sb, method: str, path: str, body: dict | None = None) -> dict:
    """Call a sandbox control (``path`` like "/_sandbox/stats") and return its JSON."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(sb.base_url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def run(home: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*exactlink_command(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=home_env(home),
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"exactlink {' '.join(args)} failed: {done.stderr}")
    return done


def connected_home(clients: int = 6):
    """(sandbox, home): the portal connected to a new sandbox."""
    from exactlink_sandbox import Sandbox
    from exactlink_sandbox.autoconsent import authorize

    redirect = f"http://127.0.0.1:{free_port()}/callback"
    # Lenient: the benchmarks time exactlink, and connect here through a loopback redirect,
    # which the strict profile (like Exact) refuses.
    sb = Sandbox(clients=clients, seed=1, redirect_uri=redirect, profile="lenient").start()
    home = tempfile.mkdtemp(prefix="exactlink-bench-")
    app = sb.seed["app"]
    run(home, "portal", "create", "Bench", "--email", "bench@example.nl")
    run(
        home,
        "exact",
        "app",
        "set",
        "--client-id",
        app["client_id"],
        "--redirect-uri",
        redirect,
        "--base-url",
        sb.base_url,
        "--insecure-storage",
        input=app["client_secret"] + "\n",
    )
    proc = subprocess.Popen(
        [*exactlink_command(), "exact", "connect", "--no-browser"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=home_env(home),
    )
    firm = next(lg for lg in sb.seed["logins"] if lg["role"] == "firm")
    for line in proc.stderr:
        if line.startswith(sb.base_url + "/api/oauth2/auth?"):
            location = authorize(line.strip(), firm["username"], firm["password"])
            proc.stdin.write(location + "\n")
            proc.stdin.flush()
            break
    _out, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise SystemExit("connect failed: " + err)
    return sb, home


@contextmanager
def imported_firm(clients: int, seed: int, ok_exits: tuple[int, ...] = (0,), **switches):
    """(sandbox, cli) for the in-process benchmarks: a portal holding every client of the seed
    (name + VAT, access granted, imported from a CSV), the app set (insecure file storage) and
    one connection (paste mode, scripted consent). ``cli(*argv, input=)`` runs exactlink in this
    process and stops on an exit code outside ``ok_exits``. The sandbox's minute limit is raised
    and its loopback redirect uses the strict profile's one named opt-out; ``switches`` go on
    top (``latency_ms=250``, say). The sandbox stops on leaving."""
    from typer.testing import CliRunner

    import exactlink.adapters.exact.oauth as oauth
    from exactlink.cli.app import app
    from exactlink_sandbox import Sandbox
    from exactlink_sandbox.autoconsent import authorize

    os.environ["EXACTLINK_HOME"] = tempfile.mkdtemp(prefix="exactlink-bench-")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    runner = CliRunner()

    def cli(*argv: str, input: str | None = None):
        result = runner.invoke(app, list(argv), input=input, catch_exceptions=False)
        if result.exit_code not in ok_exits:
            raise SystemExit(f"{argv}: exit {result.exit_code}\n{result.stderr}")
        return result

    redirect = "http://127.0.0.1:8765/callback"  # nothing listens: the landed address is pasted
    switches = {"minutely_limit": 10**6, "require_public_https_redirect": False, **switches}
    sb = Sandbox(clients=clients, seed=seed, redirect_uri=redirect, **switches).start()
    try:
        world = sb.seed
        cli("portal", "create", "Bench", "--email", "kantoor@example.nl")
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["name", "vat", "access_granted"])
        for company in world["companies"]:
            if company["kind"] == "client":
                writer.writerow([company["name"], company["vat_number"], "yes"])
        cli("client", "import", "-", "--format", "csv", input=buf.getvalue())
        cli(
            "exact", "app", "set", "--client-id", world["app"]["client_id"],
            "--redirect-uri", redirect, "--base-url", sb.base_url, "--insecure-storage",
            input=world["app"]["client_secret"] + "\n",
        )  # fmt: skip
        state = "bench-state"
        oauth.new_state = lambda: state
        login = world["logins"][0]
        url = (
            f"{sb.base_url}/api/oauth2/auth?client_id={world['app']['client_id']}"
            f"&redirect_uri={redirect}&response_type=code&state={state}"
        )
        landed = authorize(url, login["username"], login["password"])
        cli("exact", "connect", "--no-browser", input=landed + "\n")
        yield sb, cli
    finally:
        sb.stop()


def expire_locally(home: str) -> None:
    """Our side believes the access token expired 5 s ago: the connection's row and the token
    pair's own expiry (committed with the pair, adapters/exact/token_store.py)."""
    import sqlite3
    import time
    from dataclasses import replace
    from pathlib import Path

    from exactlink.adapters.exact.token_store import TokenPairStore
    from exactlink.adapters.secrets import open_secret_store
    from exactlink.paths import Paths

    now = time.time()
    db = sqlite3.connect(Path(home) / "state.db")
    db.execute("UPDATE connections SET access_expires_at = ?", (now - 5,))
    db.commit()
    db.close()
    pairs = TokenPairStore(open_secret_store(Paths.resolve(home), insecure=True))
    pair = pairs.read("connection-1")
    if pair is not None:
        pairs.commit("connection-1", replace(pair, access_expires_at=now - 5))
