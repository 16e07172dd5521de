"""Benchmark: seed 5,000 clients and page through all of system/Divisions with requests.

Run: ``python benchmarks/bench_sandbox.py [--clients N]``. Prints the seconds for seeding and
start-up, the consent and token exchange, and the paging (pages of 60, following ``__next``), so
we notice if the sandbox ever becomes what makes exactlink's own benchmarks slow.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import requests

from exactlink_sandbox import Sandbox
from exactlink_sandbox.autoconsent import authorize


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    t0 = time.perf_counter()
    # Limits raised: the benchmark measures the simulator, not Exact's 60 calls a minute.
    sb = Sandbox(clients=args.clients, seed=args.seed, minutely_limit=10**6).start()
    t_seed = time.perf_counter() - t0
    try:
        app, login = sb.seed["app"], sb.seed["logins"][0]
        t1 = time.perf_counter()
        auth = f"{sb.base_url}/api/oauth2/auth?" + urlencode(
            {
                "client_id": app["client_id"],
                "redirect_uri": app["redirect_uri"],
                "response_type": "code",
            }
        )
        code = parse_qs(
            urlsplit(authorize(auth, login["username"], login["password"], select="all")).query
        )["code"][0]
        session = requests.Session()
        token = session.post(
            f"{sb.base_url}/api/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": app["redirect_uri"],
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
            },
            timeout=30,
        ).json()["access_token"]
        t_connect = time.perf_counter() - t1

        session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        url = f"{sb.base_url}/api/v1/{sb.seed['firm']['division']}/system/Divisions"
        params: dict | None = {"$select": "Code,Description,VATNumber,Status,BlockingStatus"}
        t2 = time.perf_counter()
        pages = rows = 0
        while url:
            reply = session.get(url, params=params, timeout=30)
            reply.raise_for_status()
            d = reply.json()["d"]
            pages += 1
            rows += len(d["results"])
            url, params = d.get("__next"), None
        t_paging = time.perf_counter() - t2
    finally:
        sb.stop()

    print(f"clients:            {args.clients}")
    print(f"seed + start:       {t_seed:.3f} s")
    print(f"consent + token:    {t_connect:.3f} s")
    print(
        f"system/Divisions:   {rows} rows in {pages} pages, {t_paging:.3f} s "
        f"({1000 * t_paging / max(pages, 1):.1f} ms/page)"
    )
    print(f"total:              {t_seed + t_connect + t_paging:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
