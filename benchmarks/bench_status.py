"""Start-up of `exact status` (no network) against `python -c "import typer"`.

    python benchmarks/bench_status.py [--runs 15]

A home is connected to a sandbox, the sandbox is stopped (so nothing can reach the network),
then both commands run ``--runs`` times; prints the medians and their ratio, and whether
`requests`, `keyring` or `rich` were imported by `exact status` (they should not be).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _exact_home import connected_home
from _installed import exactlink_command, installed_env


def median_wall(command: list[str], env: dict, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sb, home = connected_home()
    sb.stop()  # no network from here on
    env = installed_env({**os.environ, "EXACTLINK_HOME": home})
    status = [*exactlink_command(), "exact", "status"]
    typer_only = [sys.executable, "-c", "import typer"]
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "exactlink", "exact", "status"],
        env=env,
        capture_output=True,
        text=True,
    ).stderr
    heavy = sorted(
        {
            name
            for name in ("requests", "keyring", "rich", "cryptography")
            if f" {name}\n" in imports or f" {name}." in imports
        }
    )
    t_status = median_wall(status, env, args.runs)
    t_typer = median_wall(typer_only, env, args.runs)
    print(
        json.dumps(
            {
                "runs": args.runs,
                "exact_status_s": round(t_status, 3),
                "import_typer_s": round(t_typer, 3),
                "ratio": round(t_status / t_typer, 2),
                "heavy_imports": heavy,
            }
        )
    )


if __name__ == "__main__":
    main()
