"""Start-up and import benchmark: medians, as ratios to `python -c "import typer"` measured in
the same run (so a slow or busy machine does not move the targets).

    python benchmarks/bench_startup.py [--runs N]

Targets (issue 2): ≤ 1.3× for local commands, ≤ 2× for --help, and the 10,000-row import within
1 s of start-up (import time minus `portal list` time). Runs in a temporary home; touches nothing
else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _installed import exactlink_command, installed_env


def median_time(command: list[str], runs: int, env: dict[str, str], setup=None) -> float:
    """The median wall time of ``command`` over ``runs`` (``setup`` runs untimed before each)."""
    times = []
    for _ in range(runs):
        if setup:
            setup()
        started = time.perf_counter()
        proc = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            sys.exit(f"failed: {' '.join(command)}\n{proc.stderr.decode()}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    exactlink = exactlink_command()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = dict(os.environ, EXACTLINK_HOME=str(home), NO_COLOR="1")
        env.pop("EXACTLINK_LANG", None)
        env = installed_env(env)

        def run(*argv: str, stdin: bytes | None = None) -> None:
            subprocess.run(
                [*exactlink, *argv],
                env=env,
                input=stdin,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        run("portal", "create", "Kantoor", "--email", "info@kantoor.be")
        thousand = "name,vat\n" + "".join(f"Klant {i:04d},BE0403170701\n" for i in range(1000))
        run("client", "import", "-", stdin=thousand.encode())

        big = Path(tmp) / "big.csv"
        big.write_text(
            "name;email;vat\n"
            + "".join(f"Klant {i:05d} BV;k{i}@example.be;BE0403170701\n" for i in range(10_000)),
            encoding="utf-8",
        )
        import_home = Path(tmp) / "import-home"
        import_env = dict(env, EXACTLINK_HOME=str(import_home))

        def fresh_import_home() -> None:
            import shutil

            shutil.rmtree(import_home, ignore_errors=True)
            subprocess.run(
                [*exactlink, "portal", "create", "K", "--email", "k@k.be"],
                env=import_env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        base = median_time([py, "-c", "import typer"], args.runs, env)
        rows = [
            ("exactlink --version", median_time([*exactlink, "--version"], args.runs, env), 1.3),
            ("exactlink --help", median_time([*exactlink, "--help"], args.runs, env), 2.0),
            (
                "exactlink portal list",
                median_time([*exactlink, "portal", "list"], args.runs, env),
                1.3,
            ),
            (
                "exactlink client list --json (1,000)",
                median_time([*exactlink, "client", "list", "--json"], args.runs, env),
                1.3,
            ),
        ]
        startup = rows[2][1]
        import_runs = max(3, args.runs // 3)
        imported = median_time(
            [*exactlink, "client", "import", str(big)],
            import_runs,
            import_env,
            setup=fresh_import_home,
        )

    print(f"python -c 'import typer'             {base * 1000:7.1f} ms   1.00x")
    ok = True
    for label, value, target in rows:
        ratio = value / base
        mark = "ok" if ratio <= target else "OVER"
        ok &= ratio <= target
        print(f"{label:38} {value * 1000:7.1f} ms  {ratio:5.2f}x  (target ≤ {target}x: {mark})")
    beyond = imported - startup
    mark = "ok" if beyond <= 1.0 else "OVER"
    print(
        f"{'exactlink client import (10,000 rows)':38} {imported * 1000:7.1f} ms"
        f"  = start-up + {beyond * 1000:.0f} ms  (target ≤ 1000 ms: {mark})"
    )
    sys.exit(0 if ok and beyond <= 1.0 else 1)


if __name__ == "__main__":
    main()
