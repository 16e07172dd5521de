"""The one-shot loopback listener of `exact connect`, on real sockets."""

from __future__ import annotations

import socket
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
