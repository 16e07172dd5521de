"""*Toegangsbeheer* is the portal's own access step (`client access`), never a screen of Exact
Online (reference, December 2026 notes item 8): no message of the catalogue, English or Dutch,
may place it in Exact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[1] / "src" / "exactlink" / "locale"
CATALOGUES = [LOCALE / "exactlink.pot", LOCALE / "nl" / "LC_MESSAGES" / "exactlink.po"]
# "Toegangsbeheer ... of/in its own Exact", "Exact Online > ... Toegangsbeheer" and the like.
IN_EXACT = re.compile(
    r"Toegangsbeheer[^.,;:]*?\b(of|in|van|within|binnen)\s+(its|their|the|his|her|zijn|haar|hun|de"
    r"|het)?\s*(own\s+|eigen\s+)?Exact"
    r"|Exact[^.]*>\s*[^.]*Toegangsbeheer"
    r"|Toegangsbeheer[^.]*\b(screen|menu|scherm) (of|in|van) Exact",
    re.IGNORECASE,
)
PORTAL = re.compile(r"portal|portaal|client access", re.IGNORECASE)


def messages() -> list[str]:
    found = []
    for path in CATALOGUES:
        with path.open("rb") as f:
            catalog = read_po(f)
        for message in catalog:
            for value in (message.id, message.string):
                texts = value if isinstance(value, tuple | list) else (value,)
                found += [t for t in texts if t and "Toegangsbeheer" in t]
    return found


def test_the_catalogue_names_toegangsbeheer():
    assert len(messages()) >= 4  # the pending hint, its help texts and the demo's steps


@pytest.mark.parametrize("text", messages())
def test_toegangsbeheer_is_never_a_screen_of_exact_online(text):
    assert not IN_EXACT.search(text), text
    # Each sentence that names it says whose it is: the portal's (or the command that records it).
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if "Toegangsbeheer" in sentence:
            assert PORTAL.search(sentence), sentence


def test_the_pattern_catches_the_old_wording():
    for old in (
        "Ask the client to add {email} in Toegangsbeheer (access management) of its own Exact"
        " Online account, then run `exactlink client access`.",
        "clients add its e-mail address in Toegangsbeheer of their Exact Online account.",
        "Vraag de klant {email} toe te voegen in Toegangsbeheer van zijn eigen Exact Online-account.",
    ):
        assert IN_EXACT.search(old), old
