"""Benchmark: the sandbox's throughput, strict profile against lenient.

Run: ``python benchmarks/bench_sandbox.py [--clients N] [--pairs P]``. One sandbox of each profile
runs side by side with N clients. Each pair times one full pass through ``system/Divisions``
(pages of 60, following ``__next``) and one batch of token calls (refreshes, with the 570 s rule
set to 0 so they may follow each other) on both, in alternating order; the result is the median
of the paired strict/lenient time ratios, which other load on the machine hardly moves (issue 10:
strict must not cost more than 10 %). Pages and calls per second are the medians too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import requests

from exactlink_sandbox import Sandbox
from exactlink_sandbox.autoconsent import authorize

TOKEN_BATCH = 20


class Client:
    """A connected client of one sandbox: times a paging pass and a batch of refreshes."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.session = requests.Session()
        self.app = sb.seed["app"]
        login = sb.seed["logins"][0]
        auth = f"{sb.base_url}/api/oauth2/auth?" + urlencode(
            {
                "client_id": self.app["client_id"],
                "redirect_uri": self.app["redirect_uri"],
                "response_type": "code",
            }
        )
        location = authorize(auth, login["username"], login["password"], select="all")
        code = parse_qs(urlsplit(location).query)["code"][0]
        tokens = self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.app["redirect_uri"],
            }
        )
        self.refresh_token = tokens["refresh_token"]
        self.headers = {
            "Authorization": f"Bearer {tokens['access_token']}",
            "Accept": "application/json",
        }
        self.pages = 0

    def _token(self, form: dict) -> dict:
        form = {
            **form,
            "client_id": self.app["client_id"],
            "client_secret": self.app["client_secret"],
        }
        reply = self.session.post(f"{self.sb.base_url}/api/oauth2/token", data=form, timeout=30)
        reply.raise_for_status()
        return reply.json()

    def paging(self) -> float:
        division = self.sb.seed["firm"]["division"]
        url: str | None = f"{self.sb.base_url}/api/v1/{division}/system/Divisions"
        params: dict | None = {"$select": "Code,Description,VATNumber,Status,BlockingStatus"}
        start = time.perf_counter()
        pages = 0
        while url:
            reply = self.session.get(url, params=params, headers=self.headers, timeout=30)
            reply.raise_for_status()
            pages += 1
            url, params = reply.json()["d"].get("__next"), None
        self.pages = pages
        return time.perf_counter() - start

    def tokens(self) -> float:
        start = time.perf_counter()
        for _ in range(TOKEN_BATCH):
            form = {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
            self.refresh_token = self._token(form)["refresh_token"]
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    # Limits raised: the benchmark measures the simulator, not Exact's 60 calls a minute.
    options = {"clients": args.clients, "minutely_limit": 10**6, "too_early_seconds": 0}
    with Sandbox(**options) as strict_sb, Sandbox(profile="lenient", **options) as lenient_sb:
        clients = {"strict": Client(strict_sb), "lenient": Client(lenient_sb)}
        times: dict[str, dict[str, list[float]]] = {
            p: {"paging": [], "tokens": []} for p in clients
        }
        for pair in range(args.pairs):
            order = ("strict", "lenient") if pair % 2 else ("lenient", "strict")
            for kind in ("paging", "tokens"):
                for profile in order:
                    times[profile][kind].append(getattr(clients[profile], kind)())
        pages = clients["strict"].pages
    print(
        f"clients: {args.clients}, pages: {pages}, token calls a batch: {TOKEN_BATCH}, pairs: {args.pairs}"
    )
    for profile, kinds in times.items():
        paging, tokens = statistics.median(kinds["paging"]), statistics.median(kinds["tokens"])
        print(
            f"{profile:8} paging {pages / paging:7.1f} pages/s ({1000 * paging / pages:.2f} ms/page)"
            f"   tokens {TOKEN_BATCH / tokens:7.1f} calls/s"
        )
    worst = 0.0
    for kind in ("paging", "tokens"):
        ratios = [
            s / lenient
            for s, lenient in zip(times["strict"][kind], times["lenient"][kind], strict=True)
        ]
        ratio = statistics.median(ratios)
        worst = max(worst, ratio)
        print(f"strict / lenient time, {kind}: median of {len(ratios)} pairs {ratio:.3f}")
    print("within 10 %" if worst <= 1.10 else "OVER 10 %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
