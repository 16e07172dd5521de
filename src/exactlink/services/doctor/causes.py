"""Why a client's administration is not in the list: every cause Exact has, with its fix.

``system/Divisions`` lists what the firm's login can reach *and* the app was granted (reference
§4.2, December 2026 notes item 6); a client's company is missing from it when the client never
linked the firm, the firm's user has no access to it, the app was not granted it, or its licence
(Premium) cannot be reached through an accountant's login (notes item 7). Without a code Exact
cannot be asked which: the fix lists them in the order to check them.
"""

from __future__ import annotations

from exactlink.i18n import _
from exactlink.models import Client
from exactlink.services import matching
from exactlink.services.activation.causes import (
    fix_license,
    fix_no_access,
    fix_not_granted,
    fix_not_linked,
)
from exactlink.services.activation.rules import Verdict

CAUSE_NOT_LISTED = "not_in_list"  # no administration of the client's among those listed


def missing_cause(client: Client, verdict: Verdict, listed: int) -> tuple[str, str, str]:
    """``(cause, message, fix)`` of a client with no administration to activate."""
    if verdict.outcome == matching.AMBIGUOUS:
        return matching.AMBIGUOUS, verdict.message or "", verdict.fix or ""
    message = _(
        "None of the {n} administrations the firm's connection can see is the client's{closest}."
    ).format(
        n=listed,
        closest=_("; closest: {list}").format(
            list=", ".join(f"{c.division} {c.name}" for c in verdict.candidates[:3])
        )
        if verdict.candidates
        else "",
    )
    return CAUSE_NOT_LISTED, message, not_listed_fix()


def not_listed_fix() -> str:
    """The four reasons a company is missing from the list, each with Exact's own menu."""
    return " ".join(
        (
            _("1. {fix}").format(fix=fix_not_linked()),
            _("2. {fix}").format(fix=fix_no_access()),
            _("3. {fix}").format(fix=fix_not_granted()),
            _("4. {fix}").format(fix=fix_license()),
        )
    )
