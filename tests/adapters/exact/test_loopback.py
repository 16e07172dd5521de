"""The loopback listener of `exact connect`, on real sockets."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from exactlink.adapters.exact.loopback import LoopbackListener
from exactlink.errors import ExactUnreachable
from support.sandbox import free_port


def test_two_connects_in_a_row_reuse_the_port():
    """The first listener's socket lingers in TIME_WAIT; a second `exact connect` a few seconds
    later must still bind the same registered redirect URI."""
    uri = f"http://127.0.0.1:{free_port()}/callback"
    for attempt in range(2):
        with LoopbackListener(uri) as listener:
            listener.expect("s")
            with urllib.request.urlopen(f"{uri}?code=c{attempt}%21x&state=s", timeout=5) as reply:
                assert reply.status == 200
            assert listener.wait(5) == f"{uri}?code=c{attempt}%21x&state=s"


def test_a_port_another_program_listens_on_is_refused():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        with pytest.raises(ExactUnreachable) as info:
            LoopbackListener(f"http://127.0.0.1:{port}/callback").start()
    assert info.value.exit_code == 8
    assert "in use" in info.value.message


# ---------------------------------------------------------------------------- only our state
STRAYS = [
    "code=stampNL001.x%21y&state=other",  # another attempt's state
    "code=stampNL001.x%21y",  # no state at all
    "error=access_denied",  # a "decline" without our state is not a real decline
    "error=access_denied&state=n0nce.4243",
    "state=&code=x",
    "state=%1b%5b31m%3cscript%3e&code=%1b%5d0%3bpwned%07",  # nothing of it comes back
]


def _get(url: str, context=None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_loopback_modes_end_only_on_this_attempts_state(tmp_path, monkeypatch, scheme):
    import ssl

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    host = "localhost" if scheme == "https" else "127.0.0.1"
    uri = f"{scheme}://{host}:{free_port()}/callback"
    with LoopbackListener(uri, tmp_path / "tls") as listener:
        context = None
        if scheme == "https":
            context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "localhost.pem"))
        listener.expect("n0nce")
        for query in STRAYS:
            status, body = _get(f"{uri}?{query}", context)
            assert status == 400 and "another attempt" in body, query
            assert "script" not in body and "pwned" not in body and "\x1b" not in body
            assert not listener.done
        assert _get(f"{uri}?error=access_denied&state=n0nce", context)[0] == 200
        assert listener.wait(1) == f"{uri}?error=access_denied&state=n0nce"
        # Answered: the listener takes nothing more.
        assert _get(f"{uri}?code=late&state=n0nce", context)[0] == 404


def test_before_expect_nothing_is_the_answer(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    uri = f"http://127.0.0.1:{free_port()}/callback"
    with LoopbackListener(uri) as listener:
        assert _get(f"{uri}?code=c&state=s")[0] == 400
        with pytest.raises(ExactUnreachable):
            listener.wait(0.3)
