"""HTML of the login, consent and error pages (reference §2.2 "What the user sees").

Real forms that POST back to ``/api/oauth2/auth``, so they work in any browser, headless
Chromium included, and in :mod:`exactlink_sandbox.autoconsent`. Every value that comes from a
request or the seed goes through :func:`html.escape`.
"""

from __future__ import annotations

from html import escape

from .seed import Company

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0}
main{max-width:640px;margin:40px auto;background:#fff;padding:24px 32px;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.3em;color:#e2231a}label{display:block;margin:6px 0}
.error{color:#b00020}.muted{color:#555;font-size:.9em}
ul{list-style:none;padding-left:0}li{padding:2px 0}
button{margin:12px 8px 0 0;padding:8px 18px}
"""


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    ).encode()


def _hidden(name: str, value: str | None) -> str:
    if value is None:
        return ""
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def login_page(params: dict[str, str], app_name: str, error: str | None = None) -> bytes:
    """Exact's login page; the authorize parameters travel along as hidden fields."""
    hidden = "".join(
        _hidden(key, params.get(key))
        for key in ("client_id", "redirect_uri", "response_type", "state", "force_login")
    )
    message = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    body = f"""
<h1>Exact Online (sandbox)</h1>
<p>Inloggen om <strong>{escape(app_name)}</strong> toegang te geven /
Log in to give <strong>{escape(app_name)}</strong> access.</p>
{message}
<form method="post" action="/api/oauth2/auth" id="loginform">
{hidden}<input type="hidden" name="step" value="login">
<label for="username">Gebruikersnaam / User name</label>
<input type="text" id="username" name="username" autocomplete="username" required>
<label for="password">Wachtwoord / Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div><button type="submit" id="login">Inloggen / Log in</button></div>
</form>"""
    return _page("Exact Online - Inloggen", body)


def consent_page(
    txn: str,
    app_name: str,
    full_name: str,
    companies: list[Company],
    ticked: set[int],
    all_ticked: bool,
    scoping: bool,
    error: str | None = None,
) -> bytes:
    """The consent screen: one checkbox per administration, "all current and future", decline.

    ``error`` is shown above the form (an empty selection, §2.2): no code is issued then.
    """
    if scoping:
        rows = "\n".join(
            f'<li><label><input type="checkbox" name="division" value="{c.division}" '
            f'id="division-{c.division}"{" checked" if c.division in ticked else ""}> '
            f"{c.division} &mdash; {escape(c.name)}</label></li>"
            for c in companies
        )
        picker = f"""
<p>Kies de administraties die deze app mag gebruiken /
Choose the administrations this app may use:</p>
<label><input type="checkbox" name="all" value="1" id="all"{" checked" if all_ticked else ""}>
Toestaan: Alle huidige en toekomstige administraties /
Allow: all current and future administrations</label>
<ul id="divisions">
{rows}
</ul>"""
    else:
        picker = (
            "<p>Deze app kan alle administraties gebruiken waar u toegang toe heeft / "
            "This app can use all administrations you have access to.</p>"
        )
    body = f"""
<h1>Toegang verlenen / Grant access</h1>
<p><strong>{escape(app_name)}</strong> vraagt toegang tot uw gegevens in Exact Online /
asks for access to your data in Exact Online.</p>
<p class="muted">Ingelogd als / Signed in as {escape(full_name)}</p>
{f'<p class="error" id="error">{escape(error)}</p>' if error else ""}
<form method="post" action="/api/oauth2/auth" id="consentform">
<input type="hidden" name="step" value="consent">
{_hidden("txn", txn)}
{picker}
<div>
<button type="submit" name="action" value="allow" id="allow">Toestaan / Allow</button>
<button type="submit" name="action" value="decline" id="decline">Weigeren / Decline</button>
</div>
</form>"""
    return _page("Exact Online - Toegang verlenen", body)


def error_page(message: str) -> bytes:
    """Shown instead of a redirect when the client or the redirect URI is wrong (§2.1)."""
    body = f'<h1>Exact Online</h1><p class="error" id="error">{escape(message)}</p>'
    return _page("Exact Online - Fout", body)


def landing_page(base_url: str) -> bytes:
    body = (
        "<h1>Exact Online sandbox</h1>"
        f"<p>OAuth: <code>{escape(base_url)}/api/oauth2/auth</code>, "
        f"<code>{escape(base_url)}/api/oauth2/token</code>; REST: "
        f"<code>{escape(base_url)}/api/v1/</code>; seed: "
        f'<a href="/_sandbox/seed">/_sandbox/seed</a>.</p>'
    )
    return _page("Exact Online sandbox", body)
