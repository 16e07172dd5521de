"""Message translation (gettext), Dutch and English.

Every message a person reads is wrapped in ``_()``; the catalogue is chosen once per process by
``set_language`` (the CLI calls it from ``--lang``, ``EXACTLINK_LANG`` or the locale). The
catalogues live in ``exactlink/locale/<lang>/LC_MESSAGES/exactlink.mo`` and are loaded only when a
language other than English is asked for, so English start-up pays nothing. ``--json`` output and
exit codes never depend on the language.

Two more things a person reads are rendered here, at display time, in one place each:

- ``label(code)``: a stable code (a status such as ``needs-reconnect``, an activation outcome, a
  doctor check or cause, an audit-log action) as the word a person reads. ``--json`` keeps the
  codes; English shows them as they are.
- ``local_time(value)``: a UTC timestamp (ISO 8601 or epoch seconds) as local time with the zone,
  ``2026-12-02 16:05 CET``, following ``TZ``. ``--json`` keeps UTC ISO 8601.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

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
    global _translation, _language, _labels
    language = language if language in LANGUAGES else "en"
    _language = language
    _labels = None
    if language == "en":
        _translation = None
        return
    import gettext

    _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


# -- codes as words -----------------------------------------------------------------------------
_labels: dict[str, str] | None = None


def _label_table() -> dict[str, str]:
    """Every code a person may see, with its label in the current language (msgid = the code,
    so English shows the code unchanged and the catalogue holds the Dutch word)."""
    return {
        # clients (models.Client.status)
        "pending": _("pending"),
        "granted": _("granted"),
        "active": _("active"),
        # connections (models.CONNECTION_*)
        "connected": _("connected"),
        "needs-reconnect": _("needs-reconnect"),
        "disconnected": _("disconnected"),
        # administrations: Status and BlockingStatus of system/Divisions (models.Division)
        "inactive": _("inactive"),
        "archived": _("archived"),
        "backup/restore": _("backup/restore"),
        "conversion busy": _("conversion busy"),
        "conversion shadow": _("conversion shadow"),
        "conversion waiting": _("conversion waiting"),
        "copy data waiting": _("copy data waiting"),
        "copy data busy": _("copy data busy"),
        # activation outcomes and how a division was matched (services.activation, .matching)
        "activated": _("activated"),
        "already_active": _("already_active"),
        "would_activate": _("would_activate"),
        "ambiguous": _("ambiguous"),
        "missing": _("missing"),
        "refused": _("refused"),
        "not_active": _("not_active"),
        "deactivated": _("deactivated"),
        "matched": _("matched"),
        "vat": _("vat"),
        "coc": _("coc"),
        "name": _("name"),
        "manual": _("manual"),
        # fields of a client or portal, as `update` names the ones it changed
        "email": _("email"),
        "managed": _("managed"),
        "access_granted": _("access_granted"),
        "billing_name": _("billing_name"),
        "billing_email": _("billing_email"),
        "address": _("address"),
        # the check of a division against the client (services.activation.identity)
        "strong": _("strong"),
        "weak": _("weak"),
        "mismatch": _("mismatch"),
        "same": _("same"),
        "differs": _("differs"),
        "unknown": _("unknown"),
        # causes (services.activation.causes, services.doctor)
        "access_pending": _("access_pending"),
        "blocked": _("blocked"),
        "license_blocked": _("license_blocked"),
        "user_blocked": _("user_blocked"),
        "hq_division": _("hq_division"),
        "not_granted_to_app": _("not_granted_to_app"),
        "login_has_no_access": _("login_has_no_access"),
        "licence_unreachable": _("licence_unreachable"),
        "no_rights": _("no_rights"),
        "app_scope": _("app_scope"),
        "division_taken": _("division_taken"),
        "needs_overwrite": _("needs_overwrite"),
        "rate_limited": _("rate_limited"),
        "unreachable": _("unreachable"),
        "own_practice": _("own_practice"),
        "division_mismatch": _("division_mismatch"),
        "not_activated": _("not_activated"),
        "activation_mismatch": _("activation_mismatch"),
        "archived_or_removed": _("archived_or_removed"),
        "other_exact_user": _("other_exact_user"),
        "not_listed": _("not_listed"),
        "not_in_list": _("not_in_list"),
        "in_doubt": _("in_doubt"),
        # doctor: a check's status and its id (services.doctor)
        "ok": _("ok"),
        "warn": _("warn"),
        "fail": _("fail"),
        "store": _("store"),
        "config": _("config"),
        "keyring": _("keyring"),
        "portal": _("portal"),
        "client": _("client"),
        "client_access": _("client_access"),
        "clients": _("clients"),
        "exact_app": _("exact_app"),
        "connection": _("connection"),
        "site": _("site"),
        "login": _("login"),
        "clock": _("clock"),
        "division_listed": _("division_listed"),
        "division_state": _("division_state"),
        "division_match": _("division_match"),
        "activation": _("activation"),
        "hq": _("hq"),
        "probe": _("probe"),
        "rate_limit": _("rate_limit"),
        # why a chain died: a connection's last_error (adapters.exact.tokens, .oauth)
        "obsoleted": _("obsoleted"),
        "old_refresh_token": _("old_refresh_token"),
        "expired": _("expired"),
        "revoked": _("revoked"),
        "refresh_token_missing": _("refresh_token_missing"),
        "unauthorized": _("unauthorized"),
        # what `exact keepalive` did with a chain (services.keepalive)
        "refreshed": _("refreshed"),
        "skipped": _("skipped"),
        "failed": _("failed"),
        "not-connected": _("not-connected"),
        # how `exact connect` receives Exact's answer (services.exact_app)
        "relay": _("relay"),
        "paste": _("paste"),
        "loopback": _("loopback"),
        "loopback-tls": _("loopback-tls"),
        # where secrets are kept (adapters.secrets)
        "insecure-file": _("insecure-file"),
        # the audit log's actions (adapters.store.events)
        "portal.create": _("portal.create"),
        "portal.update": _("portal.update"),
        "portal.delete": _("portal.delete"),
        "portal.use": _("portal.use"),
        "client.add": _("client.add"),
        "client.update": _("client.update"),
        "client.remove": _("client.remove"),
        "client.import": _("client.import"),
        "client.access.granted": _("client.access.granted"),
        "client.access.revoked": _("client.access.revoked"),
        "exact.app.set": _("exact.app.set"),
        "exact.connect": _("exact.connect"),
        "exact.disconnect": _("exact.disconnect"),
        "exact.keepalive": _("exact.keepalive"),
        "exact.divisions.refresh": _("exact.divisions.refresh"),
        "exact.activate": _("exact.activate"),
        "exact.deactivate": _("exact.deactivate"),
        "exact.link.replaced": _("exact.link.replaced"),
        "store.init": _("store.init"),
        "store.join": _("store.join"),
        "store.migrate": _("store.migrate"),
        "store.key_rotate": _("store.key_rotate"),
    }


def label(code: Any) -> str:
    """A stable code as the word a person reads in the current language (``pending`` →
    ``in afwachting``); an unknown code, or a value that is no code, is shown as it is."""
    global _labels
    if code is None:
        return ""
    if _labels is None:
        _labels = _label_table()
    text = str(code)
    return _labels.get(text, text)


def number(value: Any) -> str:
    """A number as the language writes it: ``2.5`` in English, ``2,5`` in Dutch."""
    if value is None:
        return "-"
    text = str(value)
    return text.replace(".", ",") if _language == "nl" and isinstance(value, float) else text


# -- times as a person reads them ---------------------------------------------------------------
def local_time(value: Any, *, seconds: bool = False) -> str:
    """A UTC moment (ISO 8601 text such as ``2026-12-02T15:05:00Z``, epoch seconds, or an aware
    ``datetime``) in the computer's time zone (``TZ``), with the zone's name:
    ``2026-12-02 16:05 CET``. Empty for None; text that is no timestamp is returned as it is."""
    if value is None or value == "":
        return ""
    moment = _moment(value)
    if moment is None:
        return str(value)
    t = moment.astimezone()  # the computer's zone (TZ), daylight saving time included
    zone = t.tzname() or t.strftime("%z")
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"
    return f"{text}:{t.second:02d} {zone}" if seconds else f"{text} {zone}"


def _moment(value: Any) -> datetime | None:
    import datetime as dt  # here, not at start-up: only commands that show a time pay for it

    datetime, UTC = dt.datetime, dt.UTC
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
