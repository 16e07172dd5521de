"""Matching clients to divisions: VAT, KvK/KBO, name; no guesses; fast enough for 10,000s."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from exactlink.services.matching import (
    AMBIGUOUS,
    MATCHED,
    MISSING,
    match_client,
    match_clients,
    normalize_name,
)


@dataclass(frozen=True)
class C:
    id: int
    name: str
    vat: str | None = None
    coc: str | None = None


def D(code, name, vat=None, coc=None, country="NL"):
    return SimpleNamespace(
        code=code,
        description=name,
        customer_name=name,
        vat_number=vat,
        coc_number=coc,
        country=country,
    )


DIVS = [
    D(1, "Bakkerij de Vries B.V.", "NL123456782B01", "12345678"),
    D(2, "Peeters Bouw BVBA", "BE0403170701", "0403170701", "BE"),
    D(3, "Café Liègeois Dubois SA", country="BE"),
    D(4, "Jansen & Zonen V.O.F."),
    D(5, "Bakkerij Jansen BV"),
    D(6, "Bakkerij Janssen BV"),
]


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Café Liègeois Dubois S.A.", "cafe liegeois dubois"),
        ("BV Jansen", "jansen"),
        ("Jansen B.V.", "jansen"),
        ("Peeters & Zonen V.O.F.", "peeters zonen"),
        ("Van Damme Comm.V", "van damme"),
        ("Brouwerij Maes CommV", "brouwerij maes"),
        ("De Smet VZW", "de smet"),
        ("Müller GmbH", "muller"),
        ("B.V.", "bv"),
        ("  BAKKERIJ   de vries, bv ", "bakkerij de vries"),
    ],
)
def test_normalize_name(raw, norm):
    assert normalize_name(raw) == norm


def test_vat_is_normalised_on_both_sides():
    m = match_client(C(1, "Iets", vat="nl 1234.56782.b01"), DIVS)
    assert (m.outcome, m.division, m.by) == (MATCHED, 1, "vat")


def test_kbo_from_a_belgian_vat_number_and_kvk():
    assert match_client(C(1, "x", coc="0403.170.701"), DIVS).by == "coc"
    assert match_client(C(1, "x", coc="12345678"), DIVS).division == 1


def test_name_with_other_legal_form_accents_and_case():
    m = match_client(C(1, "CAFE LIEGEOIS DUBOIS"), DIVS)
    assert (m.outcome, m.division, m.by) == (MATCHED, 3, "name")


def test_close_names_are_ambiguous_not_guessed():
    m = match_client(C(1, "Bakkerij Jansenn"), DIVS)
    assert m.outcome == AMBIGUOUS
    assert {c.division for c in m.candidates[:2]} == {5, 6}


def test_missing_lists_the_closest_for_the_picker():
    m = match_client(C(1, "Transport Visser"), DIVS)
    assert m.outcome == MISSING
    assert len(m.candidates) == 5  # best first; the picker lists the rest after them
    assert m.candidates[0].score >= m.candidates[-1].score


def test_a_name_never_outweighs_a_different_vat_number():
    m = match_client(C(1, "Bakkerij de Vries", vat="NL004495445B01"), DIVS)
    assert m.outcome == MISSING


def test_two_divisions_with_one_vat_number_need_the_name():
    divs = [D(1, "Holding X BV", "NL123456782B01"), D(2, "Werkmaatschappij X BV", "NL123456782B01")]
    assert match_client(C(1, "Werkmaatschappij X", vat="NL123456782B01"), divs).division == 2
    assert match_client(C(1, "Y", vat="NL123456782B01"), divs).outcome == AMBIGUOUS


def test_two_clients_on_one_division_are_both_ambiguous():
    out = match_clients([C(1, "a", vat="NL123456782B01"), C(2, "b", vat="NL123456782B01")], DIVS)
    assert out[1].outcome == out[2].outcome == AMBIGUOUS


def test_ten_thousand_by_ten_thousand_is_fast():
    divs = [D(i, f"Bedrijf {i:05d} Nummer {i * 7 % 10007} BV", f"X{i}") for i in range(10_000)]
    clients = [
        C(
            i,
            f"bedrijf {i:05d} nummer {i * 7 % 10007}" if i % 2 else "zz",
            f"X{i}" if i % 2 == 0 else None,
        )
        for i in range(10_000)
    ]
    # CPU time, not wall time: the workers of a parallel run (and whatever else the machine
    # runs) share the cores, and this is about what matching itself costs.
    start = time.process_time()
    out = match_clients(clients, divs)
    assert time.process_time() - start < 10
    assert sum(1 for m in out.values() if m.outcome == MATCHED) >= 9_000


def test_the_same_answers_with_and_without_numpy(monkeypatch):
    """At firm scale (2,000 x 2,000, typos and look-alikes) numpy must change nothing: the old
    uint8 ``cdist`` path wrapped around and turned matches into "missing"."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_matching import build

    from exactlink.services.matching import MATCHED, match_clients

    clients, divs, expected = build(2000, 2000, 7)
    with_numpy = match_clients(clients, divs)
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` now raises ImportError
    without = match_clients(clients, divs)
    assert with_numpy == without
    matched = [m for m in without.values() if m.outcome == MATCHED]
    assert len(matched) > 1500
    assert all(m.division == expected[m.client_id][1] for m in matched)


def test_normalised_once_gives_what_validating_every_time_gives():
    """The cached keys and the token-sorted ``ratio`` are the plain definitions: python-stdnum
    on every number, ``token_sort_ratio`` on every pair (sandbox names, accents, legal forms,
    typos, numbers with and without prefix, invalid ones)."""
    import sys
    from pathlib import Path

    from rapidfuzz import fuzz

    from exactlink.services import matching
    from exactlink.services.identifiers import try_normalize_coc, try_normalize_vat

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_matching import build

    clients, divs, _expected = build(600, 600, 3)
    numbers = [(d.vat_number, d.country) for d in divs] + [(c.vat, None) for c in clients]
    numbers += [("nl 0044.95445 b01", None), ("0403170701", "BE"), ("123456789B01", None)]
    numbers += [("NL123456789B02", "NL"), ("BE0403170702", None), (" ", None), ("x", "NL")]
    matching.clear_caches()
    for value, country in numbers * 2:  # the second time from the cache
        compact = matching._compact(value)
        plain = (try_normalize_vat(value, country) or compact) if value else None
        assert matching.vat_key(value, country) == plain, (value, country)
    for value, country in [(d.coc_number, d.country) for d in divs] * 2 + [
        ("BE 0403.170.701", None)
    ]:
        hint = country if country in ("BE", "NL") else None
        plain = (try_normalize_coc(value, hint) or matching._compact(value)) if value else None
        assert matching.coc_key(value, country) == plain, (value, country)
    names = [matching.normalize_name(d.description) for d in divs]
    names += [matching.normalize_name(c.name) for c in clients]
    for a, b in zip(names, reversed(names), strict=True):
        sorted_a, sorted_b = matching._token_sorted(a), matching._token_sorted(b)
        assert fuzz.ratio(sorted_a, sorted_b) == fuzz.token_sort_ratio(a, b)
