"""Matching alone: 10,000 clients against 10,000 divisions.

    python benchmarks/bench_matching.py [--clients N] [--divisions N] [--seed S]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--divisions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

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
