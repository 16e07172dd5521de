"""Running the CLI: in-process through typer's CliRunner, or as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli():
    """``cli("client", "list", "--json", input=...)`` → Result (in-process, separate streams)."""
    from typer.testing import CliRunner

    from exactlink.cli.app import app

    def run(*args: str, input: str | None = None, env: dict | None = None) -> Result:
        runner = CliRunner()
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def run_exactlink():
    """``run_exactlink("portal", "list", input=...)`` as a real subprocess of this Python."""

    def run(*args: str, input: str | None = None, env: dict | None = None, timeout: float = 60):
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            [sys.executable, "-m", "exactlink", *args],
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
