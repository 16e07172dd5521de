"""Exact Online's country sites (reference §1.1): one host serves login, token endpoint and API.

Accounts belong to one site, so the site is stored with every connection.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from exactlink.errors import InvalidInput
from exactlink.i18n import _

SITES: dict[str, str] = {
    "nl": "https://start.exactonline.nl",
    "be": "https://start.exactonline.be",
    "de": "https://start.exactonline.de",
    "uk": "https://start.exactonline.co.uk",
    "us": "https://start.exactonline.com",
    "es": "https://start.exactonline.es",
    "fr": "https://start.exactonline.fr",
}
# The domain extensions as other tools (Nango) name them.
ALIASES = {"co.uk": "uk", "gb": "uk", "com": "us"}
DEFAULT_REGION = "nl"

AUTHORIZE_PATH = "/api/oauth2/auth"
TOKEN_PATH = "/api/oauth2/token"
API_PATH = "/api/v1/"


def normalise_region(region: str) -> str:
    """``"BE"`` → ``"be"``, ``"co.uk"`` → ``"uk"``; anything unknown is ``InvalidInput``."""
    key = region.strip().lower()
    key = ALIASES.get(key, key)
    if key not in SITES:
        raise InvalidInput(
            _("Unknown Exact Online region '{region}'.").format(region=region),
            hint=_("Use one of: {regions}.").format(regions=", ".join(SITES)),
        )
    return key


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: traffic that never leaves this machine."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_base_url(url: str) -> str:
    """A site override (a sandbox): scheme and host, no trailing slash.

    Refused: user info (``https://user:pw@host``: a password in config and in every log line,
    and a classic way to disguise the real host) and plain HTTP to anything but this machine
    (the client secret and the tokens would cross the network readable).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            _("'{url}' is not a site address like https://start.exactonline.nl.").format(
                url=_without_userinfo(url)
            )
        )
    if "@" in parts.netloc:
        raise InvalidInput(
            _("The site address {url} contains a user name or password.").format(
                url=_without_userinfo(url)
            ),
            hint=_(
                "Leave credentials out of --base-url: exactlink signs in with the app's client"
                " ID and secret."
            ),
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidInput(
            _("The site address {url} uses plain HTTP to another machine.").format(url=url),
            hint=_("Use https://, or http:// only for a sandbox on this machine (127.0.0.1)."),
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` blanked, for messages (never echo a password)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{scheme}://{netloc}{slash}{path}"


def site_for(region: str | None, base_url: str | None = None) -> str:
    """The site of a region, or the configured ``exact.base_url`` override."""
    if base_url:
        return normalise_base_url(base_url)
    return SITES[normalise_region(region or DEFAULT_REGION)]
