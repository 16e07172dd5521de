"""The words of activation: outcomes, causes (stable ``--json`` keys) and their fixes.

Shared by the rules, the commands that carry them out and ``doctor``. The fixes name Exact's
menu paths in Dutch and English (reference §6.2, §6.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exactlink.errors import REASON_APP_SCOPE, REASON_NOT_IN_SCOPE
from exactlink.i18n import _

if TYPE_CHECKING:
    from exactlink.errors import ExactRefused

HQ_CODE_FLOOR = 10_000_000  # reference §4.2 [R]: Premium HQ divisions, never in system/Divisions

# Per-client outcomes of `exact activate` (the --json envelope's ``outcome``).
ACTIVATED = "activated"
ALREADY_ACTIVE = "already_active"
WOULD_ACTIVATE = "would_activate"  # --dry-run: matched and allowed, nothing probed or stored
AMBIGUOUS = "ambiguous"
MISSING = "missing"
REFUSED = "refused"
FAILED_OUTCOMES = (AMBIGUOUS, MISSING, REFUSED)

# Causes (stable keys in --json) of a refused or failed activation, shared with `doctor`.
CAUSE_PENDING = "access_pending"
CAUSE_ARCHIVED = "archived"
CAUSE_INACTIVE = "inactive"
CAUSE_BLOCKED = "blocked"
CAUSE_LICENSE = "license_blocked"
CAUSE_USER = "user_blocked"
CAUSE_HQ = "hq_division"
CAUSE_NOT_GRANTED = "not_granted_to_app"
CAUSE_NO_ACCESS = "login_has_no_access"
# Listed in system/Divisions (which holds only what the login can access, reference §4.2 [C]),
# yet refused with NoDivisionAccess: the client's licence is one Exact does not open to an
# accountant's login (December 2026 notes item 7 [R], reported for Premium).
CAUSE_LICENCE_UNREACHABLE = "licence_unreachable"
CAUSE_NO_RIGHTS = "no_rights"
CAUSE_APP_SCOPE = "app_scope"
CAUSE_TAKEN = "division_taken"
CAUSE_OWN_LINK = "needs_overwrite"
CAUSE_RATE_LIMITED = "rate_limited"
CAUSE_UNREACHABLE = "unreachable"
CAUSE_REFUSED = "refused"
CAUSE_PRACTICE = "own_practice"  # the firm's own administration, not a client's
CAUSE_MISMATCH = "division_mismatch"  # a hand-picked division whose numbers or name differ
CAUSE_NOT_ACTIVATED = "not_activated"  # granted, its administration listed, never activated
CAUSE_STALE_ACTIVATION = "activation_mismatch"  # activated where the numbers or name now differ
CAUSE_HIDDEN = "archived_or_removed"
CAUSE_OTHER_USER = "other_exact_user"  # the consent was given as another Exact user  # answers, yet system/Divisions leaves it out
# Not in the connection's list: the caller finds out why (another portal's, or never granted).
CAUSE_UNLISTED = "not_listed"


def fix_not_granted() -> str:
    return _(
        "Grant the app this administration: Mijn Exact Online > Beveiligingscentrum > Machtigingen"
        " voor mijn apps > Administraties beheren (My Exact Online > Security Center > Permissions"
        " for my apps > Manage administrations), or Import/Export > Appmachtigingen (App"
        " permissions); tick it, or Alle huidige en toekomstige administraties (All current and"
        " future administrations), and save; then `exactlink exact divisions --refresh`."
    )


def fix_no_access() -> str:
    return _(
        "Give the firm's Exact user access to the client's company: on the user card, Monitor >"
        " Administraties: Toegangsrechten (Companies: Access rights); then `exactlink exact"
        " divisions --refresh`."
    )


def fix_not_linked() -> str:
    return _(
        "The client links the firm in Exact Online: Koppel mijn accountant (Link my"
        " accountant); the firm then sees the company under Externe administraties (External"
        " administrations). Then `exactlink exact divisions --refresh`."
    )


def fix_license() -> str:
    return _(
        "Some client licences (Exact Online Premium) are reported unreachable through an"
        " accountant's login even when linked: connect the client with a login of its own"
        " licence (`exactlink exact connect --client NAME`)."
    )


def fix_license_listed() -> str:
    """The fix of a listed administration Exact refuses the firm's login in."""
    return _(
        "{fix} If the firm's user only lost access since the list was read, `exactlink exact"
        " divisions --refresh` no longer shows it: then give access on the user card, Monitor >"
        " Administraties: Toegangsrechten (Companies: Access rights)."
    ).format(fix=fix_license())


def fix_no_access_or_license() -> str:
    """The fix of an administration left out of the list and refused with NoDivisionAccess:
    Exact's answer is the same for both causes (notes item 7 [R]), so both, in order."""
    return _("1. {access} 2. If the user card already gives access: {license}").format(
        access=fix_no_access(), license=fix_license()
    )


def message_license(code: int) -> str:
    return _(
        "Administration {code} is in the firm's list (system/Divisions), yet Exact refuses the"
        " firm's login in it (NoDivisionAccess): the client's licence cannot be reached through"
        " an accountant's login (reported for Exact Online Premium)."
    ).format(code=code)


def fix_other_user() -> str:
    return _(
        "The consent was given in a browser logged in to Exact as another user. Connect again"
        " with the firm's own login: `exactlink exact connect` (the authorize URL forces a"
        " login, so the browser's other Exact session is not used)."
    )


def fix_blocked() -> str:
    return _(
        "Exact has blocked this administration (backup/restore or a conversion in progress, or"
        " the license expired). Wait until it is finished, or ask the license holder to renew"
        " the subscription in Exact Online; then try again."
    )


def fix_archived() -> str:
    return _(
        "The administration is archived in Exact Online. Choose the client's current"
        " administration with --division CODE, or have it restored in Exact Online."
    )


def fix_inactive() -> str:
    return _(
        "The administration is inactive in Exact Online. Choose the client's active"
        " administration with --division CODE (see `exactlink exact divisions`)."
    )


def fix_hq() -> str:
    return _(
        "Codes above 10,000,000 are Exact Online Premium HQ (virtual) administrations: Exact never"
        " lists them and they cannot be linked. Use the client's own administration code."
    )


def fix_app_scope() -> str:
    return _(
        'The app lacks a scope for this data (Exact answers "Application Scope Violated"):'
        " add the scope to the app's registration in the Exact Online App Store (Scopes), then"
        " connect again: `exactlink exact connect`."
    )


def fix_no_rights() -> str:
    return _(
        "Give the firm's Exact user a role with rights on the client's administration: on the"
        " user card, Monitor > Administraties: Toegangsrechten (Companies: Access rights); then"
        " try again."
    )


def fix_force(code: int) -> str:
    return _(
        "Check the code with `exactlink exact divisions`; if it really is this client's"
        " administration, run the command again with --division {code} --force."
    ).format(code=code)


def fix_reconnect() -> str:
    return _("Connect again: `exactlink exact connect`.")


def explain_refusal(exc: ExactRefused, *, listed: bool | None = None) -> tuple[str, str]:
    """``(cause, fix)`` for a 403 from Exact, read from its ``Reason`` header or message (§3.8).

    ``listed``: whether a fresh ``system/Divisions`` holds the division (None: not known). A
    listed division refused with NoDivisionAccess is the licence (notes item 7); an unlisted one
    is the user's access or the licence, which Exact's answer does not tell apart.
    """
    reason = (exc.reason or "").split(":")[0].strip()
    if reason == REASON_NOT_IN_SCOPE:
        return CAUSE_NOT_GRANTED, fix_not_granted()
    if reason == "NoDivisionAccess":
        if listed:
            return CAUSE_LICENCE_UNREACHABLE, fix_license_listed()
        if listed is False:
            return CAUSE_NO_ACCESS, fix_no_access_or_license()
        return CAUSE_NO_ACCESS, fix_no_access()
    if reason == "DivisionBlocked":
        return CAUSE_BLOCKED, fix_blocked()
    if reason in ("LicenseExpired", "BlockedCustomer"):
        return CAUSE_LICENSE, fix_blocked()
    if reason in ("BlockedUser", "InactiveUser"):
        return CAUSE_USER, _(
            "The firm's Exact login is blocked or no longer active: ask the firm's Exact"
            " administrator to reactivate it, or connect with another login."
        )
    if reason == REASON_APP_SCOPE:
        return CAUSE_APP_SCOPE, fix_app_scope()
    return CAUSE_REFUSED, exc.hint or _("Run `exactlink doctor` for the cause.")
