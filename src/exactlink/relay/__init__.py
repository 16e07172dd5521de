"""The relay page: one static HTML file the firm publishes at its redirect URI.

Exact Online accepts only a public HTTPS redirect URI (reference, December 2026 notes item 1),
so the browser comes back to a page on the web, not to the CLI. ``page.html`` reads ``code`` and
``state`` there, forwards the browser to exactlink's listener on ``http://127.0.0.1:<port>/``
(the port carried in ``state``) and otherwise shows the line to paste. `exact relay-page`
writes it; it has no external resources and a strict Content-Security-Policy whose script and
style hashes a test recomputes.
"""

from __future__ import annotations

PAGE = "page.html"


def page_html() -> str:
    """The page as shipped in the package."""
    from importlib.resources import files

    return files(__name__).joinpath(PAGE).read_text("utf-8")
