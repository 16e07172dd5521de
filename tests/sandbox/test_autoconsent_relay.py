"""The scripted browser follows the relay page's rule, the same as the page in Chromium
(tests/relay/test_page.py): forward only to 127.0.0.1:<port>/callback with the query as it
came, for a port in state; otherwise the line."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from exactlink_sandbox.autoconsent import relay_line, relay_target
from support.relayhost import HOSTILE_STATES, NONCE, RELAY_URI


def test_forward_target_keeps_the_query():
    location = f"{RELAY_URI}?code=stampNL001.x%21y&state={NONCE}.43117"
    assert relay_target(location) == (
        f"http://127.0.0.1:43117/callback?code=stampNL001.x%21y&state={NONCE}.43117"
    )
    assert relay_line(location) == f"?code=stampNL001.x%21y&state={NONCE}.43117"
    declined = f"{RELAY_URI}?error=access_denied&state={NONCE}.43117"
    assert (
        relay_target(declined)
        == f"http://127.0.0.1:43117/callback?error=access_denied&state={NONCE}.43117"
    )


@pytest.mark.parametrize("state", HOSTILE_STATES)
def test_no_forward_for_a_hostile_or_portless_state(state):
    assert relay_target(f"{RELAY_URI}?code=c&state={quote(state, safe='')}") is None


def test_no_forward_without_code_or_error():
    assert relay_target(f"{RELAY_URI}?state={NONCE}.43117") is None
