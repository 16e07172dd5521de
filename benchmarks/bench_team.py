"""The team store on PostgreSQL: start-up of a store command, and the refresh race across two
computers.

    python benchmarks/bench_team.py [--runs N] [--processes 16] [--rounds 3]

Starts a throwaway PostgreSQL server (Debian's binaries, as the tests do: tests/support/
postgres.py) and prints:

* `client list --json` with 1,000 clients on the local store and on the team store, each the
  median of paired ratios to `python -c "import typer"` (bench_startup.paired; target: team store
  ≤ 1.6×, local unchanged);
* with the portal connected: `exact divisions --json` (the cached list), `exact status --json`
  and `exact app show --json` on the team store, the same paired ratios (``--only
  exact-reads``);
* what a PostgreSQL driver's import adds to `import typer` alone (paired ratios): psycopg 3,
  and psycopg2 or pg8000 when they happen to be importable (they are not dependencies: the
  figures say why the team store keeps psycopg 3, benchmarks/README.md);
* with ``--only sizes``: reading N clients through libpq (the commands that only read) and
  through psycopg, each in a fresh process, for N in ``--sizes`` (where libpq.MOST_CELLS hands
  a big result to psycopg);
* the refresh race: two homes (two computers, separate config and key storage) on one team store,
  N processes each running `exact api current/Me` at once with an expired access token: token
  calls the sandbox counted (target: exactly 1 per round), failures, wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))

from _exact_home import connected_home, control, home_env  # noqa: E402
from _installed import exactlink_command, installed_env  # noqa: E402
from bench_startup import paired  # noqa: E402

from support.postgres import start_server  # noqa: E402

THOUSAND = "name,vat\n" + "".join(f"Klant {i:04d},BE0403170701\n" for i in range(1000))


def run(env: dict[str, str], *args: str, input: str | None = None) -> str:
    done = subprocess.run(
        [*exactlink_command(), *args], input=input, capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"exactlink {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def startup(server, runs: int) -> dict:
    from exactlink.adapters import crypto
    from exactlink.services import team_store

    tmp = tempfile.mkdtemp(prefix="exactlink-bench-team-")
    base = installed_env(dict(os.environ, NO_COLOR="1"))
    for name in ("EXACTLINK_STORE", "EXACTLINK_STORE_KEY", "EXACTLINK_LANG"):
        base.pop(name, None)
    local = dict(base, EXACTLINK_HOME=f"{tmp}/local")
    key = crypto.new_key()
    url = server.create_schema()
    team_store.create_schema(url, key)
    team = dict(
        base,
        EXACTLINK_HOME=f"{tmp}/team",
        EXACTLINK_STORE=url,
        EXACTLINK_STORE_KEY=crypto.encode_key(key),
    )
    for env in (local, team):
        run(env, "portal", "create", "Kantoor", "--email", "info@kantoor.be")
        run(env, "client", "import", "-", input=THOUSAND)
    command = [*exactlink_command(), "client", "list", "--json"]
    local_r = paired("client list --json, local", command, local, runs, 1.3)
    team_r = paired("client list --json, team", command, team, runs, 1.6)
    return {
        "import_typer_ms": round(local_r.typer_ms, 1),
        "local_client_list_json_ms": round(local_r.command_ms, 1),
        "team_client_list_json_ms": round(team_r.command_ms, 1),
        "local_ratio": round(local_r.ratio, 2),
        "local_cpu_ratio": round(local_r.cpu_ratio, 2),
        "team_ratio": round(team_r.ratio, 2),
        "team_cpu_ratio": round(team_r.cpu_ratio, 2),
    }


def driver_imports(runs: int) -> dict:
    """What importing a driver adds to ``import typer`` (a ratio of 1.0 adds nothing)."""
    import importlib.util

    env = installed_env(dict(os.environ))
    figures = {}
    for module in ("psycopg", "psycopg2", "pg8000.native"):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            continue
        command = [sys.executable, "-c", f"import typer, {module}"]
        result = paired(f"import typer, {module}", command, env, runs, 1.6)
        figures[module] = {"ratio": round(result.ratio, 2), "cpu_ratio": round(result.cpu_ratio, 2)}
    return figures


# Reads a portal's clients the way `client list` does, through the read-first connection
# (libpq; ``quick`` 1) or psycopg (``quick`` 0), and writes their names.
READ_CLIENTS = """
import json, sys
from pathlib import Path
from exactlink.adapters.store import Store
store = Store(Path("/nonexistent"), sys.argv[1], quick_reads=sys.argv[2] == "1")
sys.stdout.write(json.dumps([c.name for c in store.clients.list(1)]))
"""


def sizes(server, counts: list[int], runs: int) -> dict:
    """Reading N clients through libpq and through psycopg, each in a fresh process: where the
    ctypes call a cell costs more than psycopg's import saves (libpq.MOST_CELLS)."""
    from exactlink.adapters import crypto
    from exactlink.services import team_store

    key = crypto.new_key()
    base = installed_env(dict(os.environ, NO_COLOR="1"))
    figures = {}
    for count in counts:
        url = server.create_schema()
        team_store.create_schema(url, key)
        env = dict(base, EXACTLINK_HOME=tempfile.mkdtemp(prefix="exactlink-bench-sizes-"),
                   EXACTLINK_STORE=url, EXACTLINK_STORE_KEY=crypto.encode_key(key))  # fmt: skip
        run(env, "portal", "create", "Kantoor", "--email", "info@kantoor.be")
        rows = "".join(f"Klant {i:06d},BE0403170701\n" for i in range(count))
        run(env, "client", "import", "-", input="name,vat\n" + rows)
        walls: dict[str, list[float]] = {"libpq": [], "psycopg": []}
        for _ in range(runs):
            for label, quick in (("libpq", "1"), ("psycopg", "0")):
                started = time.perf_counter()
                done = subprocess.run([sys.executable, "-c", READ_CLIENTS, url, quick], env=env,
                                      capture_output=True, check=True)  # fmt: skip
                walls[label].append(time.perf_counter() - started)
                assert len(json.loads(done.stdout)) == count
        libpq_s, psycopg_s = (statistics.median(walls[k]) for k in ("libpq", "psycopg"))
        figures[count] = {"libpq_s": round(libpq_s, 3), "psycopg_s": round(psycopg_s, 3),
                          "libpq_to_psycopg": round(libpq_s / psycopg_s, 2)}  # fmt: skip
        print(f"{count:>7} clients: {json.dumps(figures[count])}", flush=True)
    return figures


def race_round(sb, url: str, homes: list[str], processes: int) -> dict:
    import psycopg

    control(sb, "POST", "/_sandbox/clock", {"advance_seconds": 601})
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE connections SET access_expires_at = %s", (time.time() - 5,))
    before = control(sb, "GET", "/_sandbox/stats")
    started = time.perf_counter()
    procs = []
    for home in homes:
        env = home_env(home)
        env.pop("EXACTLINK_STORE", None)
        procs += [
            subprocess.Popen(
                [*exactlink_command(), "exact", "api", "current/Me"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(processes)
        ]
    failures = 0
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures += 1
            print(err, file=sys.stderr)
    wall = time.perf_counter() - started
    after = control(sb, "GET", "/_sandbox/stats")
    return {
        "token_calls": after["token_calls"] - before["token_calls"],
        "too_early": after["token_errors"].get("TooEarlyToRefreshTokens", 0),
        "failures": failures,
        "wall_s": round(wall, 3),
    }


def migrated_to_team(server, home: str) -> tuple[str, dict[str, str], str]:
    """(url, environment, store key): ``home``'s local store, its connection included, moved to
    a new team store that ``home`` then uses."""
    url = server.create_schema()
    env = home_env(home)
    env.pop("EXACTLINK_STORE", None)  # the developer's own team store is never touched
    key = json.loads(run(env, "--json", "store", "init", url))["data"]["store_key"]
    run(env, "store", "migrate", "--to", url)
    return url, env, key


def race(server, processes: int, rounds: int) -> dict:
    sb, home_a = connected_home()
    try:
        url, _env_a, key = migrated_to_team(server, home_a)
        home_b = tempfile.mkdtemp(prefix="exactlink-bench-b-")
        env_b = home_env(home_b)
        env_b.pop("EXACTLINK_STORE", None)
        run(env_b, "store", "join", url, "--insecure-storage", input=key + "\n")
        results = [race_round(sb, url, [home_a, home_b], processes) for _ in range(rounds)]
    finally:
        sb.stop()
    for number, result in enumerate(results, 1):
        print(f"race round {number}: {json.dumps(result)}")
    return {
        "processes": 2 * processes,
        "token_calls_per_round": [r["token_calls"] for r in results],
        "too_early_total": sum(r["too_early"] for r in results),
        "failures_total": sum(r["failures"] for r in results),
        "wall_s_median": statistics.median(r["wall_s"] for r in results),
    }


EXACT_READS = (
    ("exact", "divisions", "--json"),
    ("exact", "status", "--json"),
    ("exact", "app", "show", "--json"),
)


def exact_reads(server, runs: int) -> dict:
    """What support staff run most, on a connected team store: the cached division list, the
    status without --check and the app settings, as paired ratios to ``import typer``."""
    sb, home = connected_home()
    try:
        _url, env, _key = migrated_to_team(server, home)
        run(env, "exact", "divisions", "--refresh")
        env = installed_env(dict(env, NO_COLOR="1"))
        found = {}
        for args in EXACT_READS:
            result = paired(
                " ".join(args) + ", team", [*exactlink_command(), *args], env, runs, 1.6
            )
            found[" ".join(args[:-1])] = {
                "ms": round(result.command_ms, 1),
                "ratio": round(result.ratio, 2),
                "cpu_ratio": round(result.cpu_ratio, 2),
            }
        return found
    finally:
        sb.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="paired runs per figure (≥ 20)")
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=("startup", "exact-reads", "drivers", "race", "sizes"),
        help="run one of these",
    )
    parser.add_argument(
        "--sizes", default="1000,10000,30000,40000,100000", help="client counts for --only sizes"
    )
    args = parser.parse_args()
    server = start_server()
    try:
        if args.only in (None, "startup"):
            print(json.dumps({"startup": startup(server, args.runs)}))
        if args.only in (None, "exact-reads"):
            print(json.dumps({"exact_reads": exact_reads(server, args.runs)}))
        if args.only in (None, "drivers"):
            print(json.dumps({"driver_imports": driver_imports(args.runs)}))
        if args.only in (None, "race"):
            print(json.dumps({"race": race(server, args.processes, args.rounds)}))
        if args.only == "sizes":  # not by default: it imports 181,000 clients
            counts = [int(n) for n in args.sizes.split(",")]
            print(json.dumps({"sizes": sizes(server, counts, max(3, args.runs // 4))}))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
