"""Benchmark: `exactlink doctor --all` for a firm of 1,500 clients against the sandbox.

    python benchmarks/bench_doctor.py [--clients N] [--seed S]

Against the sandbox over real HTTP, in a temporary home (insecure file storage: no keyring
needed): a portal, every seeded client imported (name + VAT number), one connection, `exact
activate --all`, then `doctor --all` twice: once for the whole seed (with its archived, blocked,
not granted and no-access companies) and once with only the clients that are fine. Prints, for
each, the Exact calls it made (``current/Me``, ``system/Divisions`` pages, probes) against the
budget (one ``current/Me``, the pages of one list, one probe per division in doubt), the wall
time, and the number of lines of its text output.
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
    parser.add_argument("--clients", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from _exact_home import control, imported_firm

    def stats(sb) -> dict:
        return control(sb, "GET", "/_sandbox/stats")

    def calls(before: dict, after: dict) -> dict[str, int]:
        def diff(key: str) -> int:
            return after["api_calls_by_endpoint"].get(key, 0) - before["api_calls_by_endpoint"].get(
                key, 0
            )

        total = sum(after["api_calls"].values()) - sum(before["api_calls"].values())
        return {
            "total": total,
            "me": diff("current/Me"),
            "pages": diff("system/Divisions"),
            "probes": diff("users/UserHasRights"),
        }

    with imported_firm(args.clients, args.seed, ok_exits=(0, 3, 6, 10)) as (sb, cli):
        seed = sb.seed
        cli("--json", "exact", "activate", "--all")
        visible = len(seed["visible_divisions"])
        print(f"clients / divisions listed : {args.clients:,} / {visible:,}")

        def doctor(label: str) -> None:
            before = stats(sb)
            start = time.perf_counter()
            text = cli("doctor", "--all")
            elapsed = time.perf_counter() - start
            used = calls(before, stats(sb))
            body = json.loads(cli("--json", "doctor", "--all").stdout)
            lines = len(text.stdout.splitlines())
            print(f"{label}")
            print(f"  exit / totals            : {text.exit_code} / {body['totals']}")
            print(f"  causes                   : {body['causes']}")
            print(
                f"  Exact calls              : {used['total']} ({used['me']} current/Me,"
                f" {used['pages']} system/Divisions pages, {used['probes']} probes)"
            )
            print(f"  wall                     : {elapsed:.2f} s")
            print(f"  text output              : {lines} lines on stdout")

        doctor("doctor --all, the whole seed:")
        fine = {
            c["client"]
            for c in json.loads(cli("--json", "doctor", "--all").stdout)["clients"]
            if c["status"] == "ok"
        }
        for name in sorted({c["name"] for c in seed["companies"] if c["kind"] == "client"} - fine):
            cli("client", "remove", name, "--yes")
        doctor(f"doctor --all, only the {len(fine):,} clients that are fine:")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
