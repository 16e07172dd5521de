"""Activate clients on the portal's one connection: the rules apart from the I/O that carries them.

The portal connects to Exact Online once, with the firm's login; each client account is then
*activated* on one administration (division) that this login and the app can reach
(DESIGN.md "Activation and matching"). The package keeps *deciding* apart from *doing*:

- `rules`: ``decide(case) -> verdict``, one pure function (no store, no Exact, no output) made of
  small named rules: link, overwrite, refuse with a cause, ask, or already done;
- `causes`: the outcomes, the causes (stable ``--json`` keys) and their fixes;
- `facts`: reads from the store what the rules look at;
- `single` (``activate_client``, ``deactivate_client``) and `bulk` (``activate_all``): gather the
  facts, ask the rules, and carry the verdict out: one probe in the division, then the store
  writes and audit events in one transaction (``--dry-run`` stops before the probe);
- `divisions`: the cached ``system/Divisions`` list (all pages) and ``exact divisions``;
- `results`: what the commands render.

``doctor`` asks the same rules about a division, so a diagnosis and an activation never disagree.
"""

from __future__ import annotations

from exactlink.services.activation.bulk import activate_all
from exactlink.services.activation.causes import (
    ACTIVATED,
    ALREADY_ACTIVE,
    AMBIGUOUS,
    CAUSE_APP_SCOPE,
    CAUSE_ARCHIVED,
    CAUSE_BLOCKED,
    CAUSE_HIDDEN,
    CAUSE_HQ,
    CAUSE_INACTIVE,
    CAUSE_LICENSE,
    CAUSE_NO_ACCESS,
    CAUSE_NO_RIGHTS,
    CAUSE_NOT_GRANTED,
    CAUSE_OWN_LINK,
    CAUSE_PENDING,
    CAUSE_RATE_LIMITED,
    CAUSE_REFUSED,
    CAUSE_TAKEN,
    CAUSE_UNLISTED,
    CAUSE_UNREACHABLE,
    CAUSE_USER,
    FAILED_OUTCOMES,
    HQ_CODE_FLOOR,
    MISSING,
    REFUSED,
    WOULD_ACTIVATE,
    explain_refusal,
    fix_app_scope,
    fix_archived,
    fix_blocked,
    fix_hq,
    fix_inactive,
    fix_no_access,
    fix_no_rights,
    fix_not_granted,
    fix_reconnect,
)
from exactlink.services.activation.divisions import (
    fetch_divisions,
    list_divisions,
    other_license_divisions,
    parse_division,
    portal_connection,
)
from exactlink.services.activation.results import (
    BulkResult,
    Chooser,
    DivisionList,
    DivisionRow,
    Outcome,
    PortFactory,
    Progress,
)
from exactlink.services.activation.rules import Case, Verdict, decide
from exactlink.services.activation.single import activate_client, deactivate_client

__all__ = [
    "ACTIVATED",
    "ALREADY_ACTIVE",
    "AMBIGUOUS",
    "CAUSE_APP_SCOPE",
    "CAUSE_ARCHIVED",
    "CAUSE_BLOCKED",
    "CAUSE_HIDDEN",
    "CAUSE_HQ",
    "CAUSE_INACTIVE",
    "CAUSE_LICENSE",
    "CAUSE_NOT_GRANTED",
    "CAUSE_NO_ACCESS",
    "CAUSE_NO_RIGHTS",
    "CAUSE_OWN_LINK",
    "CAUSE_PENDING",
    "CAUSE_RATE_LIMITED",
    "CAUSE_REFUSED",
    "CAUSE_TAKEN",
    "CAUSE_UNLISTED",
    "CAUSE_UNREACHABLE",
    "CAUSE_USER",
    "FAILED_OUTCOMES",
    "HQ_CODE_FLOOR",
    "MISSING",
    "REFUSED",
    "WOULD_ACTIVATE",
    "BulkResult",
    "Case",
    "Chooser",
    "DivisionList",
    "DivisionRow",
    "Outcome",
    "PortFactory",
    "Progress",
    "Verdict",
    "activate_all",
    "activate_client",
    "deactivate_client",
    "decide",
    "explain_refusal",
    "fetch_divisions",
    "fix_app_scope",
    "fix_archived",
    "fix_blocked",
    "fix_hq",
    "fix_inactive",
    "fix_no_access",
    "fix_no_rights",
    "fix_not_granted",
    "fix_reconnect",
    "list_divisions",
    "other_license_divisions",
    "parse_division",
    "portal_connection",
]
