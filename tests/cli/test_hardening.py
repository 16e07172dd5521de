"""Hardening through the CLI: a --base-url with credentials or plain HTTP to another machine is
refused; the audit log's user is the OS account, whatever LOGNAME says."""

from __future__ import annotations

import os

import pytest


@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("https://anna:hunter22@start.exactonline.nl", "user name or password"),
        ("http://start.exactonline.nl", "plain HTTP"),
    ],
)
def test_app_set_refuses_a_dangerous_base_url(cli, isolated_home, base_url, words):
    result = cli(
        "--json",
        "exact",
        "app",
        "set",
        "--client-id",
        "0b3b7a6e-0000-4000-8000-000000000001",
        "--redirect-uri",
        "http://127.0.0.1:8765/callback",
        "--base-url",
        base_url,
        "--insecure-storage",
        input="sb-secret-value\n",
    )
    assert result.exit_code == 2, result.stderr
    error = result.json()["errors"][0]
    assert words in error["message"]
    assert "hunter22" not in result.stdout + result.stderr
    config = isolated_home / "config.toml"
    assert not config.exists() or "exactonline" not in config.read_text()


@pytest.mark.skipif(os.name != "posix", reason="the password database")
def test_the_audit_user_comes_from_the_os_not_logname(run_exactlink):
    import pwd

    real = pwd.getpwuid(os.getuid()).pw_name
    spoof = {"LOGNAME": "mallory", "USER": "mallory", "LNAME": "mallory", "USERNAME": "mallory"}
    assert run_exactlink("portal", "create", "K", "--email", "k@k.be", env=spoof).exit_code == 0
    events = run_exactlink("log", "--json", env=spoof).json()
    assert events and {e["os_user"] for e in events} == {real}
