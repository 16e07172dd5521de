"""Test-wide fixtures and how the suite runs.

Every test runs in an isolated home, without colour, without the user's keyring and without a
route to the network; real components (keyring, Chromium) come from fixtures in tests/support
that skip on a laptop without them and fail in CI (``EXACTLINK_REQUIRE_REAL=1``).

The suite runs in parallel by itself, the slow tests first (tests/support/parallel.py): every
test has its own home, its own ports and its own keyring entries, so neither the order nor the
worker changes a result.
"""

pytest_plugins = [
    "support.parallel",
    "support.isolation",
    "support.cli",
    "support.real",
    "support.sandbox",
    "support.relayhost",
    "support.postgres",
    "support.private_keyring",
]
