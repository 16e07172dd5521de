"""Message translation (gettext), Dutch and English.

Every message a person reads is wrapped in ``_()``; the catalogue is chosen once per process by
``set_language`` (the CLI calls it from ``--lang``, ``EXACTLINK_LANG`` or the locale). The
catalogues live in ``exactlink/locale/<lang>/LC_MESSAGES/exactlink.mo`` and are loaded only when a
language other than English is asked for, so English start-up pays nothing. ``--json`` output and
exit codes never depend on the language.
"""

from __future__ import annotations

import os
from pathlib import Path

DOMAIN = "exactlink"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "nl")

_translation = None  # a gettext.GNUTranslations once a non-English language is set
_language = "en"


def _(message: str) -> str:
    """Translate ``message`` into the current language (English: unchanged)."""
    if _translation is None:
        return message
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now: for texts fixed at import
    time (``--help`` of commands and options), translated when they are shown
    (``exactlink.cli.helptext``)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count."""
    if _translation is None:
        return singular if n == 1 else plural
    return _translation.ngettext(singular, plural, n)


def current_language() -> str:
    """The language messages are rendered in now (``en`` or ``nl``)."""
    return _language


def detect_language(explicit: str | None = None) -> str:
    """``--lang``, else ``EXACTLINK_LANG``, else the locale (``LC_ALL``/``LC_MESSAGES``/``LANG``)."""
    for value in (
        explicit,
        os.environ.get("EXACTLINK_LANG"),
        os.environ.get("LC_ALL"),
        os.environ.get("LC_MESSAGES"),
        os.environ.get("LANG"),
    ):
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            return code if code in LANGUAGES else "en"
    return "en"


def set_language(language: str) -> None:
    """Switch the process to ``language`` (an unknown one falls back to English)."""
    global _translation, _language
    language = language if language in LANGUAGES else "en"
    _language = language
    if language == "en":
        _translation = None
        return
    import gettext

    _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)
