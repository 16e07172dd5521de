"""The README and the connecting docs tell a firm nothing a real Exact Online would refuse: every
redirect URI they give for Exact's own sites is a public HTTPS page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exactlink.services.exact_app import exact_redirect_problem

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/connecting.md", "docs/getting-started.md", "docs/scripting.md"]


def _commands(text: str) -> list[str]:
    """Shell commands of the code blocks, continuation lines joined."""
    blocks, current, language = [], [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if language is None:
                language = line[3:].strip() or "sh"
            else:
                if language in ("sh", "bash"):
                    blocks.append("\n".join(current))
                current, language = [], None
        elif language is not None:
            current.append(line)
    return [c for block in blocks for c in block.replace("\\\n", " ").splitlines()]


@pytest.mark.parametrize("name", DOCS)
def test_redirect_uris_for_exacts_sites_are_public_https(name):
    found = 0
    for command in _commands((ROOT / name).read_text("utf-8")):
        match = re.search(r"--redirect-uri[ =]['\"]?([^'\" ]+)", command)
        if not match or "--base-url" in command or "sandbox" in command:
            continue
        found += 1
        uri = match.group(1)
        if uri.startswith(("URI", "HTTPS-URI")):
            continue
        assert exact_redirect_problem(uri) is None, f"{name}: {command.strip()}"
    if name in ("README.md", "docs/connecting.md", "docs/getting-started.md"):
        assert found, f"{name} shows no `exact app set --redirect-uri`"


def test_no_loopback_redirect_is_recommended_for_a_real_firm():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "127.0.0.1:8765" not in readme and "--relay" in readme
