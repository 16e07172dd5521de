"""`exactlink sandbox serve` as a real subprocess: JSON line, serving, Ctrl-C, port in use."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import requests


def _start(*args: str) -> subprocess.Popen:
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost")
    return subprocess.Popen(
        [sys.executable, "-m", "exactlink", "sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_serve_json_line_serves_and_stops_on_ctrl_c():
    proc = _start("--clients", "5", "--seed", "3", "--json")
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        for key in (
            "base_url",
            "client_id",
            "client_secret",
            "redirect_uri",
            "username",
            "password",
        ):
            assert info[key], key
        assert info["base_url"].startswith("http://127.0.0.1:")
        seed = requests.get(info["base_url"] + "/_sandbox/seed", timeout=5).json()
        assert seed["app"]["client_id"] == info["client_id"]
        assert seed["logins"][0]["username"] == info["username"]
        assert sum(c["kind"] == "client" for c in seed["companies"]) == 5
        login_page = requests.get(
            info["base_url"] + "/api/oauth2/auth",
            params={
                "client_id": info["client_id"],
                "redirect_uri": info["redirect_uri"],
                "response_type": "code",
            },
            timeout=5,
        )
        assert login_page.status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out == ""  # nothing after the one JSON line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_human_output(run_exactlink):
    proc = _start("--clients", "8")
    try:
        lines: list[str] = []
        while not any(" client " in line for line in lines):  # the logins table's last row
            line = proc.stdout.readline()
            assert line, "stdout closed early"
            lines.append(line)
        assert lines[0].split()[:2] == ["base", "URL"]
        assert (
            "client id" in lines[1] and "client secret" in lines[2] and "redirect URI" in lines[3]
        )
        assert any(" firm " in line for line in lines)
        # The "press Ctrl-C" line comes after the banner; wait for it so the interrupt lands
        # while the server runs (an earlier one must also exit 0, but says less).
        while "Ctrl-C" not in (line := proc.stderr.readline()):
            assert line, "stderr closed early"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_port_in_use_exits_8(run_exactlink):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_exactlink("sandbox", "serve", "--port", str(port), timeout=30)
    assert result.exit_code == 8
    assert "in use" in result.stderr
    assert "--port" in result.stderr


def test_non_loopback_host_is_a_usage_error(run_exactlink):
    result = run_exactlink("sandbox", "serve", "--host", "0.0.0.0", timeout=30)
    assert result.exit_code == 2
    assert "loopback" in result.stderr


def test_serve_is_strict_by_default_and_lenient_by_name():
    for args, profile, redirect in (
        ((), "strict", "https://auth.exactlink.test/callback"),
        (("--profile", "lenient"), "lenient", "http://127.0.0.1:8765/callback"),
    ):
        proc = _start("--clients", "2", "--json", *args)
        try:
            info = json.loads(proc.stdout.readline())
            assert info["profile"] == profile and info["redirect_uri"] == redirect
            seed = requests.get(info["base_url"] + "/_sandbox/seed", timeout=5).json()
            assert seed["profile"] == profile
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_switch_on_top_of_the_profile():
    proc = _start("--clients", "2", "--json", "--switch", "code_exchange_counts=false")
    try:
        info = json.loads(proc.stdout.readline())
        switches = requests.get(info["base_url"] + "/_sandbox/switches", timeout=5).json()
        assert switches["profile"] == "strict"
        assert switches["code_exchange_counts"] is False
        assert switches["require_public_https_redirect"] is True  # the rest stays strict
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_loopback_or_localhost_redirect_uri_exits_2_naming_the_rule(run_exactlink):
    for uri in ("http://127.0.0.1:9123/callback", "https://localhost:8443/callback"):
        result = run_exactlink("sandbox", "serve", "--redirect-uri", uri, timeout=30)
        assert result.exit_code == 2, result.stderr
        assert "require_public_https_redirect" in result.stderr and uri in result.stderr


def test_an_unknown_profile_exits_2(run_exactlink):
    result = run_exactlink("sandbox", "serve", "--profile", "loose", timeout=30)
    assert result.exit_code == 2
    assert "unknown profile" in result.stderr


def test_several_country_sites():
    proc = _start("--clients", "2", "--json", "--site", "nl", "--site", "be")
    try:
        info = json.loads(proc.stdout.readline())
        assert set(info["sites"]) == {"nl", "be"} and info["sites"]["nl"] == info["base_url"]
        be = requests.get(info["sites"]["be"] + "/_sandbox/seed", timeout=5).json()
        assert be["sites"] == info["sites"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
