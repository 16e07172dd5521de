"""The refresh race: N processes run `exact api current/Me` at once with an expired token.

    python benchmarks/bench_refresh.py [--processes 16] [--rounds 3]

Each round expires the access token for both clocks (the sandbox's is advanced 601 s, ours by
rewriting the stored expiry), starts N processes together and waits for all. Prints, per round,
the token calls the sandbox counted (the single-flight lock makes it 1), the wall time of the
whole round, and the slowest process; also the too-early refusals (must be 0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _exact_home import connected_home, control, expire_locally, home_env


def one_round(sb, home: str, processes: int) -> dict:
    control(sb, "POST", "/_sandbox/clock", {"advance_seconds": 601})
    expire_locally(home)
    before = control(sb, "GET", "/_sandbox/stats")
    env = home_env(home)
    started = time.perf_counter()
    procs = [
        (
            time.perf_counter(),
            subprocess.Popen(
                [sys.executable, "-m", "exactlink", "exact", "api", "current/Me"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            ),
        )
        for _ in range(processes)
    ]
    slowest, failures = 0.0, 0
    for began, proc in procs:
        _out, err = proc.communicate(timeout=120)
        slowest = max(slowest, time.perf_counter() - began)
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
        "slowest_process_s": round(slowest, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sb, home = connected_home()
    try:
        rounds = [one_round(sb, home, args.processes) for _ in range(args.rounds)]
    finally:
        sb.stop()
    for number, result in enumerate(rounds, 1):
        print(f"round {number}: {json.dumps(result)}")
    print(
        json.dumps(
            {
                "processes": args.processes,
                "token_calls_per_round": [r["token_calls"] for r in rounds],
                "too_early_total": sum(r["too_early"] for r in rounds),
                "failures_total": sum(r["failures"] for r in rounds),
                "wall_s_median": statistics.median(r["wall_s"] for r in rounds),
            }
        )
    )


if __name__ == "__main__":
    main()
