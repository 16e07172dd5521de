"""OAuthClient.me (current/Me right after the code exchange) over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from exactlink.adapters.exact.http import new_session
from exactlink.adapters.exact.oauth import AppCredentials, OAuthClient
from exactlink.errors import ExactUnreachable


@pytest.fixture
def site():
    """A site whose current/Me answers 200 with ``Answer.body`` (``Answer.kind`` as type)."""

    class Answer(BaseHTTPRequestHandler):
        body = b""
        kind = "application/json"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", self.kind)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Answer
    server.shutdown()
    server.server_close()


def _me(base: str) -> dict:
    app = AppCredentials(base, "app", "secret", "http://127.0.0.1:1/cb")
    session = new_session()
    try:
        return OAuthClient(app, session).me("token")
    finally:
        session.close()


def test_me_reads_the_one_record(site):
    base, answer = site
    answer.body = b'{"d": {"results": [{"UserID": "u-1", "CurrentDivision": 42}]}}'
    assert _me(base) == {"UserID": "u-1", "CurrentDivision": 42}


def test_a_200_that_is_not_json_is_exact_unreachable(site):
    base, answer = site
    answer.body, answer.kind = b"<html>maintenance</html>", "text/html"
    with pytest.raises(ExactUnreachable):
        _me(base)
