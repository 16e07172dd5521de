"""Recompute the Content-Security-Policy hashes of the relay page after editing its script or
style: `python tests/tools/relay_csp.py` (tests/relay/test_page.py fails while they are stale)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "src" / "exactlink" / "relay" / "page.html"


def digest(html: str, tag: str) -> str:
    body = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.S).group(1)
    return "sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()


def main() -> None:
    html = PAGE.read_text("utf-8")
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        html = re.sub(rf"{directive} 'sha256-[^']*'", f"{directive} '{digest(html, tag)}'", html)
    PAGE.write_text(html, "utf-8")


if __name__ == "__main__":
    main()
