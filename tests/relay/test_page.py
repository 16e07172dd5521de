"""The relay page (`exact relay-page`) in a real headless Chromium, served over HTTPS on a
made-up public name: it forwards only to http://127.0.0.1:<port>/callback with the query as it
came, only for a port in `state`, only after load; otherwise it shows the line to paste.
Hostile `state` values neither navigate nor inject script."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from exactlink.relay import page_html
from support.relayhost import HOSTILE_STATES, NONCE, wait_for_host
from support.sandbox import free_port

CODE = "stampNL001.AbC%21dEf%2Bg"  # as Exact sends it: %21 for "!", never decoded by the page


class Listener:
    """Stands in for `exact connect`'s listener: records what reaches it."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_GET(self):
                if self.path.startswith("/callback"):
                    listener.paths.append(self.path)
                body = b"<!DOCTYPE html><title>ok</title><p>received</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


def _href(page) -> str:
    # page.url can lag behind an error page in Chromium 150 (RECIPES.md)
    return page.evaluate("location.href")


def _settle(page, seconds: float = 0.6) -> None:
    page.wait_for_timeout(int(seconds * 1000))


# ---------------------------------------------------------------------------- the file itself
def test_the_page_is_self_contained_with_a_strict_policy():
    html = page_html()
    assert not re.search(r"""(src|href|action)\s*=""", html), "no external resource"
    assert "http://" not in html.replace("http://127.0.0.1:", "")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in policy and "base-uri 'none'" in policy
    assert "form-action 'none'" in policy and "connect-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy, f"{tag} hash is stale"
    assert '<meta name="referrer" content="no-referrer">' in html
    for word in ("Kopieer", "Copy", "JavaScript staat uit", "JavaScript is off"):
        assert word in html
    for storage in ("cookie", "localStorage", "sessionStorage", "indexedDB"):
        assert storage not in html


def test_relay_page_command_writes_the_shipped_page(cli, tmp_path):
    target = tmp_path / "callback.html"
    result = cli("exact", "relay-page", "--output", str(target))
    assert result.exit_code == 0, result.stderr
    assert target.read_text("utf-8") == page_html()
    assert "exact app set --relay" in result.stderr
    piped = cli("exact", "relay-page")
    assert piped.exit_code == 0 and piped.stdout == page_html()


# ---------------------------------------------------------------------------- in Chromium
@pytest.mark.real
def test_forwards_after_load_with_the_query_unchanged_and_back_returns(
    relay_host, relay_browser, listener
):
    query = f"?code={CODE}&state={NONCE}.{listener.port}"
    page = relay_browser.new_page()
    page.goto(relay_host.url("/callback" + query))
    wait_for_host(page, on_loopback=True)
    assert _href(page) == f"http://127.0.0.1:{listener.port}/callback{query}"
    assert listener.paths == ["/callback" + query]  # %21 still %21: exactlink decodes once
    page.go_back()
    wait_for_host(page, on_loopback=False)
    assert _href(page) == relay_host.url("/callback" + query)
    _settle(page)
    assert listener.paths == ["/callback" + query], "coming back must not forward again"
    assert page.locator("#line").inner_text() == query
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.context.cookies() == []


@pytest.mark.real
@pytest.mark.slow
def test_nothing_listens_the_person_comes_back_to_the_line(relay_host, relay_browser):
    port = free_port()  # nobody listens there
    query = f"?code={CODE}&state={NONCE}.{port}"
    page = relay_browser.new_page()
    try:
        page.goto(relay_host.url("/callback" + query))
    except Exception:
        pass
    page.wait_for_timeout(1500)
    page.go_back()
    wait_for_host(page, on_loopback=False)
    _settle(page)
    assert _href(page) == relay_host.url("/callback" + query)
    assert page.locator("#line").inner_text() == query
    assert page.locator("#paste").is_visible()


@pytest.mark.real
@pytest.mark.slow
def test_a_hostile_or_portless_state_shows_the_line_and_goes_nowhere(relay_host, relay_browser):
    """Every hostile state in a page of its own, all open at once: each has had at least the
    settling time to go anywhere (a redirect, a script) before any is checked."""
    from urllib.parse import quote

    dialogs: list[str] = []
    relay_host.hits.clear()
    opened = []
    context = relay_browser.new_context()  # one for all: a context per page costs 0.2 s each
    for state in HOSTILE_STATES:
        query = f"?code={CODE}&state={quote(state, safe='')}"
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(relay_host.url("/callback" + query))
        opened.append((state, query, page))
    _settle(opened[-1][2], 0.4)
    hits = [h for h in relay_host.hits if h.startswith("/callback")]
    assert sorted(hits) == sorted("/callback" + query for _s, query, _p in opened)
    for state, query, page in opened:
        assert _href(page) == relay_host.url("/callback" + query), state
        assert page.locator("#forward").is_hidden(), state
        assert page.locator("#line").inner_text() == query, state
        assert page.evaluate("window.__pwned === undefined") and not dialogs, state
        assert page.locator("img, iframe").count() == 0, state
    context.close()


@pytest.mark.real
def test_a_second_state_or_a_fragment_cannot_redirect_elsewhere(relay_host, relay_browser):
    # A second `state` after a good one: the page uses the first, like exactlink.
    query = f"?code={CODE}&state=evil.example&state={NONCE}.8080"
    page = relay_browser.new_page()
    page.goto(relay_host.url("/callback" + query + "#@evil.example"))
    _settle(page)
    assert page.evaluate("location.hostname") == relay_host.name


@pytest.mark.real
def test_without_a_code_there_is_nothing_to_copy(relay_host, relay_browser):
    page = relay_browser.new_page()
    page.goto(relay_host.url("/callback"))
    _settle(page)
    assert page.locator("#nothing").is_visible()
    assert page.locator("#paste").is_hidden()


@pytest.mark.real
def test_with_javascript_off_it_says_to_copy_the_address(relay_host, relay_browser):
    context = relay_browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(relay_host.url(f"/callback?code={CODE}&state={NONCE}.8080"))
    time.sleep(0.3)
    text = page.inner_text("body")
    assert "copy the whole address" in text.lower() and "Kopieer het hele adres" in text
    assert page.evaluate("location.hostname") == relay_host.name
    context.close()
