"""`--base-url`: a site override is HTTPS, or plain HTTP to this machine only; never with a user
name or password in it."""

from __future__ import annotations

import pytest

from exactlink.adapters.exact.sites import normalise_base_url
from exactlink.errors import InvalidInput


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://start.exactonline.nl/", "https://start.exactonline.nl"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.2:8080/", "http://127.0.0.2:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("https://sandbox.example.test:8443/x/", "https://sandbox.example.test:8443/x"),
    ],
)
def test_sites_that_are_accepted(url, expected):
    assert normalise_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@start.exactonline.nl",
        "https://user@start.exactonline.nl",
        "http://u:p@127.0.0.1:8080",
        "https://start.exactonline.nl@evil.example",
    ],
)
def test_user_info_is_refused_without_echoing_the_password(url):
    with pytest.raises(InvalidInput) as caught:
        normalise_base_url(url)
    assert "user name or password" in caught.value.message
    assert "pw" not in caught.value.message and ":p@" not in caught.value.message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "url", ["http://start.exactonline.nl", "http://10.0.0.5:8080", "http://127.0.0.1.nip.io"]
)
def test_plain_http_to_another_machine_is_refused(url):
    with pytest.raises(InvalidInput) as caught:
        normalise_base_url(url)
    assert "plain HTTP" in caught.value.message
    assert "https://" in (caught.value.hint or "")
