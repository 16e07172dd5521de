"""Matching alone: 10,000 clients against 10,000 divisions (or a ladder, with and without numpy).

    python benchmarks/bench_matching.py [--clients N] [--divisions N] [--seed S]
    python benchmarks/bench_matching.py --ladder 1000,10000,20000

``--ladder`` runs each size (clients = divisions) with numpy importable and with numpy hidden (as
installed without the optional extra), checks that both give the same answers, and prints the
CPU times and their ratios to the smallest size (after a warm-up run), beside the ratios of a
pass over the same records that is linear by construction (``x linear``: what this machine makes
of linear growth, the yard stick for "close to linear"). Matching has one path now
(rapidfuzz's ``extract`` over each name's block of divisions); the old numpy ``cdist`` path
changed answers.

The divisions are the sandbox's deterministic world (realistic Dutch and Belgian names, valid
VAT and KvK/KBO numbers). The clients are built from them with a mix of evidence, so every stage
of the matcher is exercised: VAT (60 %), only KvK/KBO (10 %), only the name with a different
legal form or case (15 %), a typo in the name (10 %), unknown (5 %). Prints the wall time of
``match_clients`` (index build included) and the outcome counts, and checks the answers.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace


@dataclass(frozen=True)
class FakeClient:
    id: int
    name: str
    vat: str | None
    coc: str | None


def build(clients: int, divisions: int, seed: int):
    from exactlink_sandbox.seed import generate

    world = generate(clients=divisions, seed=seed)
    divs = [
        SimpleNamespace(
            code=c.division,
            description=c.name,
            customer_name=c.name,
            vat_number=c.vat_number,
            coc_number=c.coc_number,
            country=c.country,
        )
        for c in world.companies
        if not c.hq
    ][:divisions]
    rng = random.Random(seed)
    out, expected = [], {}
    forms = ["BV", "B.V.", "NV", "SRL", "VOF", ""]
    for i in range(clients):
        d = divs[i % len(divs)]
        roll = rng.random()
        base = d.description.rsplit(" ", 1)[0]
        if roll < 0.60:
            out.append(FakeClient(i, d.description, d.vat_number, None))
            expected[i] = ("vat", d.code)
        elif roll < 0.70:
            out.append(FakeClient(i, d.description, None, d.coc_number))
            expected[i] = ("coc", d.code)
        elif roll < 0.85:
            out.append(FakeClient(i, f"{base.upper()} {rng.choice(forms)}".strip(), None, None))
            expected[i] = ("name", d.code)
        elif roll < 0.95:
            chars = list(base)
            pos = rng.randrange(1, len(chars))
            chars.insert(pos, chars[pos - 1])  # a doubled letter: "Jansen" -> "Janssen"
            out.append(FakeClient(i, "".join(chars) + " BV", None, None))
            expected[i] = ("fuzzy", d.code)
        else:
            out.append(FakeClient(i, f"Onbekend Bedrijf {i} BV", None, None))
            expected[i] = ("none", None)
    return out, divs, expected


def timed(clients, divs, *, numpy: bool):
    import sys

    from exactlink.services.matching import clear_caches, match_clients

    clear_caches()  # each run validates every number afresh, as a new process does
    saved = sys.modules.get("numpy")
    if not numpy:
        sys.modules["numpy"] = None  # type: ignore[assignment]  # import numpy -> ImportError
    try:
        start = time.process_time()
        results = match_clients(clients, divs)
        return time.process_time() - start, results
    finally:
        if not numpy:
            if saved is None:
                sys.modules.pop("numpy", None)
            else:
                sys.modules["numpy"] = saved


def linear_pass(clients, divs) -> float:
    """CPU seconds of a pass that is linear by construction over the same records: a dict of
    every division's token-sorted name and VAT number, one lookup per client. Its growth is what
    this machine makes of "linear" (a bigger working set misses the CPU caches more), the yard
    stick for matching's. The best of three."""

    def once() -> float:
        start = time.process_time()
        index: dict[object, list[int]] = {}
        for d in divs:
            index.setdefault(" ".join(sorted(d.description.casefold().split())), []).append(d.code)
            index.setdefault((d.vat_number or "").upper(), []).append(d.code)
        sum(1 for c in clients if " ".join(sorted(c.name.casefold().split())) in index)
        return time.process_time() - start

    once()
    return min(once() for _ in range(3))


def ladder(sizes: list[int], seed: int) -> None:
    """CPU seconds (``process_time``: a busy machine's other work is not counted) after a small
    warm-up run, so the first size does not carry python-stdnum's and rapidfuzz's imports."""
    warm_clients, warm_divs, _ = build(300, 300, seed)
    timed(warm_clients, warm_divs, numpy=True)
    print(
        f"{'size':>7} {'numpy s':>8} {'plain s':>8} {'x numpy':>8} {'x plain':>8}"
        f" {'x linear':>9}  same (CPU s)"
    )
    base: tuple[float, float, float] | None = None
    for n in sizes:
        clients, divs, _expected = build(n, n, seed)
        with_np, a = timed(clients, divs, numpy=True)
        without, b = timed(clients, divs, numpy=False)
        linear = linear_pass(clients, divs)
        same = a == b
        base = base or (with_np, without, linear)
        print(
            f"{n:>7,} {with_np:>8.2f} {without:>8.2f} {with_np / base[0]:>8.1f}"
            f" {without / base[1]:>8.1f} {linear / base[2]:>9.1f}  {'yes' if same else 'NO'}"
        )
        if not same:
            raise SystemExit("numpy and plain paths disagree")
    print("x linear: a pass that is linear by construction over the same records (linear_pass)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--divisions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ladder", help="sizes, comma separated: both paths at each size")
    args = parser.parse_args()
    if args.ladder:
        ladder([int(x) for x in args.ladder.split(",")], args.seed)
        return

    from exactlink.services.matching import MATCHED, match_clients

    clients, divs, expected = build(args.clients, args.divisions, args.seed)
    start = time.perf_counter()
    results = match_clients(clients, divs)
    elapsed = time.perf_counter() - start

    outcomes = Counter(m.outcome for m in results.values())
    by = Counter(m.by for m in results.values() if m.outcome == MATCHED)
    wrong = sum(
        1 for cid, m in results.items() if m.outcome == MATCHED and m.division != expected[cid][1]
    )
    fuzzy_total = sum(1 for kind, _ in expected.values() if kind == "fuzzy")
    fuzzy_found = sum(
        1
        for cid, (kind, code) in expected.items()
        if kind == "fuzzy" and results[cid].division == code
    )
    print(f"clients x divisions : {len(clients):,} x {len(divs):,}")
    print(f"match_clients       : {elapsed:.2f} s")
    print(f"outcomes            : {dict(outcomes)}")
    print(f"matched by          : {dict(by)}")
    print(f"fuzzy typos matched : {fuzzy_found}/{fuzzy_total} (the rest: ambiguous, no guess)")
    print(f"wrong matches       : {wrong}")


if __name__ == "__main__":
    main()
