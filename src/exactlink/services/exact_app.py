"""The Exact app registration (reference §2.1): client ID, redirect URI, site, secret.

Config (``exact.*`` keys) holds everything but the client secret, which goes to the secret store
under ``app/client_secret``. The redirect URI decides how `exact connect` receives the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from exactlink.errors import InvalidInput, NotFound
from exactlink.i18n import _

SECRET_KEY = "app/client_secret"

MODE_RELAY = "relay"
MODE_LOOPBACK = "loopback"
MODE_LOOPBACK_TLS = "loopback-tls"
MODE_PASTE = "paste"
# urlsplit().hostname drops the brackets of an IPv6 literal: "[::1]" arrives as "::1".
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Names that never resolve on the public internet (RFC 2606, RFC 6761, RFC 6762, RFC 8375).
_NON_PUBLIC_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".lan",
    ".home.arpa",
    ".test",
    ".invalid",
    ".example",
)


class ConfigLike(Protocol):
    def get(self, dotted: str, default: Any = None) -> Any: ...

    def set(self, dotted: str, value: Any) -> None: ...

    def save(self) -> None: ...


class SecretsLike(Protocol):
    backend_name: str

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


class EventsLike(Protocol):
    def record(
        self,
        action: str,
        subject: str | None = None,
        *,
        portal: str | None = None,
        client: str | None = None,
        details: dict[str, Any] | None = None,
        exact_user: str | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class AppSettings:
    """The app as configured (no secret)."""

    client_id: str
    redirect_uri: str
    region: str
    base_url: str | None
    site: str
    insecure_storage: bool
    relay: bool = False

    @property
    def mode(self) -> str:
        return redirect_mode(self.redirect_uri, relay=self.relay)

    @property
    def real_site(self) -> bool:
        """One of Exact's own sites (no ``--base-url``): Exact's redirect rules apply."""
        return not self.base_url

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "region": self.region,
            "base_url": self.base_url,
            "site": self.site,
            "mode": self.mode,
            "relay": self.relay,
            "insecure_storage": self.insecure_storage,
        }


def redirect_mode(redirect_uri: str, no_browser: bool = False, *, relay: bool = False) -> str:
    """``relay`` (the redirect URI serves exactlink's relay page: `exact app set --relay`),
    ``loopback`` (http on 127.0.0.1/localhost with a port), ``loopback-tls`` (https on
    localhost), or ``paste`` (anything else).

    ``no_browser`` turns the loopback modes into ``paste`` (nothing listens); the relay mode
    stays: its listener runs either way, and a pasted line is accepted beside it."""
    if relay:
        return MODE_RELAY
    if no_browser:
        return MODE_PASTE
    parts = urlsplit(redirect_uri)
    if parts.hostname in LOOPBACK_HOSTS and parts.port:
        return MODE_LOOPBACK_TLS if parts.scheme == "https" else MODE_LOOPBACK
    return MODE_PASTE


def validate_redirect_uri(uri: str) -> str:
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            _("'{uri}' is not a redirect URI (https://... or http://127.0.0.1:PORT/...).").format(
                uri=uri
            ),
            hint=_("Use exactly the redirect URI registered for the app in the Exact App Store."),
        )
    if parts.fragment:
        raise InvalidInput(_("A redirect URI cannot have a #fragment."))
    return uri.strip()


def exact_redirect_problem(uri: str) -> str | None:
    """Why Exact Online's App Store refuses ``uri`` as a redirect URI, or None.

    Reference, December 2026 notes item 1 and §2.1: a **public HTTPS URL**, "cannot use
    localhost"; so no ``http://``, no localhost, no loopback, private or link-local address,
    no name that only resolves on a local network."""
    import ipaddress

    parts = urlsplit(uri.strip())
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme != "https":
        return _("Exact accepts only https:// redirect URIs, not {scheme}://.").format(
            scheme=parts.scheme or "?"
        )
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not address.is_global:
            return _("Exact refuses a loopback or private address ({host}).").format(host=host)
        return None
    if host == "localhost" or host.endswith(_NON_PUBLIC_SUFFIXES) or "." not in host:
        return _("Exact refuses localhost and names that are not public ({host}).").format(
            host=host
        )
    return None


def redirect_rule_hint() -> str:
    """The two ways to a redirect URI that Exact accepts (docs/connecting.md)."""
    return _(
        "Exact Online wants a public HTTPS page as redirect URI (one per app, compared byte for "
        "byte). Either publish exactlink's relay page on a site you own (`exactlink exact "
        "relay-page --output callback.html`) and run `exactlink exact app set --relay "
        "--redirect-uri https://YOUR-SITE/callback.html`, or register any HTTPS page you own "
        "and paste the address back (`exact app set --redirect-uri https://...`). "
        "See docs/connecting.md."
    )


def check_redirect_for_site(uri: str, base_url: str | None) -> None:
    """``InvalidInput`` (exit 2) when ``uri`` breaks Exact's rule for Exact's own sites.

    With ``base_url`` (a sandbox or another server) that server's own rule applies: it checks
    the URI itself when the browser arrives."""
    if base_url:
        return
    problem = exact_redirect_problem(uri)
    if problem:
        raise InvalidInput(problem, hint=redirect_rule_hint())


def site_override(config: ConfigLike, base_url: str | None, region: str | None) -> str | None:
    """The ``--base-url`` that `exact app set` leaves in force: the given one, none when only
    ``--region`` is given (a region names one of Exact's own sites), else the configured one."""
    if base_url is not None:
        return base_url or None
    if region is not None:
        return None
    return config.get("exact.base_url") or None


def load_app(config: ConfigLike, region: str | None = None) -> AppSettings:
    """The configured app, or ``NotFound`` pointing at `exact app set`.

    ``region`` (`exact connect --region`) overrides the configured site for this connection:
    normalised (``BE`` → ``be``), its site wins over a configured ``exact.base_url``."""
    from exactlink.adapters.exact.sites import DEFAULT_REGION, normalise_region, site_for

    client_id = config.get("exact.client_id")
    redirect_uri = config.get("exact.redirect_uri")
    if not client_id or not redirect_uri:
        raise NotFound(
            _("The Exact Online app is not configured."),
            hint=_(
                "Run `exactlink exact app set --client-id ID --redirect-uri URI` (the client "
                "secret is read from stdin or a hidden prompt)."
            ),
        )
    base_url = config.get("exact.base_url") or None
    if region:
        region = normalise_region(region)
        site = site_for(region)
    else:
        region = str(config.get("exact.region") or DEFAULT_REGION)
        site = site_for(region, base_url)
    return AppSettings(
        client_id=str(client_id),
        redirect_uri=str(redirect_uri),
        region=region,
        base_url=base_url,
        site=site,
        insecure_storage=bool(config.get("exact.insecure_storage", False)),
        relay=bool(config.get("exact.relay", False)),
    )


def remember_insecure_storage(config: ConfigLike) -> None:
    """`--insecure-storage` once is remembered: later commands keep using the 0600 file."""
    config.set("exact.insecure_storage", True)
    config.save()


def set_app(
    config: ConfigLike,
    secrets: SecretsLike,
    events: EventsLike,
    *,
    client_id: str,
    redirect_uri: str,
    client_secret: str,
    region: str | None = None,
    base_url: str | None = None,
    insecure_storage: bool = False,
    relay: bool = False,
) -> AppSettings:
    """Save the app: the secret to the secret store first, then config, then the audit log.

    For Exact's own sites the redirect URI must be one Exact accepts (a public HTTPS page);
    ``relay`` says that page is exactlink's relay page (`exact relay-page`)."""
    from exactlink.adapters.exact.sites import normalise_base_url, normalise_region

    client_id = client_id.strip()
    if not client_id:
        raise InvalidInput(_("The client ID is empty."))
    client_secret = client_secret.strip()
    if not client_secret:
        raise InvalidInput(
            _("The client secret is empty."),
            hint=_('Pipe it on stdin (`printf %s "$SECRET" | exactlink exact app set ...`).'),
        )
    redirect_uri = validate_redirect_uri(redirect_uri)
    if region is not None:
        region = normalise_region(region)
    if base_url:
        base_url = normalise_base_url(base_url)
    check_redirect_for_site(redirect_uri, site_override(config, base_url, region))
    if base_url is None and region is not None:
        base_url = ""  # the region's own site from now on: drop an earlier sandbox override
    secrets.set(SECRET_KEY, client_secret)
    config.set("exact.client_id", client_id)
    config.set("exact.redirect_uri", redirect_uri)
    if region is not None:
        config.set("exact.region", region)
    if base_url is not None:
        config.set("exact.base_url", base_url or None)
    if insecure_storage:
        config.set("exact.insecure_storage", True)
    config.set("exact.relay", relay)
    config.save()
    app = load_app(config)
    events.record(
        "exact.app.set",
        client_id,
        details={
            "redirect_uri": redirect_uri,
            "site": app.site,
            "mode": app.mode,
            "secret_storage": secrets.backend_name,
        },
    )
    return app


def client_secret(secrets: SecretsLike) -> str:
    secret = secrets.get(SECRET_KEY)
    if not secret:
        raise NotFound(
            _("The Exact app's client secret is not in the secret store ({backend}).").format(
                backend=secrets.backend_name
            ),
            hint=_(
                "Set it again with `exactlink exact app set --client-id ID --redirect-uri URI`."
            ),
        )
    return secret


DIVISIONS_MAX_AGE_KEY = "exact.divisions_max_age_minutes"
DIVISIONS_MAX_AGE_MINUTES = 15.0


def divisions_max_age(config: ConfigLike) -> float:
    """How old (seconds) the cached division list may be before activate and doctor fetch it
    again: ``exact.divisions_max_age_minutes`` (default 15; 0 fetches every time)."""
    value = config.get(DIVISIONS_MAX_AGE_KEY, DIVISIONS_MAX_AGE_MINUTES)
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        minutes = -1.0
    if minutes < 0 or minutes != minutes:
        raise InvalidInput(
            _("{key} must be a number of minutes (0 or more), not '{value}'.").format(
                key=DIVISIONS_MAX_AGE_KEY, value=value
            ),
            hint=_("Fix it in config.toml (default 15)."),
        )
    return minutes * 60.0


PROBE_WORKERS_KEY = "exact.probe_workers"
PROBE_WORKERS = 8
MAX_PROBE_WORKERS = 16


def probe_workers(config: ConfigLike) -> int:
    """How many probes `exact activate --all` keeps in flight: ``exact.probe_workers`` (default
    8; 1 = one after another). Exact's limits are per administration, each probe in its own."""
    value = config.get(PROBE_WORKERS_KEY, PROBE_WORKERS)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        number = 0
    else:
        number = int(value)
    if not 1 <= number <= MAX_PROBE_WORKERS:
        raise InvalidInput(
            _("{key} must be a whole number from 1 to {most}, not '{value}'.").format(
                key=PROBE_WORKERS_KEY, most=MAX_PROBE_WORKERS, value=value
            ),
            hint=_("Fix it in config.toml (default {n}).").format(n=PROBE_WORKERS),
        )
    return number
