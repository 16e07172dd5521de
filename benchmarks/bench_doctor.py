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
import csv
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from urllib.request import urlopen

    from typer.testing import CliRunner

    import exactlink.adapters.exact.oauth as oauth
    from exactlink.cli.app import app
    from exactlink_sandbox import Sandbox
    from exactlink_sandbox.autoconsent import authorize

    home = tempfile.mkdtemp(prefix="exactlink-bench-")
    os.environ["EXACTLINK_HOME"] = home
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    runner = CliRunner()

    def cli(*argv: str, input: str | None = None):
        result = runner.invoke(app, list(argv), input=input, catch_exceptions=False)
        if result.exit_code not in (0, 3, 6, 10):
            raise SystemExit(f"{argv}: exit {result.exit_code}\n{result.stderr}")
        return result

    def stats(sb) -> dict:
        with urlopen(sb.base_url + "/_sandbox/stats", timeout=10) as response:
            return json.loads(response.read())

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

    redirect = "http://127.0.0.1:8765/callback"
    sb = Sandbox(
        clients=args.clients,
        seed=args.seed,
        redirect_uri=redirect,
        minutely_limit=10**6,
        require_public_https_redirect=False,  # the benchmark's loopback redirect
    ).start()
    try:
        seed = sb.seed
        cli("portal", "create", "Bench", "--email", "kantoor@example.nl")
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["name", "vat", "access_granted"])
        for company in seed["companies"]:
            if company["kind"] == "client":
                writer.writerow([company["name"], company["vat_number"], "yes"])
        cli("client", "import", "-", "--format", "csv", input=buf.getvalue())
        cli(
            "exact", "app", "set", "--client-id", seed["app"]["client_id"],
            "--redirect-uri", redirect, "--base-url", sb.base_url, "--insecure-storage",
            input=seed["app"]["client_secret"] + "\n",
        )  # fmt: skip
        state = "bench-state"
        oauth.new_state = lambda: state
        login = seed["logins"][0]
        url = (
            f"{sb.base_url}/api/oauth2/auth?client_id={seed['app']['client_id']}"
            f"&redirect_uri={redirect}&response_type=code&state={state}"
        )
        landed = authorize(url, login["username"], login["password"])
        cli("exact", "connect", "--no-browser", input=landed + "\n")
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
    finally:
        sb.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
