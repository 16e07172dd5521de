"""`exactlink doctor`: a checklist that finds out, without guessing, why a link does not work.

Each check is ✓ ok, ! warn or ✗ fail, with the fix (a command, or the Exact Online menu path in
Dutch and English). The order follows the chain a request travels: local store and config, the
keyring, portal and client, the client's Toegangsbeheer grant, the Exact app, the connection (one
``current/Me``: token refresh if due, clock), the site, the division list, the division's state,
and one probe in the division. A check that cannot run because an earlier one failed says so
(``skip``-like ``warn`` with the reason), so the person fixes the first ✗ first.

The package: `report` holds what is reported (`Check`, `Report`) and what doctor may use
(`Inputs`); `local`, `connection` and `division` hold the checks. Whether a client or a division
may be activated is not decided here but by the activation rules (`services.activation.rules`),
so a diagnosis and an activation never disagree. Exact blocks an app for an hour after more than
10 errors an hour on one endpoint in one division (reference §5.1, §5.3): doctor makes at most one
``current/Me``, the pages of one ``system/Divisions`` and one probe in the division.
"""

from __future__ import annotations

from exactlink.i18n import _
from exactlink.services.doctor.connection import (
    CLOCK_FAIL_SECONDS,
    CLOCK_WARN_SECONDS,
    check_connection,
)
from exactlink.services.doctor.division import (
    DAILY_WARN_REMAINING,
    ERROR_BUDGET_SKIP,
    check_division,
)
from exactlink.services.doctor.local import (
    check_app,
    check_client,
    check_config,
    check_keyring,
    check_portal,
    check_store,
)
from exactlink.services.doctor.report import (
    FAIL,
    OK,
    SYMBOLS,
    WARN,
    Check,
    Inputs,
    Report,
    Session,
)

__all__ = [
    "CLOCK_FAIL_SECONDS",
    "CLOCK_WARN_SECONDS",
    "DAILY_WARN_REMAINING",
    "ERROR_BUDGET_SKIP",
    "FAIL",
    "OK",
    "SYMBOLS",
    "WARN",
    "Check",
    "Inputs",
    "Report",
    "diagnose",
]


def diagnose(inputs: Inputs, *, client: str | None = None, division: int | None = None) -> Report:
    """Run the checklist; never raises for what it finds (a failed check is a ✗ line)."""
    s = Session(inputs, client, Report(division=division, client=client), code=division)
    check_store(s)
    check_config(s)
    check_keyring(s)
    check_portal(s)
    check_client(s)
    app = check_app(s)
    check_connection(s, app)
    connection = s.report.get("connection")
    if connection is None or connection.status != FAIL:
        check_division(s)
    else:
        s.cannot("division_listed", _("the connection is not usable"))
    return s.report
