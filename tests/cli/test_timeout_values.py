"""`--timeout` and the seconds-valued environment variables take a finite number in their range;
nan, inf, a negative, zero and absurd values are a usage error (exit 2) that names the range,
with `--json` still one JSON document (issue 15: `--timeout nan` waited for ever)."""

from __future__ import annotations

import json
import time

import pytest

from exactlink.adapters.limits import parse_seconds
from exactlink.errors import UsageError
from support.exactkit import make_world


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "1e12", "0", "86401", "-inf", "NaN", "x"])
def test_connect_refuses_a_timeout_out_of_range(run_exactlink, isolated_home, value):
    result = run_exactlink("--json", "exact", "connect", "--timeout", value, timeout=30)
    assert result.exit_code == 2, result.stderr
    document = json.loads(result.stdout)  # exactly one document
    assert document["status"] == "error"
    assert document["errors"][0]["code"] == "usage"
    message = document["errors"][0]["message"]
    assert "--timeout" in message and "from 1 to 86400" in message
    assert "from 1 to 86400" in result.stderr


def test_a_valid_timeout_is_the_wait(sandbox_factory, cli, monkeypatch):
    monkeypatch.setenv("BROWSER", "true")
    make_world(sandbox_factory, cli)
    started = time.monotonic()
    result = cli("exact", "connect", "--timeout", "1.5")
    took = time.monotonic() - started
    assert result.exit_code == 8
    assert "No answer from the browser within 2 s" in result.stderr  # 1.5 shown rounded
    assert 1.4 <= took < 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1.0), ("86400", 86400.0), (" 2.5 ", 2.5), ("nan", None), ("inf", None),
     ("-0", None), ("1e400", None), ("0x10", None), (True, None), (None, None)],
)  # fmt: skip
def test_the_one_rule(text, expected):
    assert parse_seconds(text, 1, 86400) == expected


def _statement_timeout():
    return pytest.importorskip("exactlink.adapters.store.postgres").statement_timeout


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5", "1e9"])
def test_the_team_store_statement_timeout_is_checked(monkeypatch, value):
    statement_timeout = _statement_timeout()
    monkeypatch.setenv("EXACTLINK_STORE_STATEMENT_TIMEOUT", value)
    with pytest.raises(UsageError) as info:
        statement_timeout()
    assert "EXACTLINK_STORE_STATEMENT_TIMEOUT" in info.value.message
    assert "from 1 to 86400" in info.value.message


def test_the_team_store_statement_timeout_default_and_value(monkeypatch):
    statement_timeout = _statement_timeout()
    monkeypatch.delenv("EXACTLINK_STORE_STATEMENT_TIMEOUT", raising=False)
    assert statement_timeout() == 60.0
    monkeypatch.setenv("EXACTLINK_STORE_STATEMENT_TIMEOUT", "5")
    assert statement_timeout() == 5.0
