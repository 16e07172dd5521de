"""Measure exactlink as users run it: the console script, with compiled bytecode.

pip compiles an installed package's bytecode; an editable checkout under
``PYTHONDONTWRITEBYTECODE=1`` would recompile every module on every start, which no user pays.
"""

from __future__ import annotations

import compileall
import importlib.util
import sys
from pathlib import Path


def installed_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with bytecode allowed, after compiling the package once."""
    package = Path(importlib.util.find_spec("exactlink").origin).parent
    compileall.compile_dir(package, quiet=1)
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def exactlink_command() -> list[str]:
    """The console script beside this Python (``python -m`` would add runpy)."""
    script = Path(sys.executable).parent / "exactlink"
    return [str(script)] if script.exists() else [sys.executable, "-m", "exactlink"]
