"""Which administrations `exact status` says need attention (a pure rule, in a table)."""

from __future__ import annotations

import pytest

from exactlink.models import RateLimitState
from exactlink.services.status import limit_problems

NOW = 1_800_000_000.0
LATER = int((NOW + 3600) * 1000)
EARLIER = int((NOW - 3600) * 1000)


@pytest.mark.parametrize(
    ("state", "errors", "expected"),
    [
        (RateLimitState(1, 5000, 4999, LATER, 60, 59, LATER), {}, []),
        (RateLimitState(1, 5000, 0, LATER, 60, 59, LATER), {}, ["no calls left today"]),
        (RateLimitState(1, 5000, 0, EARLIER, 60, 59, EARLIER), {}, []),  # reset since
        (RateLimitState(1, 5000, 499, LATER, 60, 59, LATER), {}, ["499 of 5000 calls left"]),
        (RateLimitState(1, 5000, 500, LATER, 60, 59, LATER), {}, []),
        (RateLimitState(1, 5000, 4000, LATER, 60, 0, LATER), {}, ["no calls left this minute"]),
        (RateLimitState(1, 5000, 4000, LATER, 60, 0, EARLIER), {}, []),
        (RateLimitState(1), {}, []),  # no headers seen
        (RateLimitState(1), {1: 4}, []),
        (RateLimitState(1), {1: 5}, ["5 errors in the last hour"]),
    ],
)
def test_limit_problems(state, errors, expected):
    found = limit_problems([state], recent_errors=errors, now=NOW)
    assert [division for division, _text in found] == [1] * len(expected)
    for (_division, text), start in zip(found, expected, strict=True):
        assert text.startswith(start), text
