"""Benchmark: `exactlink exact activate --all` for 5,000 clients and 5,000 divisions.

    python benchmarks/bench_activate.py [--clients N] [--seed S] [--latency-ms 250]
        [--exact-limits] [--workers W]

Against the sandbox over real HTTP, in a temporary home: a portal, the clients imported from a CSV
built from the seed (name + VAT number), the app set (insecure file storage: no keyring needed),
one connection (paste mode, scripted consent), then `exact activate --all --json`. Prints the wall
time of the activation alone and the HTTP calls it made against the floor: one ``current/Me``, the
pages of ``system/Divisions`` (60 a page) and one probe per matched, allowed client; then a second,
no-op run: its wall time and its calls (none: the division list is read from the fresh cache,
``exact.divisions_max_age_minutes``).

The sandbox's minute limit is raised: on real Exact the 84 list pages of one division would wait
for the minute resets (60 calls a minute per division), which measures Exact, not exactlink.
``--exact-limits`` keeps Exact's 60 a minute (the 429s are then counted: the list's pages beyond
60 wait for the next minute once). ``--latency-ms 250`` delays every answer as Exact does;
``--workers`` sets ``exact.probe_workers`` (1 = the probes one after another).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="the sandbox's delay per answer (Exact: ~250)"
    )
    parser.add_argument("--exact-limits", action="store_true", help="60 calls a minute")
    parser.add_argument("--workers", type=int, default=None, help="exact.probe_workers")
    args = parser.parse_args()

    from _exact_home import control, imported_firm

    def stats(sb) -> dict:
        return control(sb, "GET", "/_sandbox/stats")

    limits = {"minutely_limit": 60} if args.exact_limits else {}
    firm = imported_firm(
        args.clients, args.seed, ok_exits=(0, 3, 6), latency_ms=args.latency_ms, **limits
    )
    with firm as (sb, cli):
        seed = sb.seed
        if args.workers is not None:
            import os

            config = Path(os.environ["EXACTLINK_HOME"]) / "config.toml"
            text = config.read_text().replace(
                "[exact]", f"[exact]\nprobe_workers = {args.workers}", 1
            )
            config.write_text(text)

        before = stats(sb)
        start = time.perf_counter()
        result = cli("--json", "exact", "activate", "--all")
        elapsed = time.perf_counter() - start
        after = stats(sb)
        body = json.loads(result.stdout)
        calls = sum(after["api_calls"].values()) - sum(before["api_calls"].values())
        visible = len(seed["visible_divisions"])
        pages = -(-visible // 60)
        probes = body["data"]["probes"]
        floor = 1 + pages + probes

        before2 = stats(sb)
        start2 = time.perf_counter()
        again = cli("--json", "exact", "activate", "--all")
        elapsed2 = time.perf_counter() - start2
        after2 = stats(sb)
        changed = sum(1 for c in json.loads(again.stdout)["data"]["clients"] if c["changed"])
        calls2 = sum(after2["api_calls"].values()) - sum(before2["api_calls"].values())
        pages2 = after2["api_calls_by_endpoint"].get("system/Divisions", 0) - before2[
            "api_calls_by_endpoint"
        ].get("system/Divisions", 0)
        print(f"clients / divisions listed : {args.clients:,} / {visible:,}")
        print(f"activate --all wall time   : {elapsed:.2f} s  (status {body['status']})")
        print(f"outcomes                   : {body['data']['counts']}")
        limited = sum(after.get("rate_limited", {}).values()) - sum(
            before.get("rate_limited", {}).values()
        )
        print(
            f"latency / 429s / workers   : {args.latency_ms} ms / {limited} /"
            f" {args.workers or 'default'} (minute limit {'60' if args.exact_limits else 'raised'})"
        )
        print(
            f"HTTP calls                 : {calls}  (floor {floor} = 1 Me + {pages} pages"
            f" + {probes} probes)"
        )
        print(
            f"second run (no-op)         : {elapsed2:.2f} s, {changed} changed, {calls2} HTTP"
            f" calls ({pages2} system/Divisions pages: the cache is fresh)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
