"""Benchmark: the sandbox's throughput, strict profile against lenient.

Run: ``python benchmarks/bench_sandbox.py [--clients N] [--pairs P]``. One sandbox of each profile
runs side by side with N clients. Each pair times one full pass through ``system/Divisions``
(pages of 60, following ``__next``) and one batch of token calls (refreshes, with the 570 s rule
set to 0 so they may follow each other) on both, in alternating order; the result is the median
of the paired strict/lenient time ratios: the verdict (issue 10: strict must not cost more than
10 % of throughput) is on these. Each pair also times the sandbox's own work in-process (the
request handler and the token endpoint, no HTTP, no client) in CPU time, to show where the time
goes: strict's long tokens (1,200 characters) make a token call's own work about 15 µs dearer,
which is small against a round trip. Pages and calls per second are medians.
"""

from __future__ import annotations

import argparse
import json
import re
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


_PLAIN = re.compile(r"^[A-Za-z0-9._~!-]*$")


def _form_body(form: dict) -> str:
    """The form, encoded cheaply: the benchmark measures the sandbox, not the client's encoder.

    Values here are URL-safe apart from the ``!`` in codes and refresh tokens (review item 3);
    urllib's quoting walks such a value character by character in Python, which for a
    1,200-character token costs more than the sandbox's whole token call.
    """
    parts = []
    for key, value in form.items():
        if not _PLAIN.match(value):
            return urlencode(form)  # anything unusual: the slow, general way
        parts.append(f"{key}={value.replace('!', '%21')}")
    return "&".join(parts)


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
        reply = self.session.post(
            f"{self.sb.base_url}/api/oauth2/token",
            data=_form_body(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=30,
        )
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


class _Headers(dict):
    """What api.handle reads from the request headers (``get``)."""


def in_process(sb: Sandbox, client: Client, pages: int) -> tuple[float, float]:
    """CPU seconds of the sandbox's own work, without HTTP and the client: ``pages`` pages
    through the request handler, and TOKEN_BATCH refreshes through the token endpoint
    (``time.thread_time``: other load on the machine does not count)."""
    from exactlink_sandbox import api, oauth

    headers = _Headers(client.headers)
    division = sb.seed["firm"]["division"]
    path = f"/api/v1/{division}/system/Divisions"
    first = "$select=Code,Description,VATNumber,Status,BlockingStatus"
    query = first
    paging = 0.0
    for _ in range(pages):
        start = time.thread_time()
        reply = api.handle(sb.engine, "GET", path, query, headers)
        paging += time.thread_time() - start
        nxt = json.loads(reply.body)["d"].get("__next")
        query = urlsplit(nxt).query if nxt else first
    app = sb.seed["app"]
    tokens = 0.0
    for _ in range(TOKEN_BATCH):
        form = {
            "grant_type": "refresh_token",
            "refresh_token": client.refresh_token,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        }
        start = time.thread_time()
        reply = oauth.token(sb.engine, form, None)
        tokens += time.thread_time() - start  # the sandbox's work only, not reading the reply
        client.refresh_token = json.loads(reply.body)["refresh_token"]
    return paging, tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="delay every answer of both sandboxes this much (what a real firm waits)",
    )
    parser.add_argument(
        "--token-length",
        type=int,
        default=None,
        help="strict's token length (default: the profile's 1,200; 0: the short tokens of old)",
    )
    args = parser.parse_args()
    # Limits raised: the benchmark measures the simulator, not Exact's 60 calls a minute.
    options = {
        "clients": args.clients,
        "minutely_limit": 10**6,
        "too_early_seconds": 0,
        "latency_ms": args.latency_ms,
    }
    strict_options = dict(options)
    if args.token_length is not None:
        strict_options["token_length"] = args.token_length
    with (
        Sandbox(**strict_options) as strict_sb,
        Sandbox(profile="lenient", **options) as lenient_sb,
    ):
        clients = {"strict": Client(strict_sb), "lenient": Client(lenient_sb)}
        times: dict[str, dict[str, list[float]]] = {
            p: {"paging": [], "tokens": []} for p in clients
        }
        sandboxes = {"strict": strict_sb, "lenient": lenient_sb}
        cpu: dict[str, dict[str, list[float]]] = {p: {"paging": [], "tokens": []} for p in clients}
        for pair in range(args.pairs):
            order = ("strict", "lenient") if pair % 2 else ("lenient", "strict")
            for kind in ("paging", "tokens"):
                for profile in order:
                    times[profile][kind].append(getattr(clients[profile], kind)())
            for profile in order:
                paging, tokens = in_process(sandboxes[profile], clients[profile], 40)
                cpu[profile]["paging"].append(paging)
                cpu[profile]["tokens"].append(tokens)
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
    for label, table in (("over HTTP, wall time", times), ("in the sandbox, CPU time", cpu)):
        for kind in ("paging", "tokens"):
            pairs = zip(table["strict"][kind], table["lenient"][kind], strict=True)
            ratio = statistics.median(s / lenient for s, lenient in pairs)
            if table is times:
                worst = max(worst, ratio)
            print(f"strict / lenient, {label}, {kind}: {ratio:.3f} (median of {args.pairs} pairs)")
    print(
        "throughput, strict against lenient: " + ("within 10 %" if worst <= 1.10 else "OVER 10 %")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
