"""VAT, KBO/KvK and e-mail normalisation (python-stdnum underneath)."""

from __future__ import annotations

import pytest

from exactlink.errors import InvalidInput
from exactlink.services.identifiers import (
    clean_name,
    normalize_coc,
    normalize_email,
    normalize_vat,
    try_normalize_coc,
    try_normalize_vat,
)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("BE 0403.170.701", "BE0403170701"),
        ("be0403170701", "BE0403170701"),
        ("0403.170.701", "BE0403170701"),  # Belgian form without prefix
        ("403170701", "BE0403170701"),  # old 9-digit Belgian number
        ("NL004495445B01", "NL004495445B01"),
        ("004495445B01", "NL004495445B01"),  # Dutch form without prefix
        ("DE 136 695 976", "DE136695976"),
        ("FR 40 303 265 045", "FR40303265045"),
        ("ES B-58378431", "ESB58378431"),
        ("LU 150 274 42", "LU15027442"),
        ("GB 980 7806 84", "GB980780684"),
    ],
)
def test_normalize_vat(given, stored):
    assert normalize_vat(given) == stored
    assert try_normalize_vat(given) == stored


def test_vat_country_hint():
    assert normalize_vat("136695976", "DE") == "DE136695976"
    assert try_normalize_vat("136695976", "de") == "DE136695976"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("BE0403170702", "check digits"),
        ("BE12", "wrong number of digits"),
        ("12345", "no country prefix"),
        ("", "empty"),
        ("QQ123456789", "not supported"),
        ("NL12345678ZZ", "do not belong there"),
    ],
)
def test_invalid_vat(given, reason):
    with pytest.raises(InvalidInput) as caught:
        normalize_vat(given)
    assert reason in caught.value.message
    assert caught.value.hint and "BE0403170701" in caught.value.hint
    assert caught.value.exit_code == 2
    assert try_normalize_vat(given) is None


@pytest.mark.parametrize(
    ("given", "hint", "stored"),
    [
        ("0403.170.701", None, "0403170701"),
        ("BE 0403 170 701", None, "0403170701"),
        ("403170701", "BE", "0403170701"),
        ("12345678", None, "12345678"),
        ("1234 5678", "NL", "12345678"),
        ("NL12345678", None, "12345678"),
    ],
)
def test_normalize_coc(given, hint, stored):
    assert normalize_coc(given, hint) == stored
    assert try_normalize_coc(given, hint) == stored


@pytest.mark.parametrize(
    ("given", "hint", "reason"),
    [
        ("0403.170.702", None, "Invalid enterprise number"),
        ("1234567", "NL", "must have 8 digits"),
        ("00000000", None, "must have 8 digits"),
        ("12AB5678", None, "only digits"),
        ("", None, "empty"),
        ("123456789", "DE", "only Belgian and Dutch"),
    ],
)
def test_invalid_coc(given, hint, reason):
    with pytest.raises(InvalidInput) as caught:
        normalize_coc(given, hint)
    assert reason in caught.value.message
    assert try_normalize_coc(given, hint) is None


def test_try_functions_accept_none():
    assert try_normalize_vat(None) is None
    assert try_normalize_coc(None) is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("  Jan.Peeters@Kantoor.BE ", "Jan.Peeters@kantoor.be"),
        ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
    ],
)
def test_normalize_email(given, stored):
    assert normalize_email(given) == stored


@pytest.mark.parametrize(
    "given",
    [
        "",
        "plain",
        "a@b",
        "a@@b.be",
        "a b@c.be",
        "Jan <jan@x.be>",
        "a@b.be,c@d.be",
        "a@-x.be",
        "x" * 250 + "@b.be",
    ],
)
def test_invalid_email(given):
    with pytest.raises(InvalidInput):
        normalize_email(given)


def test_clean_name():
    assert clean_name("  Bakkerij   Peeters\tBV ", what="client") == "Bakkerij Peeters BV"
    for bad in ("", "   ", "a\x00b", "x" * 121):
        with pytest.raises(InvalidInput):
            clean_name(bad, what="client")
