"""`exactlink doctor`: a checklist that finds out, without guessing, why a link does not work.

Each check is ✓ ok, ! warn or ✗ fail, with the fix (a command, or the Exact Online menu path in
Dutch and English). The order follows the chain a request travels: local store and config, the
keyring, portal and client, the client's Toegangsbeheer grant, the Exact app, the connection (one
``current/Me``: token refresh if due, clock), the site, the division list, the division's state,
and one probe in the division. A check that cannot run because an earlier one failed says so
(``skip``-like ``warn`` with the reason), so the person fixes the first ✗ first.

Exact blocks an app for an hour after more than 10 errors an hour on one endpoint in one division
(reference §5.1, §5.3). Doctor therefore makes at most: one ``current/Me``, the pages of one
``system/Divisions``, and one probe in the division, and only when the list did not already
explain the problem; it skips the probe when the store shows the division close to the limit.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exactlink.errors import (
    ExactlinkError,
    ExactRefused,
    NotConnected,
    NotFound,
    ReconnectNeeded,
)
from exactlink.i18n import _
from exactlink.models import (
    CLIENT_PENDING,
    Client,
    Connection,
    Division,
    Portal,
)
from exactlink.services import activation, matching
from exactlink.services.clients import get_client, pending_hint
from exactlink.services.ports import ExactPort

if TYPE_CHECKING:
    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store import Store

OK = "ok"
WARN = "warn"
FAIL = "fail"
SYMBOLS = {OK: "✓", WARN: "!", FAIL: "✗"}

CLOCK_WARN_SECONDS = 60.0
# Tokens live 600 s and may be refreshed only in their last 30 s (reference §2.6): a clock off by
# minutes makes exactlink refresh too early (refused) or use expired tokens.
CLOCK_FAIL_SECONDS = 300.0
# Exact blocks after more than 10 errors an hour (§5.1): leave room for the person's own work.
ERROR_BUDGET_SKIP = 8
DAILY_WARN_REMAINING = 100


@dataclass(frozen=True)
class Check:
    """One line of the checklist (``--json``: id, status, message, fix)."""

    id: str
    status: str
    message: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "message": self.message, "fix": self.fix}


@dataclass
class Report:
    """The whole checklist; ``ok`` when nothing failed."""

    checks: list[Check] = field(default_factory=list)
    division: int | None = None
    client: str | None = None
    portal: str | None = None

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        if self.failures:
            return FAIL
        return WARN if any(c.status == WARN for c in self.checks) else OK

    def get(self, check_id: str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "portal": self.portal,
            "client": self.client,
            "division": self.division,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class Inputs:
    """What doctor may use, each built only when its check runs (so a broken keyring does not
    stop the store check, and no network is touched before it is needed)."""

    store: Callable[[], Store]
    config: Callable[[], Any]
    secrets: Callable[[], SecretStore]
    portal_name: Callable[[], str | None]
    portal: Callable[[], Portal]  # NotFound when none is chosen or it does not exist
    app: Callable[[], Any]  # services.exact_app.AppSettings (NotFound when not configured)
    client_secret: Callable[[], str]
    port: Callable[[Portal], ExactPort]
    now: Callable[[], float] = time.time


def _err(exc: Exception) -> str:
    return exc.message if isinstance(exc, ExactlinkError) else f"{type(exc).__name__}: {exc}"


class _Doctor:
    def __init__(self, inputs: Inputs, client_name: str | None, division: int | None) -> None:
        self.inputs = inputs
        self.client_name = client_name
        self.report = Report(division=division, client=client_name)
        self.store: Store | None = None
        self.portal: Portal | None = None
        self.client: Client | None = None
        self.connection: Connection | None = None
        self.port: ExactPort | None = None
        self.divisions: list[Division] | None = None
        self.code: int | None = division

    def add(self, check_id: str, status: str, message: str, fix: str | None = None) -> None:
        self.report.checks.append(Check(check_id, status, message, fix))

    def cannot(self, check_id: str, why: str) -> None:
        self.add(check_id, WARN, _("Not checked: {why}.").format(why=why))

    # -- local -------------------------------------------------------------------------------
    def check_store(self) -> None:
        try:
            store = self.inputs.store()
            store.portals.list()
        except Exception as exc:
            self.add(
                "store",
                FAIL,
                _("The local store cannot be read: {error}").format(error=_err(exc)),
                _("Check the permissions of the exactlink home (folders 0700, files 0600)."),
            )
            return
        self.store = store
        if store.is_team:
            where = store.location
            self.add("store", OK, _("Team store reachable ({where}).").format(where=where))
            return
        self.add("store", OK, _("Local store readable ({path}).").format(path=store.path))

    def check_config(self) -> None:
        try:
            config = self.inputs.config()
        except Exception as exc:
            self.add(
                "config",
                FAIL,
                _("config.toml cannot be read: {error}").format(error=_err(exc)),
                _("Fix the file, or remove it and run `exactlink exact app set` again."),
            )
            return
        self.add("config", OK, _("Configuration readable ({path}).").format(path=config.path))

    def check_keyring(self) -> None:
        try:
            secrets = self.inputs.secrets()
            secrets.get("doctor-check")  # answers (None) without storing anything
        except Exception as exc:
            self.add(
                "keyring",
                FAIL,
                _("Secure storage is not usable: {error}").format(error=_err(exc)),
                getattr(exc, "hint", None)
                or _("Unlock the OS keyring, or opt in with --insecure-storage on a server."),
            )
            return
        if not secrets.secure:
            self.add(
                "keyring",
                WARN,
                _(
                    "Secrets are kept in a 0600 file ({backend}), by your --insecure-storage opt-in."
                ).format(backend=secrets.backend_name),
                _("Use an OS keyring where one is available (Secret Service, Keychain)."),
            )
            return
        self.add(
            "keyring",
            OK,
            _("Keyring answering ({backend}).").format(backend=secrets.backend_name),
        )

    # -- portal and client -------------------------------------------------------------------
    def check_portal(self) -> None:
        if self.store is None:
            return self.cannot("portal", _("the store is not readable"))
        try:
            self.report.portal = self.inputs.portal_name()
        except Exception as exc:
            self.add("portal", FAIL, _err(exc), _("See `exactlink portal list`."))
            return None
        try:
            self.portal = self.inputs.portal()
        except ExactlinkError as exc:  # NotFound: none chosen, or no such portal
            self.add("portal", FAIL, exc.message, exc.hint)
            return None
        self.add("portal", OK, _("Portal '{name}' exists.").format(name=self.portal.name))
        return None

    def check_client(self) -> None:
        if self.client_name is None:
            return
        if self.store is None or self.portal is None:
            self.cannot("client", _("no portal"))
            return
        try:
            self.client = get_client(self.store, self.portal, self.client_name)
        except NotFound as exc:
            self.add("client", FAIL, exc.message, exc.hint)
            return
        self.report.client = self.client.name
        self.add("client", OK, _("Client '{name}' exists.").format(name=self.client.name))
        if self.client.status == CLIENT_PENDING:
            self.add(
                "client_access",
                FAIL,
                _("The client has not granted the firm access yet (pending)."),
                pending_hint(self.portal, self.client),
            )
        else:
            self.add("client_access", OK, _("The client granted the firm access."))
        if self.code is None and self.client.division is not None:
            self.code = self.client.division

    # -- Exact app and connection ------------------------------------------------------------
    def check_app(self) -> Any:
        try:
            app = self.inputs.app()
        except Exception as exc:
            self.add(
                "exact_app",
                FAIL,
                _("The Exact app is not configured: {error}").format(error=_err(exc)),
                _("Register it: `exactlink exact app set --client-id ID --redirect-uri URI`."),
            )
            return None
        try:
            self.inputs.client_secret()
        except Exception as exc:
            self.add(
                "exact_app",
                FAIL,
                _("The Exact app's client secret cannot be read: {error}").format(error=_err(exc)),
                _("Store it again: `exactlink exact app set` (the secret is read from stdin)."),
            )
            return app
        self.add(
            "exact_app",
            OK,
            _("Exact app {client_id} configured for {site}.").format(
                client_id=app.client_id, site=app.site
            ),
        )
        return app

    def check_connection(self, app: Any) -> None:
        if self.store is None or self.portal is None:
            self.cannot("connection", _("no portal"))
            return
        try:
            conn = activation.portal_connection(self.store, self.portal)
        except NotConnected as exc:  # none, disconnected, or the chain died (ReconnectNeeded)
            self.add("connection", FAIL, exc.message, exc.hint)
            return
        self.connection = conn
        site_ok = app is None or _same_site(app.site, conn.base_url)
        if not site_ok:
            self.add(
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
        try:
            self.port = self.inputs.port(self.portal)
            me = self.port.me()
        except ReconnectNeeded as exc:
            self.port = None
            self.add(
                "connection",
                FAIL,
                _("The token chain is dead: {error}").format(error=exc.message),
                exc.hint or activation.fix_reconnect(),
            )
            return
        except ExactlinkError as exc:
            self.port = None
            fix = exc.hint
            if isinstance(exc, ExactRefused) and not site_ok:
                fix = _("Fix the site first (see the 'site' line).")
            self.add(
                "connection",
                FAIL,
                _("Exact Online could not be reached with this connection: {error}").format(
                    error=exc.message
                ),
                fix,
            )
            return
        self.add(
            "connection",
            OK,
            _("Connected as {user} on {site}.").format(
                user=me.get("UserName") or conn.exact_username or "?", site=conn.base_url
            ),
        )
        if site_ok:
            self.add("site", OK, _("The app and the connection use the same site."))
        self.check_clock(me)

    def check_clock(self, me: dict[str, Any]) -> None:
        server = me.get("ServerTime")
        if not isinstance(server, int | float):
            self.cannot("clock", _("Exact did not send its server time"))
            return
        skew = self.inputs.now() - float(server)
        if abs(skew) >= CLOCK_FAIL_SECONDS:
            status = FAIL
        elif abs(skew) >= CLOCK_WARN_SECONDS:
            status = WARN
        else:
            self.add("clock", OK, _("Local clock within {s:.0f} s of Exact's.").format(s=abs(skew)))
            return
        self.add(
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

    # -- division ----------------------------------------------------------------------------
    def check_division_list(self) -> None:
        if self.port is None or self.connection is None or self.store is None or not self.portal:
            self.cannot("division_listed", _("no live connection"))
            return
        # Without the list, only an HQ code is refused (it is never listed, reference §4.2).
        refusal = activation.division_refusal(None, self.code) if self.code is not None else None
        if refusal:
            _cause, message, fix = refusal
            self.add("hq", FAIL, message, fix)
            return
        try:
            self.divisions = activation.fetch_divisions(
                self.store, self.portal, self.connection, self.port
            )
        except ExactlinkError as exc:
            self.add(
                "division_listed",
                FAIL,
                _("system/Divisions could not be read: {error}").format(error=exc.message),
                exc.hint,
            )
            return
        listed = {d.code: d for d in self.divisions}
        if self.code is None and self.client is not None:
            match = matching.match_client(self.client, self.divisions)
            if match.outcome == matching.MATCHED:
                self.code = match.division
                self.add(
                    "division_match",
                    OK,
                    _("Matched administration {code} by {by}.").format(
                        code=match.division, by=match.by
                    ),
                )
            else:
                shown = ", ".join(
                    f"{c.division} {c.name} ({c.score:g})" for c in match.candidates[:3]
                )
                self.add(
                    "division_listed",
                    FAIL,
                    _(
                        "None of the {n} administrations the connection can see is clearly the"
                        " client's{closest}. Either the app was not granted it, or the firm's"
                        " login has no access to the client's company."
                    ).format(
                        n=len(self.divisions),
                        closest=(_("; closest: {list}").format(list=shown) if shown else ""),
                    ),
                    _(
                        "{granted} Or: {access} Then run `exactlink doctor --client {name} --division CODE` once the code is known."
                    ).format(
                        granted=activation.fix_not_granted(),
                        access=activation.fix_no_access(),
                        name=shlex.quote(self.client.name),
                    ),
                )
                return
        if self.code is None:
            self.add(
                "division_listed",
                OK,
                _("{n} administrations reachable (system/Divisions, all pages).").format(
                    n=len(self.divisions)
                ),
            )
            return
        self.report.division = self.code
        division = listed.get(self.code)
        if division is None:
            self.add(
                "division_listed",
                FAIL,
                _(
                    "Administration {code} is not in system/Divisions ({n} listed): the app was"
                    " not granted it, or the firm's login has no access to it."
                ).format(code=self.code, n=len(self.divisions)),
                _("The probe below tells which."),
            )
            self.probe(listed_state_failed=False)
            return
        self.add(
            "division_listed",
            OK,
            _("Administration {code} ({name}) is in system/Divisions.").format(
                code=self.code, name=division.description
            ),
        )
        refusal = activation.division_refusal(division, self.code)
        if refusal:
            _cause, message, fix = refusal
            self.add("division_state", FAIL, message, fix)
            self.probe(listed_state_failed=True)
            return
        self.add("division_state", OK, _("Active and not blocked."))
        self.probe(listed_state_failed=False)

    def probe(self, *, listed_state_failed: bool) -> None:
        assert self.port is not None and self.code is not None and self.store is not None
        if listed_state_failed:
            self.add(
                "probe",
                WARN,
                _(
                    "Not probed: the list already explains the problem (saves Exact's error budget)."
                ),
            )
            return
        from datetime import UTC, datetime, timedelta

        hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
        recent = self.store.connections.errors(
            self.connection.id if self.connection else None,
            division=self.code,
            since=hour_ago.replace("+00:00", "Z"),
            limit=50,
        )
        if len(recent) >= ERROR_BUDGET_SKIP:
            self.add(
                "probe",
                WARN,
                _(
                    "Not probed: {n} errors from administration {code} in the last hour; Exact"
                    " blocks the app there after 10."
                ).format(n=len(recent), code=self.code),
                _("Wait an hour, then run doctor again."),
            )
            return
        try:
            allowed = self.port.probe(self.code)
        except ExactRefused as exc:
            cause, fix = activation.explain_refusal(exc)
            messages = {
                activation.CAUSE_NOT_GRANTED: _(
                    "Administration {code} is not granted to the app (division scope)."
                ),
                activation.CAUSE_NO_ACCESS: _(
                    "The firm's Exact login has no access to administration {code}."
                ),
                activation.CAUSE_BLOCKED: _("Administration {code} is blocked by Exact."),
                activation.CAUSE_LICENSE: _(
                    "The license of administration {code} is blocked or has expired."
                ),
            }
            message = messages.get(cause, _("Exact refused administration {code}: {error}"))
            self.add(
                "probe",
                FAIL,
                message.format(code=self.code, error=exc.message),
                fix,
            )
            return
        except ExactlinkError as exc:  # rate limited, the chain died, Exact unreachable
            self.add("probe", FAIL, exc.message, exc.hint)
            return
        if not allowed:
            self.add(
                "probe",
                FAIL,
                _(
                    "The firm's login has no rights to read accounts in administration {code}."
                ).format(code=self.code),
                _(
                    "Give the login a role with rights on the client's administration (Toegangsrechten / Access rights)."
                ),
            )
        else:
            self.add(
                "probe",
                OK,
                _("One call inside administration {code} succeeded.").format(code=self.code),
            )
        self.check_rate_limit()

    def check_rate_limit(self) -> None:
        assert self.port is not None and self.code is not None
        state = self.port.rate_limit(self.code)
        if state is None or state.daily_remaining is None:
            self.cannot("rate_limit", _("Exact sent no rate-limit headers yet"))
            return
        reset = ""
        if state.daily_reset_ms:
            from datetime import UTC, datetime

            reset = datetime.fromtimestamp(state.daily_reset_ms / 1000, UTC).strftime(
                "%Y-%m-%d %H:%M UTC"
            )
        if state.daily_remaining <= 0:
            self.add(
                "rate_limit",
                FAIL,
                _("The daily API limit for administration {code} is used up.").format(
                    code=self.code
                ),
                _("Wait until {reset}.").format(reset=reset or _("midnight UTC")),
            )
        elif state.daily_remaining < DAILY_WARN_REMAINING:
            self.add(
                "rate_limit",
                WARN,
                _("Only {n} API calls left today for administration {code}.").format(
                    n=state.daily_remaining, code=self.code
                ),
                _("Resets at {reset}.").format(reset=reset or _("midnight UTC")),
            )
        else:
            self.add(
                "rate_limit",
                OK,
                _("{n} of {limit} API calls left today for administration {code}.").format(
                    n=state.daily_remaining, limit=state.daily_limit or "?", code=self.code
                ),
            )


def _same_site(a: str | None, b: str | None) -> bool:
    return (a or "").rstrip("/").lower() == (b or "").rstrip("/").lower()


def diagnose(inputs: Inputs, *, client: str | None = None, division: int | None = None) -> Report:
    """Run the checklist; never raises for what it finds (a failed check is a ✗ line)."""
    doc = _Doctor(inputs, client, division)
    doc.check_store()
    doc.check_config()
    doc.check_keyring()
    doc.check_portal()
    doc.check_client()
    app = doc.check_app()
    doc.check_connection(app)
    if doc.report.get("connection") is None or doc.report.get("connection").status != FAIL:  # type: ignore[union-attr]
        doc.check_division_list()
    else:
        doc.cannot("division_listed", _("the connection is not usable"))
    return doc.report
