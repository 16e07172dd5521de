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

MODE_LOOPBACK = "loopback"
MODE_LOOPBACK_TLS = "loopback-tls"
MODE_PASTE = "paste"
# urlsplit().hostname drops the brackets of an IPv6 literal: "[::1]" arrives as "::1".
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


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

    @property
    def mode(self) -> str:
        return redirect_mode(self.redirect_uri)

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "region": self.region,
            "base_url": self.base_url,
            "site": self.site,
            "mode": self.mode,
            "insecure_storage": self.insecure_storage,
        }


def redirect_mode(redirect_uri: str, no_browser: bool = False) -> str:
    """``loopback`` (http on 127.0.0.1/localhost with a port), ``loopback-tls`` (https on
    localhost), or ``paste`` (anything else, or ``--no-browser``)."""
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
) -> AppSettings:
    """Save the app: the secret to the secret store first, then config, then the audit log."""
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
    secrets.set(SECRET_KEY, client_secret)
    config.set("exact.client_id", client_id)
    config.set("exact.redirect_uri", redirect_uri)
    if region is not None:
        config.set("exact.region", region)
    if base_url is not None:
        config.set("exact.base_url", base_url or None)
    if insecure_storage:
        config.set("exact.insecure_storage", True)
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
