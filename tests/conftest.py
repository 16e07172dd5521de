"""Test-wide fixtures. Every test runs in an isolated home, without colour, without the user's
keyring and without a route to the network; real components (keyring, Chromium) come from
fixtures in tests/support that skip on a laptop without them and fail in CI
(``EXACTLINK_REQUIRE_REAL=1``)."""

pytest_plugins = [
    "support.isolation",
    "support.cli",
    "support.real",
    "support.sandbox",
    "support.relayhost",
    "support.postgres",
]
