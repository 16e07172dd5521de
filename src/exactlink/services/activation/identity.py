"""How a hand-picked division compares with the client it is meant for.

``exact activate --client X --division D`` trusts a person's choice of code; a typo there links
the client to another company's books. Before anything is written the division's VAT number and
KvK/KBO number (normalised as matching does, python-stdnum) and its name are compared with the
client's: a number on both sides that differs is a *mismatch*, an equal number is a *strong*
match, and without a number to compare the name decides (strong at matching's threshold, weak
from its suggestion floor, a mismatch below it). The rules (`rules.check_identity`) refuse a
mismatch unless ``--force`` and warn about a weak match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exactlink.i18n import _
from exactlink.models import Client, Division
from exactlink.services import matching

SAME = "same"
DIFFERS = "differs"
UNKNOWN = "unknown"  # not on one side (or either)

STRONG = "strong"
WEAK = "weak"
MISMATCH = "mismatch"


def _compare(a: str | None, b: str | None) -> str:
    if not a or not b:
        return UNKNOWN
    return SAME if a == b else DIFFERS


def _coc(coc: str | None, vat: str | None, country: str | None = None) -> str | None:
    return matching.coc_key(coc, country) or matching.coc_from_vat(vat)


@dataclass(frozen=True)
class Identity:
    """The comparison of one client with one division, field by field."""

    client: Client
    division: Division
    vat: str
    coc: str
    name_score: float

    @property
    def strength(self) -> str:
        if DIFFERS in (self.vat, self.coc):
            return MISMATCH
        if SAME in (self.vat, self.coc) or self.name_score >= matching.THRESHOLD:
            return STRONG
        return WEAK if self.name_score >= matching.SUGGEST_FLOOR else MISMATCH

    def differences(self) -> list[str]:
        """What differs, in words: the numbers first, the name only when no number agrees."""
        c, d = self.client, self.division
        out = []
        if self.vat == DIFFERS:
            out.append(
                _("VAT number {client} ≠ {division}").format(client=c.vat, division=d.vat_number)
            )
        if self.coc == DIFFERS:
            out.append(
                _("KvK/KBO number {client} ≠ {division}").format(
                    client=c.coc or c.vat, division=d.coc_number or d.vat_number
                )
            )
        if self.strength != STRONG and SAME not in (self.vat, self.coc):
            out.append(
                _("name '{client}' ≠ '{division}' (similarity {score:g} of 100)").format(
                    client=c.name, division=d.description, score=self.name_score
                )
            )
        return out

    def warnings(self, *, practice: bool) -> tuple[str, ...]:
        """For a division allowed anyway: a weak match (or one forced past a refusal)."""
        out = []
        code, client = self.division.code, self.client.name
        if self.strength in (WEAK, MISMATCH):
            out.append(
                _(
                    "Administration {code} is only a weak match for client '{client}': {what}."
                ).format(code=code, client=client, what="; ".join(self.differences()))
            )
        if practice:
            out.append(
                _("Administration {code} is the firm's own practice administration.").format(
                    code=code
                )
            )
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.strength,
            "vat": self.vat,
            "coc": self.coc,
            "name_score": self.name_score,
            "differs": self.differences(),
        }


def compare(client: Client, division: Division) -> Identity:
    """Compare the client's VAT, KvK/KBO number and name with the division's."""
    from rapidfuzz import fuzz

    client_vat = matching.vat_key(client.vat)
    division_vat = matching.vat_key(division.vat_number, division.country)
    client_coc = _coc(client.coc, client_vat)
    division_coc = _coc(division.coc_number, division_vat, division.country)
    norm = matching.normalize_name(client.name)
    names = {matching.normalize_name(division.description)}
    names.add(matching.normalize_name(division.customer_name))
    score = max((fuzz.token_sort_ratio(norm, n) for n in names if n), default=0.0)
    return Identity(
        client,
        division,
        _compare(client_vat, division_vat),
        _compare(client_coc, division_coc),
        round(float(score), 1),
    )
