"""Match client accounts to Exact administrations (divisions) without guessing.

Order of evidence, strongest first (DESIGN.md "Activation and matching"):

1. the VAT number, normalised on both sides (python-stdnum through ``services.identifiers``);
2. the chamber of commerce number: Dutch KvK, Belgian KBO/BCE enterprise number (a Belgian VAT
   number *is* the enterprise number with ``BE`` in front, so either side may supply it);
3. the name: legal forms (BV, B.V., NV, BVBA, SRL, VOF, CommV, ...) stripped, accents, case and
   punctuation folded; an identical normalised name first, then a rapidfuzz score that must be
   above a threshold *and* a margin ahead of the runner-up.

Anything less than one clear winner is *ambiguous* (with the candidates and their scores) or
*missing*: the person picks, or ``doctor`` explains. The work is O(clients + divisions) through
dict indexes; only the clients left over after the exact keys are compared fuzzily, with
rapidfuzz's C++ scorers, against the divisions that share a word start with them (blocking).

Each identifier is normalised once: a VAT number (python-stdnum's validation is most of the
linear work) is validated once per distinct number, however many records carry it (a client's and
its administration's are usually the same), and each name's token-sorted form is computed once,
not by the scorer for every pair (``token_sort_ratio`` is ``ratio`` of the token-sorted strings).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple, Protocol

from exactlink.services.identifiers import try_normalize_coc, try_normalize_vat

MATCHED = "matched"
AMBIGUOUS = "ambiguous"
MISSING = "missing"

BY_VAT = "vat"
BY_COC = "coc"
BY_NAME = "name"
BY_MANUAL = "manual"

# A fuzzy name match must score at least this (0-100, rapidfuzz token_sort_ratio on normalised
# names) and beat the runner-up by MARGIN: "Bakkerij Jansen" must not silently become
# "Bakkerij Janssen" when both exist.
THRESHOLD = 90.0
MARGIN = 5.0
# How many candidates an ambiguous or missing result lists (the portal's list of dossiers).
MAX_CANDIDATES = 5
# Candidates shown for a missing client must at least look alike.
SUGGEST_FLOOR = 60.0
# A word start shared by more divisions than this is too common to narrow the fuzzy search.
BLOCK_CAP = 500

# Legal forms, written as they look after dots are removed and case folded ("B.V." -> "bv",
# "Comm.V" -> "commv", "V.O.F." -> "vof"). Netherlands, Belgium (nl/fr), Germany, the UK, France.
# fmt: off
LEGAL_FORMS = frozenset({
    "bv", "nv", "vof", "cv", "maatschap", "eenmanszaak", "ez", "stichting", "coop", "cooperatie",
    "ua", "bvba", "cvba", "commv", "commva", "comm", "va", "vzw", "ivzw", "bvio", "srl", "sprl",
    "sa", "sc", "scrl", "scri", "scomm", "scs", "sca", "snc", "asbl", "aisbl", "sas", "sasu",
    "sarl", "eurl", "gmbh", "ag", "kg", "ohg", "ug", "mbh", "kgaa", "ltd", "llp", "plc", "inc",
    "llc",
})
# fmt: on
_DOTS = re.compile(r"\.")
_NON_WORD = re.compile(r"[^\w]+")
_SEPARATORS = re.compile(r"[\s.\-/]+")
# Distinct identifiers remembered per process (a firm's clients and administrations, twice over).
_CACHE_SIZE = 1 << 17


def clear_caches() -> None:
    """Forget the normalised identifiers (benchmarks time a cold run)."""
    normalize_name.cache_clear()
    _vat_key.cache_clear()
    _coc_key.cache_clear()


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_name(name: str | None) -> str:
    """``"Café Liègeois Dubois S.A."`` -> ``"cafe liegeois dubois"``.

    Accents are removed (NFKD, combining marks dropped), case folded, dots removed inside words
    (so ``B.V.`` and ``BV`` meet), other punctuation becomes a space, and legal forms are stripped
    at either end (``BV Jansen`` and ``Jansen B.V.``). A name made only of a legal form keeps it.
    """
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _DOTS.sub("", text).replace("&", " ")
    words = [w for w in _NON_WORD.sub(" ", text).replace("_", " ").split() if w]
    kept = list(words)
    while len(kept) > 1 and kept[-1] in LEGAL_FORMS:
        kept.pop()
    while len(kept) > 1 and kept[0] in LEGAL_FORMS:
        kept.pop(0)
    return " ".join(kept)


def _compact(value: str | None) -> str | None:
    if not value:
        return None
    text = _SEPARATORS.sub("", value).upper()
    return text or None


def vat_key(value: str | None, country: str | None = None) -> str | None:
    """The VAT number as matching compares it: normalised when valid, else compacted.

    An invalid number (a typo in Exact's division card) still matches the same typo on the
    client, but never a different number. Validated once per distinct number: a number with its
    country prefix does not depend on ``country``.
    """
    compact = _compact(value)
    if compact is None:
        return None
    return _vat_key(compact, None if compact[:2].isalpha() else country)


@lru_cache(maxsize=_CACHE_SIZE)
def _vat_key(compact: str, country: str | None) -> str:
    return try_normalize_vat(compact, country) or compact


def coc_key(value: str | None, country: str | None = None) -> str | None:
    """The chamber of commerce number as matching compares it (KvK 8 digits, KBO 10 digits)."""
    compact = _compact(value)
    if compact is None:
        return None
    hint = country if country in ("BE", "NL") and compact[:2] not in ("BE", "NL") else None
    return _coc_key(compact, hint)


@lru_cache(maxsize=_CACHE_SIZE)
def _coc_key(compact: str, country: str | None) -> str:
    return try_normalize_coc(compact, country) or compact


def _token_sorted(norm: str) -> str:
    """What ``token_sort_ratio`` compares: the words sorted (a normalised name has single
    spaces), so ``ratio`` of two of these is ``token_sort_ratio`` of the names."""
    return " ".join(sorted(norm.split()))


def coc_from_vat(vat: str | None) -> str | None:
    """A Belgian VAT number is ``BE`` + the enterprise number (KBO/BCE)."""
    if vat and vat.startswith("BE") and vat[2:].isdigit() and len(vat) == 12:
        return vat[2:]
    return None


_coc_from_vat = coc_from_vat


class ClientLike(Protocol):
    """What matching reads from a client (``models.Client`` fits)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def vat(self) -> str | None: ...
    @property
    def coc(self) -> str | None: ...


class DivisionLike(Protocol):
    """What matching reads from a division (``models.Division`` fits)."""

    @property
    def code(self) -> int: ...
    @property
    def description(self) -> str: ...
    @property
    def customer_name(self) -> str | None: ...
    @property
    def vat_number(self) -> str | None: ...
    @property
    def coc_number(self) -> str | None: ...
    @property
    def country(self) -> str | None: ...


@dataclass(frozen=True)
class Candidate:
    """A division that might be the client's, with how sure we are (0-100)."""

    division: int
    name: str
    score: float
    by: str

    def to_dict(self) -> dict[str, object]:
        return {"division": self.division, "name": self.name, "score": self.score, "by": self.by}


@dataclass(frozen=True)
class Match:
    """The outcome for one client: matched (one division), ambiguous (candidates) or missing."""

    client_id: int
    outcome: str
    division: int | None = None
    by: str | None = None
    score: float | None = None
    candidates: tuple[Candidate, ...] = field(default=())
    note: str | None = None

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "outcome": self.outcome,
            "division": self.division,
            "matched_by": self.by,
            "score": self.score,
            "candidates": [c.to_dict() for c in self.candidates],
        }
        if self.note:
            data["note"] = self.note
        return data


@dataclass(slots=True)
class _Indexed:
    code: int
    name: str
    norm: str


class DivisionIndex:
    """Dict indexes over a division list: VAT, chamber of commerce, exact normalised name."""

    def __init__(self, divisions: Iterable[DivisionLike]) -> None:
        self.by_code: dict[int, _Indexed] = {}
        self.vat_of: dict[int, str] = {}
        self.vat: dict[str, list[int]] = {}
        self.coc: dict[str, list[int]] = {}
        self.name: dict[str, list[int]] = {}
        for division in divisions:
            code = division.code
            norm = normalize_name(division.description)
            self.by_code[code] = _Indexed(code, division.description, norm)
            vat = vat_key(division.vat_number, division.country)
            if vat:
                self.vat.setdefault(vat, []).append(code)
                self.vat_of[code] = vat
            coc = coc_key(division.coc_number, division.country)
            if coc:
                self.coc.setdefault(coc, []).append(code)
            other = _coc_from_vat(vat)
            if other and other != coc:
                self.coc.setdefault(other, []).append(code)
            if norm:
                self.name.setdefault(norm, []).append(code)
            customer = normalize_name(division.customer_name)
            if customer and customer != norm:
                self.name.setdefault(customer, []).append(code)
        self._codes = list(self.by_code)
        self._norms = [self.by_code[code].norm for code in self._codes]
        self._sorted = [_token_sorted(norm) for norm in self._norms]
        self._choices: dict[tuple[str, ...], tuple[list[int], list[str]]] = {}
        self._blocks: dict[str, list[int]] = {}
        for position, norm in enumerate(self._norms):
            for key in _block_keys(norm):
                self._blocks.setdefault(key, []).append(position)

    def candidate(self, code: int, score: float, by: str) -> Candidate:
        entry = self.by_code[code]
        return Candidate(division=code, name=entry.name, score=round(score, 1), by=by)

    def compatible(self, vat: str | None, candidates: list[Candidate]) -> list[Candidate]:
        """Drop candidates whose VAT number contradicts the client's: a name never outweighs
        two different VAT numbers."""
        if not vat:
            return candidates
        return [c for c in candidates if self.vat_of.get(c.division, vat) == vat]

    def fuzzy(
        self, norm: str, *, limit: int = MAX_CANDIDATES, floor: float = 0.0
    ) -> list[Candidate]:
        """The best-scoring divisions for one normalised name, best first."""
        from rapidfuzz import fuzz, process

        if not norm or not self._norms:
            return []
        found = process.extract(
            _token_sorted(norm), self._sorted, scorer=fuzz.ratio, limit=limit, score_cutoff=floor
        )
        return [self.candidate(self._codes[i], score, BY_NAME) for _n, score, i in found]

    def _block(self, norm: str) -> list[int]:
        """The divisions worth scoring for one name: those sharing a word start with it.

        Scoring every name against every division is quadratic (10k clients took 44 x the time
        of 1k); a name that shares no three-letter word start with another cannot reach the
        threshold in practice. Word starts shared by more than BLOCK_CAP divisions ("de",
        "bak") are skipped while a rarer one is there, so a run grows close to linearly.
        """
        return self._block_choices(norm)[0]

    def _block_choices(self, norm: str) -> tuple[list[int], list[str]]:
        """The block's positions and their token-sorted names, built once per set of word
        starts (names sharing them share the list)."""
        keys = sorted(k for k in _block_keys(norm) if k in self._blocks)
        if not keys:
            return [], []
        small = [k for k in keys if len(self._blocks[k]) <= BLOCK_CAP]
        if not small:  # the rarest of the common ones (the first of equals, as min() picks)
            small = [min(keys, key=lambda k: len(self._blocks[k]))]
        chosen = tuple(small)
        found = self._choices.get(chosen)
        if found is None:
            if len(chosen) == 1:
                where = self._blocks[chosen[0]]  # ascending already, each position once
            else:
                where = sorted(set().union(*(self._blocks[k] for k in chosen)))
            found = (where, [self._sorted[i] for i in where])
            self._choices[chosen] = found
        return found

    def fuzzy_many(self, norms: Sequence[str], *, floor: float) -> list[list[Candidate]]:
        """``fuzzy`` for many names at once, each scored only against its block (``_block``).

        One path, in list order, with or without numpy: the earlier numpy ``cdist`` path
        scored in uint8 (rounded, and wrapped around when negated) and changed answers.
        """
        from rapidfuzz import fuzz, process

        out: list[list[Candidate]] = []
        for norm in norms:
            where, choices = self._block_choices(norm) if norm else ([], [])
            found = process.extract(
                _token_sorted(norm),
                choices,
                scorer=fuzz.ratio,
                limit=MAX_CANDIDATES,
                score_cutoff=floor,
            )
            out.append(
                [self.candidate(self._codes[where[j]], score, BY_NAME) for _n, score, j in found]
            )
        return out


def _block_keys(norm: str) -> set[str]:
    return {word[:3] for word in norm.split()}


def _decide_fuzzy(
    client_id: int, candidates: list[Candidate], threshold: float, margin: float
) -> Match:
    if not candidates:
        return Match(client_id, MISSING)
    best = candidates[0]
    runner = candidates[1].score if len(candidates) > 1 else 0.0
    if best.score >= threshold and best.score - runner >= margin:
        return Match(client_id, MATCHED, best.division, BY_NAME, best.score, (best,))
    if best.score >= threshold:
        return Match(client_id, AMBIGUOUS, candidates=tuple(candidates))
    shown = tuple(c for c in candidates if c.score >= SUGGEST_FLOOR)
    return Match(client_id, MISSING, candidates=shown)


class _Keys(NamedTuple):
    """A client's matching keys, normalised once."""

    vat: str | None
    coc: str | None
    norm: str


def _keys(client: ClientLike) -> _Keys:
    vat = vat_key(client.vat)
    return _Keys(vat, coc_key(client.coc) or _coc_from_vat(vat), normalize_name(client.name))


def match_clients(
    clients: Iterable[ClientLike],
    divisions: Iterable[DivisionLike],
    *,
    threshold: float = THRESHOLD,
    margin: float = MARGIN,
) -> dict[int, Match]:
    """Match every client to at most one division; returns ``{client_id: Match}``.

    Two clients that land on the same division by the same evidence are both reported
    ambiguous: activating either would take the division from the other.
    """
    index = DivisionIndex(divisions)
    results: dict[int, Match] = {}
    leftovers: list[tuple[int, _Keys]] = []
    for client in clients:
        keys = _keys(client)
        match = _match_exact(client.id, keys, index)
        if match is None:
            leftovers.append((client.id, keys))
        else:
            results[client.id] = match
    if leftovers:
        floor = min(threshold, SUGGEST_FLOOR)
        found = index.fuzzy_many([keys.norm for _id, keys in leftovers], floor=floor)
        for (client_id, keys), candidates in zip(leftovers, found, strict=True):
            candidates = index.compatible(keys.vat, candidates)
            results[client_id] = _decide_fuzzy(client_id, candidates, threshold, margin)
    return _unclaim_shared(results)


def _match_exact(client_id: int, keys: _Keys, index: DivisionIndex) -> Match | None:
    """VAT, then KvK/KBO, then the identical normalised name; None: try fuzzy."""
    vat, coc, norm = keys
    for by, key, table in ((BY_VAT, vat, index.vat), (BY_COC, coc, index.coc)):
        codes = table.get(key) if key else None
        if not codes:
            continue
        if len(codes) == 1:
            return Match(
                client_id, MATCHED, codes[0], by, 100.0, (index.candidate(codes[0], 100, by),)
            )
        # Several administrations of one company (the same VAT number): the name decides, and
        # only when exactly one of them carries the client's name.
        named = [code for code in codes if index.by_code[code].norm == norm]
        if len(named) == 1:
            return Match(
                client_id, MATCHED, named[0], by, 100.0, (index.candidate(named[0], 100, by),)
            )
        return Match(
            client_id,
            AMBIGUOUS,
            candidates=tuple(index.candidate(code, 100, by) for code in codes[:MAX_CANDIDATES]),
            note="several administrations share this number",
        )
    codes = index.name.get(norm) if norm else None
    if codes:
        unique = [
            c.division
            for c in index.compatible(
                vat, [index.candidate(code, 100, BY_NAME) for code in dict.fromkeys(codes)]
            )
        ]
        if not unique:
            return Match(
                client_id,
                MISSING,
                candidates=tuple(index.candidate(c, 100, BY_NAME) for c in dict.fromkeys(codes)),
                note="an administration has this name but another VAT number",
            )
        if len(unique) == 1:
            code = unique[0]
            return Match(
                client_id, MATCHED, code, BY_NAME, 100.0, (index.candidate(code, 100, BY_NAME),)
            )
        return Match(
            client_id,
            AMBIGUOUS,
            candidates=tuple(index.candidate(c, 100, BY_NAME) for c in unique[:MAX_CANDIDATES]),
            note="several administrations have this name",
        )
    return None


def _unclaim_shared(results: dict[int, Match]) -> dict[int, Match]:
    claims: dict[int, list[int]] = {}
    for client_id, match in results.items():
        if match.outcome == MATCHED and match.division is not None:
            claims.setdefault(match.division, []).append(client_id)
    for _division, client_ids in claims.items():
        if len(client_ids) < 2:
            continue
        for client_id in client_ids:
            old = results[client_id]
            results[client_id] = Match(
                client_id,
                AMBIGUOUS,
                candidates=old.candidates,
                note="another client matches the same administration",
            )
    return results


def match_client(
    client: ClientLike,
    divisions: Iterable[DivisionLike],
    *,
    threshold: float = THRESHOLD,
    margin: float = MARGIN,
) -> Match:
    """One client; ambiguous and missing results list the best candidates for a picker."""
    index = DivisionIndex(divisions)
    keys = _keys(client)
    match = _match_exact(client.id, keys, index)
    if match is not None:
        return match
    candidates = index.compatible(keys.vat, index.fuzzy(keys.norm, floor=0.0))
    decided = _decide_fuzzy(client.id, candidates, threshold, margin)
    if decided.outcome == MISSING:
        # For the picker: the closest names first, even when none is close enough to guess.
        return Match(client.id, MISSING, candidates=tuple(candidates))
    return decided
