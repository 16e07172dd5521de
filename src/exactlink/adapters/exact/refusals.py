"""Reading Exact Online's refusals (reference §3.7, §3.8, §5.1): the OData message, the
``Reason`` header, the hourly error block, and the fix to name for each (``docs/exact-rules.md``
rules 25, 29, 30, 31, 36). A leaf of ``adapters/exact``: it imports no other module of it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from exactlink.errors import REASON_APP_SCOPE, REASON_NOT_IN_SCOPE, ExactRefused
from exactlink.i18n import _

if TYPE_CHECKING:
    import requests


def odata_message(response: requests.Response) -> str:
    """``error.message.value`` of the OData envelope; a short text otherwise (HTML 401s)."""
    try:
        payload = response.json()
    except ValueError:
        text = re.sub(r"<[^>]+>", " ", response.text or "")
        return " ".join(text.split())[:200]
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            if isinstance(message, dict):
                return str(message.get("value") or "")
            if message:
                return str(message)
        if isinstance(error, str):
            return str(payload.get("error_description") or error)
    return ""


def reason_header(response: requests.Response) -> str | None:
    """Exact's ``Reason`` header without its description (``NoDivisionAccess: ...``, §3.8)."""
    return (response.headers.get("Reason") or "").split(":", 1)[0].strip() or None


def error_block(response: requests.Response) -> bool:
    """Exact's hourly error block, by status (4xx) and header or body ("too many errors")."""
    if not 400 <= response.status_code < 500:
        return False
    if reason_header(response) == "ErrorLimitExceeded":
        return True
    return "too many errors" in odata_message(response).lower()


def reason_from(response: requests.Response, message: str) -> str | None:
    header = reason_header(response)
    if header:
        return header
    lowered = message.lower()
    if "not within division scope" in lowered or "not included in the rights" in lowered:
        return REASON_NOT_IN_SCOPE
    if "application scope violated" in lowered:
        return REASON_APP_SCOPE
    return None


def refusal_hint(reason: str | None, division: int | None) -> str | None:
    where = str(division) if division is not None else _("that administration")
    hints = {
        REASON_NOT_IN_SCOPE: _(
            "The app was not granted administration {d}: in Exact Online, Mijn Exact Online > "
            "Beveiligingscentrum > Machtigingen voor mijn apps > the app > Administraties "
            "beheren, add it (or reconnect and tick it on the consent page)."
        ),
        REASON_APP_SCOPE: _(
            "The app's scopes (Exact App Store > the app > Data & Security Review) do not "
            "cover this resource."
        ),
        "NoDivisionAccess": _(
            "The Exact login has no access to administration {d}: give it access on the user "
            "card (Administraties: Toegangsrechten), or ask the client to grant the firm access."
        ),
        "DivisionBlocked": _("Administration {d} is blocked in Exact Online."),
        "LicenseExpired": _("The licence that owns administration {d} has expired."),
        "BlockedCustomer": _("The licence that owns administration {d} is blocked."),
        "BlockedUser": _("The Exact login is blocked."),
        "InactiveUser": _("The Exact login is no longer active."),
    }
    hint = hints.get(reason or "")
    return hint.format(d=where) if hint else None


def current_not_granted(refused: ExactRefused, current: int) -> ExactRefused:
    """§4.2 [R]: the list through a current administration the app was not granted fails."""
    if refused.reason != REASON_NOT_IN_SCOPE:
        return refused
    return ExactRefused(
        _(
            "Exact refuses the administration list: your current administration in Exact Online "
            "({d}) is not granted to the app."
        ).format(d=current),
        hint=_(
            "In Exact Online, Mijn Exact Online > Beveiligingscentrum > Machtigingen voor mijn "
            "apps > the app > Administraties beheren: add administration {d} (or switch to a "
            "granted administration in Exact Online), then run `exactlink exact divisions "
            "--refresh`."
        ).format(d=current),
        status=refused.status,
        reason=REASON_NOT_IN_SCOPE,
        details={"division": current},
    )
