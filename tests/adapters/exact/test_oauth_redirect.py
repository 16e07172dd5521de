"""What comes back from the browser: the landed address, its query or the relay page's line;
the code decoded exactly once; the relay state; Exact's redirect rule for its own sites."""

from __future__ import annotations

import pytest

from exactlink.adapters.exact.oauth import (
    AppCredentials,
    OAuthClient,
    authorize_url,
    code_from_redirect,
    relay_state,
)
from exactlink.errors import InvalidInput
from exactlink.services.exact_app import exact_redirect_problem

URI = "https://auth.kantoor.nl/exact/callback"
STATE = "Zq3-_nonce-0123456789.43117"


@pytest.mark.parametrize(
    "pasted",
    [
        f"{URI}?code=stampNL001.ab%21cd&state={STATE}",
        f"?code=stampNL001.ab%21cd&state={STATE}",
        f"code=stampNL001.ab%21cd&state={STATE}",
        f"state={STATE}&code=stampNL001.ab%21cd",
        f"  {URI}?code=stampNL001.ab%21cd&state={STATE}\n",
    ],
)
def test_url_query_or_line_give_the_code_decoded_once(pasted):
    assert code_from_redirect(pasted, URI, STATE) == "stampNL001.ab!cd"


def test_the_code_is_decoded_exactly_once():
    assert code_from_redirect(f"?code=a%2521b&state={STATE}", URI, STATE) == "a%21b"


def test_the_relay_forward_address_is_accepted_in_relay_mode_only():
    forward = f"http://127.0.0.1:43117/callback?code=x%21&state={STATE}"
    assert code_from_redirect(forward, URI, STATE, relay=True) == "x!"
    with pytest.raises(InvalidInput):
        code_from_redirect(forward, URI, STATE)
    with pytest.raises(InvalidInput):
        code_from_redirect(forward.replace("/callback", "/other"), URI, STATE, relay=True)


@pytest.mark.parametrize("pasted", ["not a url at all", "https://evil.example/cb?code=x", ""])
def test_anything_else_is_not_the_answer(pasted):
    with pytest.raises(InvalidInput, match="not the address Exact redirected to"):
        code_from_redirect(pasted, URI, STATE)


def test_relay_state_and_force_login():
    app = AppCredentials("https://start.exactonline.nl", "{id}", "s", URI)
    assert relay_state("nonce", 43117) == "nonce.43117"
    assert relay_state("nonce", None) == "nonce"
    with pytest.raises(ValueError):
        relay_state("nonce", 80)
    client = OAuthClient(app, session=None, relay=True, relay_port=43117)  # type: ignore[arg-type]
    state = client.new_state()
    nonce, port = state.rsplit(".", 1)
    assert port == "43117" and "." not in nonce and len(nonce) >= 16
    assert "force_login=1" in client.authorize_url(state)
    assert "force_login" not in authorize_url(app, state)
    assert "force_login" not in OAuthClient(app, None, force_login=False).authorize_url("s")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "refused"),
    [
        ("https://auth.kantoor.nl/callback", False),
        ("https://kantoor.github.io/exact/callback.html", False),
        ("https://8.8.8.8/callback", False),
        ("http://auth.kantoor.nl/callback", True),
        ("https://localhost/callback", True),
        ("https://LOCALHOST./callback", True),
        ("https://127.0.0.2/callback", True),
        ("https://[::1]:8443/callback", True),
        ("https://[fd00::1]/callback", True),
        ("https://172.16.0.1/callback", True),
        ("https://100.64.0.1/callback", True),
        ("https://0.0.0.0/callback", True),
        ("https://nas/callback", True),
        ("https://printer.lan/callback", True),
        ("https://router.home.arpa/callback", True),
    ],
)
def test_exacts_redirect_rule(uri, refused):
    assert (exact_redirect_problem(uri) is not None) is refused
