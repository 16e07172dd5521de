"""Benchmark: the sandbox's throughput, strict profile against lenient.

Run: ``python benchmarks/bench_sandbox.py [--clients N] [--rounds R]``. For each profile it seeds
N clients, pages through all of ``system/Divisions`` (pages of 60, following ``__next``) and makes
token calls (refreshes, with the 570 s rule set to 0 so they can follow each other), then prints
pages and token calls per second and the strict/lenient ratio of the time they take. Strict must
not cost more than 10 % (issue 10). Profiles alternate round by round; the best round counts.
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

TOKEN_CALLS = 100


def _connect(sb: Sandbox, session: requests.Session) -> dict:
    app, login = sb.seed["app"], sb.seed["logins"][0]
    auth = f"{sb.base_url}/api/oauth2/auth?" + urlencode(
        {
            "client_id": app["client_id"],
            "redirect_uri": app["redirect_uri"],
            "response_type": "code",
        }
    )
    location = authorize(auth, login["username"], login["password"], select="all")
    code = parse_qs(urlsplit(location).query)["code"][0]
    return session.post(
        f"{sb.base_url}/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app["redirect_uri"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
        timeout=30,
    ).json()


def measure(profile: str, clients: int) -> tuple[float, int, float]:
    """(seconds for all pages, pages, seconds for TOKEN_CALLS refreshes) for one profile."""
    # Limits raised: the benchmark measures the simulator, not Exact's 60 calls a minute.
    with Sandbox(clients=clients, profile=profile, minutely_limit=10**6, too_early_seconds=0) as sb:
        session = requests.Session()
        tokens = _connect(sb, session)
        app = sb.seed["app"]
        headers = {
            "Authorization": f"Bearer {tokens['access_token']}",
            "Accept": "application/json",
        }
        url: str | None = f"{sb.base_url}/api/v1/{sb.seed['firm']['division']}/system/Divisions"
        params: dict | None = {"$select": "Code,Description,VATNumber,Status,BlockingStatus"}
        start = time.perf_counter()
        pages = 0
        while url:
            reply = session.get(url, params=params, headers=headers, timeout=30)
            reply.raise_for_status()
            pages += 1
            url, params = reply.json()["d"].get("__next"), None
        paging = time.perf_counter() - start
        refresh = tokens["refresh_token"]
        start = time.perf_counter()
        for _ in range(TOKEN_CALLS):
            reply = session.post(
                f"{sb.base_url}/api/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh,
                    "client_id": app["client_id"],
                    "client_secret": app["client_secret"],
                },
                timeout=30,
            )
            reply.raise_for_status()
            refresh = reply.json()["refresh_token"]
        token_time = time.perf_counter() - start
    return paging, pages, token_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, list[float]] = {"strict": [1e9, 1e9], "lenient": [1e9, 1e9]}
    pages = 0
    for _ in range(args.rounds):
        for profile in ("lenient", "strict"):
            paging, pages, token_time = measure(profile, args.clients)
            best[profile][0] = min(best[profile][0], paging)
            best[profile][1] = min(best[profile][1], token_time)
    print(
        f"clients: {args.clients}, pages of system/Divisions: {pages}, token calls: {TOKEN_CALLS}"
    )
    for profile, (paging, token_time) in best.items():
        print(
            f"{profile:8} paging {pages / paging:8.1f} pages/s ({1000 * paging / pages:.2f} ms/page)"
            f"   tokens {TOKEN_CALLS / token_time:8.1f} calls/s"
        )
    paging_ratio = best["strict"][0] / best["lenient"][0]
    token_ratio = best["strict"][1] / best["lenient"][1]
    print(f"strict / lenient time: paging {paging_ratio:.3f}, token calls {token_ratio:.3f}")
    print("within 10 %" if max(paging_ratio, token_ratio) <= 1.10 else "OVER 10 %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
