"""Identifiers of a company: VAT numbers, chamber of commerce numbers, e-mail addresses.

Everything is stored normalised (the forms below), so comparing two clients, or a client with an
Exact division's ``VATNumber``/``ChamberOfCommerceNumber``, is a plain string comparison:

- VAT: compact, upper case, with its country prefix: ``BE0403170701``, ``NL004495445B01``,
  ``GB980780684``; validated with python-stdnum (check digits, length, format).
- Chamber of commerce: a Belgian enterprise number (KBO/BCE, 10 digits, ``0403170701``) or a
  Dutch KvK number (8 digits, ``12345678``).
- E-mail: trimmed, the domain in lower case (the local part is case-sensitive by RFC 5321).

The raising ``normalize_*`` functions validate input from people (exit 2 with a useful message);
the ``try_normalize_*`` ones return None instead and are for matching data Exact returns.

python-stdnum's country modules are imported only when a number is validated, so commands that do
not validate (``client list``) do not pay for them.
"""

from __future__ import annotations

import re

from exactlink.errors import InvalidInput
from exactlink.i18n import _

# Patterns as strings: `re` compiles (and caches) one on first use, so importing this module
# costs nothing for commands that validate nothing (`portal list`, `client list`).
# Separators people type inside numbers: spaces, dots, dashes, slashes.
_SEPARATORS = r"[\s.\-/]+"
_NL_VAT_BODY = r"\d{9}B\d{2}"
_EU_PREFIXES = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split()  # noqa: SIM905
)
VAT_EXAMPLE = "BE0403170701"

# A pragmatic e-mail check (no quoted local parts, no IP literals): what an Exact Online
# Toegangsbeheer invitation accepts in practice.
_EMAIL = (
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
MAX_EMAIL_LENGTH = 254


def _reason(exc: Exception) -> str:
    """A person's reading of python-stdnum's exception classes."""
    kind = type(exc).__name__
    return {
        "InvalidChecksum": _("the check digits do not match (a typo?)"),
        "InvalidLength": _("it has the wrong number of digits"),
        "InvalidFormat": _("it contains characters that do not belong there"),
        "InvalidComponent": _("a part of it (such as the country code) is not valid"),
    }.get(kind, _("it is not valid"))


def _guess_vat_country(number: str) -> str | None:
    """A country for a VAT number typed without prefix, only where the form is unambiguous."""
    if number.isdigit() and ((len(number) == 10 and number[0] in "01") or len(number) == 9):
        return "BE"  # Belgian VAT = enterprise number: 10 digits starting 0/1 (old: 9 digits)
    if re.fullmatch(_NL_VAT_BODY, number):
        return "NL"
    return None


def normalize_vat(value: str, country_hint: str | None = None) -> str:
    """``value`` as a compact VAT number with its country prefix, or InvalidInput.

    A number without prefix is accepted when ``country_hint`` gives the country or its form is
    unambiguous (Belgian 10 digits, Dutch ``123456789B01``).
    """
    raw = (value or "").strip()
    compact = re.sub(_SEPARATORS, "", raw).upper()
    if not compact:
        raise InvalidInput(
            _("The VAT number is empty."),
            hint=_("Leave the option out, or give a number such as {example}.").format(
                example=VAT_EXAMPLE
            ),
        )
    if compact[:2].isalpha():
        country, number = compact[:2], compact[2:]
    else:
        number = compact
        country = (country_hint or "").upper() or _guess_vat_country(number) or ""
        if not country:
            raise InvalidInput(
                _("VAT number '{value}' has no country prefix.").format(value=raw),
                hint=_("Write it with its country code, e.g. {example}.").format(
                    example=VAT_EXAMPLE
                ),
            )
    from stdnum.exceptions import ValidationError

    try:
        if country in _EU_PREFIXES:
            from stdnum.eu import vat as eu_vat

            return str(eu_vat.validate(country + number))
        from stdnum.util import get_cc_module

        module = get_cc_module(country.lower(), "vat")
        if module is None:
            raise InvalidInput(
                _("VAT number '{value}': country '{country}' is not supported.").format(
                    value=raw, country=country
                ),
                hint=_(
                    "Use an EU, GB, CH or NO VAT number with its country code, e.g. {example}."
                ).format(example=VAT_EXAMPLE),
            )
        return country + str(module.validate(number))
    except ValidationError as exc:
        raise InvalidInput(
            _("Invalid VAT number '{value}': {reason}.").format(value=raw, reason=_reason(exc)),
            hint=_(
                "Copy it from the client's invoice or check it in VIES; write it with its country"
                " code, e.g. {example}."
            ).format(example=VAT_EXAMPLE),
        ) from None


def try_normalize_vat(value: str | None, country_hint: str | None = None) -> str | None:
    """``normalize_vat`` for matching: None for an empty or invalid number, never raises."""
    if not value:
        return None
    try:
        return normalize_vat(value, country_hint)
    except InvalidInput:
        return None


def normalize_coc(value: str, country_hint: str | None = None) -> str:
    """A Belgian enterprise number (KBO/BCE, 10 digits) or a Dutch KvK number (8 digits).

    ``country_hint`` (``BE``/``NL``) decides when the digits alone do not. A leading country code
    (``BE 0403.170.701``) is accepted and dropped.
    """
    raw = (value or "").strip()
    compact = re.sub(_SEPARATORS, "", raw).upper()
    country = (country_hint or "").upper() or None
    if compact[:2] in ("BE", "NL"):
        country, compact = compact[:2], compact[2:]
    if not compact:
        raise InvalidInput(
            _("The chamber of commerce number is empty."),
            hint=_("Leave the option out, or give a KBO number (0403.170.701) or a KvK number."),
        )
    if not compact.isdigit():
        raise InvalidInput(
            _("Chamber of commerce number '{value}' may contain only digits.").format(value=raw),
            hint=_(
                "Give a Belgian KBO/BCE number (0403.170.701) or a Dutch KvK number (8 digits)."
            ),
        )
    if country is None:
        country = "NL" if len(compact) == 8 else "BE"
    if country == "NL":
        # KvK numbers are 8 digits; new ones carry no check digit since 2021, so length is all
        # there is to check.
        if len(compact) != 8 or compact == "00000000":
            raise InvalidInput(
                _("KvK number '{value}' must have 8 digits.").format(value=raw),
                hint=_("Copy it from the client's KvK extract (uittreksel)."),
            )
        return compact
    if country != "BE":
        raise InvalidInput(
            _(
                "Chamber of commerce number '{value}': only Belgian and Dutch numbers are supported."
            ).format(value=raw),
            hint=_("Leave --coc out; the VAT number identifies the client as well."),
        )
    from stdnum.be import vat as be_vat  # the enterprise number is the VAT number's body
    from stdnum.exceptions import ValidationError

    try:
        return str(be_vat.validate(compact))
    except ValidationError as exc:
        raise InvalidInput(
            _("Invalid enterprise number (KBO/BCE) '{value}': {reason}.").format(
                value=raw, reason=_reason(exc)
            ),
            hint=_("Look it up in the KBO Public Search; it has 10 digits, e.g. 0403.170.701."),
        ) from None


def try_normalize_coc(value: str | None, country_hint: str | None = None) -> str | None:
    """``normalize_coc`` for matching: None for an empty or invalid number, never raises."""
    if not value:
        return None
    try:
        return normalize_coc(value, country_hint)
    except InvalidInput:
        return None


def normalize_email(value: str) -> str:
    """A trimmed e-mail address with its domain in lower case, or InvalidInput."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidInput(
            _("The e-mail address is empty."),
            hint=_("Give an address such as info@kantoor.be."),
        )
    if len(raw) > MAX_EMAIL_LENGTH or not re.fullmatch(_EMAIL, raw):
        raise InvalidInput(
            _("Invalid e-mail address '{value}'.").format(value=raw),
            hint=_("Give one address such as info@kantoor.be (no spaces, no name, no list)."),
        )
    local, domain = raw.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


MAX_NAME_LENGTH = 120
_CONTROL = r"[\x00-\x1f\x7f]"


def clean_name(value: str, *, what: str) -> str:
    """A portal or client name as stored: trimmed, inner whitespace collapsed, not empty, at most
    ``MAX_NAME_LENGTH`` characters, no control characters. ``what`` names it in messages."""
    name = " ".join((value or "").split())
    if not name:
        raise InvalidInput(
            _("The {what} name is empty.").format(what=what),
            hint=_("Give a name, e.g. 'Bakkerij Peeters BV'."),
        )
    if re.search(_CONTROL, name):
        raise InvalidInput(
            _("The {what} name '{name}' contains control characters.").format(
                what=what, name=name.encode("unicode_escape").decode("ascii")
            ),
            hint=_("Use letters, digits, spaces and punctuation only."),
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            _("The {what} name is {length} characters long; at most {limit} are allowed.").format(
                what=what, length=len(name), limit=MAX_NAME_LENGTH
            ),
            hint=_("Shorten it; Exact Online shows about 60 characters of a name anyway."),
        )
    return name
