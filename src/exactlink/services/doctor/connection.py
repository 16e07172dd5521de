"""The connection checks: the portal's chain, its site against the app's, one ``current/Me``, and
the local clock against Exact's (tokens live 600 s and may be refreshed only in their last 30 s,
reference §2.6: a clock off by minutes makes exactlink refresh too early or use expired tokens)."""

from __future__ import annotations

from typing import Any

from exactlink.errors import ExactlinkError, ExactRefused, NotConnected, ReconnectNeeded
from exactlink.exact_records import MeRecord
from exactlink.i18n import _
from exactlink.models import Connection, Portal
from exactlink.services.activation import fix_reconnect, portal_connection
from exactlink.services.activation.causes import CAUSE_OTHER_USER, fix_other_user
from exactlink.services.doctor.report import FAIL, OK, WARN, Session
from exactlink.services.matching import vat_key

CLOCK_WARN_SECONDS = 60.0
CLOCK_FAIL_SECONDS = 300.0


def same_site(a: str | None, b: str | None) -> bool:
    return (a or "").rstrip("/").lower() == (b or "").rstrip("/").lower()


def check_connection(s: Session, app: Any) -> None:
    if s.store is None or s.portal is None:
        s.cannot("connection", _("no portal"))
        return
    try:
        conn = portal_connection(s.store, s.portal)
    except NotConnected as exc:  # none, disconnected, or the chain died (ReconnectNeeded)
        s.add("connection", FAIL, exc.message, exc.hint)
        return
    s.connection = conn
    site_ok = app is None or same_site(app.site, conn.base_url)
    if not site_ok:
        _check_site(s, conn, app)
    me = _me(s, s.portal, site_ok)
    if me is None:
        return
    s.add(
        "connection",
        OK,
        _("Connected as {user} on {site}.").format(
            user=me.get("UserName") or conn.exact_username or "?", site=conn.base_url
        ),
    )
    if site_ok:
        s.add("site", OK, _("The app and the connection use the same site."))
    check_login(s, me)
    check_clock(s, me)


def check_login(s: Session, me: MeRecord) -> None:
    """The portal's connection must be the firm's login. A consent given in a browser logged in
    to Exact as a client's user links that user instead: ``Me.IsClientUser``, or a home company
    that is one of the portal's clients, shows it (the firm then sees one company, not all)."""
    assert s.store is not None and s.portal is not None
    home_vat = vat_key(me.get("DivisionCustomerVatNumber"))
    owner = None
    if home_vat:
        owner = next(
            (c for c in s.store.clients.list(s.portal.id) if vat_key(c.vat) == home_vat), None
        )
    if me.get("IsClientUser") is not True and owner is None:
        s.add("login", OK, _("The connection is made with the firm's Exact login."))
        return
    s.add(
        "login",
        FAIL,
        _(
            "The portal's connection is made with {user}, a user of {company}{client}, not the"
            " firm's own Exact login."
        ).format(
            user=me.get("UserName") or "?",
            company=me.get("DivisionCustomerName") or _("a client's company"),
            client=_(" (client '{name}')").format(name=owner.name) if owner else "",
        ),
        fix_other_user(),
        cause=CAUSE_OTHER_USER,
    )


def _check_site(s: Session, conn: Connection, app: Any) -> None:
    s.add(
        "site",
        FAIL,
        _(
            "The connection was made on {conn_site}, but the app is configured for"
            " {app_site}: tokens and administrations belong to one country site."
        ).format(conn_site=conn.base_url, app_site=app.site),
        _(
            "Use the site where the firm's Exact login lives: `exactlink exact app set"
            " --region nl|be|de|uk|us|es|fr` (or --base-url), then `exactlink exact"
            " connect`."
        ),
    )


def _me(s: Session, portal: Portal, site_ok: bool) -> MeRecord | None:
    """One ``current/Me`` (a token refresh first when it is due); None with a ✗ when it fails."""
    try:
        s.port = s.inputs.port(portal)
        return s.port.me()
    except ReconnectNeeded as exc:
        s.port = None
        s.add(
            "connection",
            FAIL,
            _("The token chain is dead: {error}").format(error=exc.message),
            exc.hint or fix_reconnect(),
        )
    except ExactlinkError as exc:
        s.port = None
        fix = exc.hint
        if isinstance(exc, ExactRefused) and not site_ok:
            fix = _("Fix the site first (see the 'site' line).")
        s.add(
            "connection",
            FAIL,
            _("Exact Online could not be reached with this connection: {error}").format(
                error=exc.message
            ),
            fix,
        )
    return None


def check_clock(s: Session, me: MeRecord) -> None:
    server = me.get("ServerTime")
    if not isinstance(server, int | float):
        s.cannot("clock", _("Exact did not send its server time"))
        return
    skew = s.inputs.now() - float(server)
    if abs(skew) >= CLOCK_FAIL_SECONDS:
        status = FAIL
    elif abs(skew) >= CLOCK_WARN_SECONDS:
        status = WARN
    else:
        s.add("clock", OK, _("Local clock within {s:.0f} s of Exact's.").format(s=abs(skew)))
        return
    s.add(
        "clock",
        status,
        _("The local clock is {s:.0f} s {way} Exact's server time.").format(
            s=abs(skew), way=_("ahead of") if skew > 0 else _("behind")
        ),
        _(
            "Synchronise the clock (NTP: `timedatectl set-ntp true`); tokens live 10 minutes"
            " and may only be refreshed in their last 30 seconds."
        ),
    )
