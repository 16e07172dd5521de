"""Runs one step of the demo: ``python -m exactlink --home HOME ...`` as a real subprocess, its
output streamed to the reporter, and the consent page answered by the scripted browser the
``demo`` command hands in (:class:`ScriptedConsent`)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from exactlink.errors import ExactlinkError
from exactlink.i18n import _, current_language
from exactlink.services.demo.cast import Login
from exactlink.services.demo.script import Step, StepResult

AUTH_URL = re.compile(r"https?://\S+/api/oauth2/auth/?\?\S+")


class DemoFailed(ExactlinkError):
    """A step of the demo ended otherwise than the script expects."""


class ConsentFailed(Exception):
    """The scripted browser could not answer the consent page."""


class ScriptedConsent(Protocol):
    """Logs in on the authorize URL and presses *Allow*, as a person would; returns the address
    the browser landed on (``follow``: also open it, so a loopback listener receives it).
    Raises :class:`ConsentFailed` or ``OSError``."""

    def __call__(self, auth_url: str, username: str, password: str, *, follow: bool) -> str: ...


class Reporter(Protocol):
    """How the demo talks to the person running it (the CLI renders it)."""

    def step(self, number: int, total: int, title: str, command: str) -> None:
        """A step begins: what it is for, and the command line a user would type."""

    def explain(self, text: str) -> None:
        """A sentence of narration (why, what to look at)."""

    def output(self, line: str, stream: str) -> None:
        """One line the command wrote (``stream`` is ``stdout`` or ``stderr``)."""


class Runner:
    """Runs ``python -m exactlink --home HOME ...`` and streams its output to the reporter."""

    def __init__(
        self, home: Path, reporter: Reporter, consent: ScriptedConsent, *, interactive: bool
    ) -> None:
        self.home = home
        self.consent = consent
        self.reporter = reporter
        self.interactive = interactive
        self.env = _child_env(interactive)

    def run(self, step: Step, *, quiet: bool = False) -> StepResult:
        argv = [sys.executable, "-m", "exactlink", "--home", str(self.home), *step.args]
        process = subprocess.Popen(
            argv,
            cwd=self.home,
            env=self.env,
            stdin=_stdin_for(step),
            stdout=subprocess.PIPE,
            # Narrated: one pipe, so the lines arrive in the order the command wrote them.
            stderr=subprocess.PIPE if quiet else subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        seen_url = threading.Event()
        urls: list[str] = []
        chunks: dict[str, list[str]] = {"stdout": [], "stderr": []}

        def pump(stream: Any, name: str) -> None:
            for line in stream:
                chunks[name].append(line)
                if not quiet:
                    self.reporter.output(line.rstrip("\n"), name)
                if not seen_url.is_set():
                    found = AUTH_URL.search(line)
                    if found:
                        urls.append(found.group(0))
                        seen_url.set()
            stream.close()

        readers = [threading.Thread(target=pump, args=(process.stdout, "stdout"), daemon=True)]
        if process.stderr is not None:
            readers.append(
                threading.Thread(target=pump, args=(process.stderr, "stderr"), daemon=True)
            )
        for reader in readers:
            reader.start()
        try:
            if step.stdin is not None and process.stdin is not None:
                process.stdin.write(step.stdin)
                process.stdin.close()
            if step.consent is not None:
                self._consent(process, seen_url, urls, step.consent, paste=step.paste)
            process.wait(timeout=step.timeout)
        except BaseException:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()
            raise
        finally:
            for reader in readers:
                reader.join(timeout=5)
        return StepResult(
            step.key, process.returncode, "".join(chunks["stdout"]), "".join(chunks["stderr"])
        )

    def _consent(
        self,
        process: subprocess.Popen[str],
        seen_url: threading.Event,
        urls: list[str],
        login: Login,
        *,
        paste: bool,
    ) -> None:
        """Wait for the login address on stderr, then log in and press Allow like a person: the
        browser then brings the answer to the loopback listener, or (paste) the person copies
        the address it landed on into the terminal."""
        while not seen_url.wait(0.1):
            if process.poll() is not None:
                return  # it failed before printing the address; its exit code tells
        try:
            with _no_proxy_for_loopback():
                landed = self.consent(urls[0], login.username, login.password, follow=not paste)
            if paste and process.stdin is not None:
                self.reporter.explain(_("(pasted: {address})").format(address=_shorten(landed)))
                process.stdin.write(landed + "\n")
                process.stdin.close()
        except (ConsentFailed, OSError) as exc:
            process.kill()
            raise DemoFailed(
                _("The scripted browser could not answer the consent page: {error}").format(
                    error=exc
                )
            ) from None

    def json(self, args: Sequence[str]) -> Any:
        """Run a read command with --json, silently, and parse its stdout."""
        result = self.run(Step("", ["--json", *args]), quiet=True)
        try:
            return json.loads(result.stdout)
        except ValueError:
            return None


def _shorten(url: str, keep: int = 60) -> str:
    return url if len(url) <= keep else url[:keep] + "…"


def _child_env(interactive: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["EXACTLINK_LANG"] = current_language()
    env.pop("EXACTLINK_HOME", None)  # --home is passed; nothing else may point elsewhere
    env["NO_COLOR"] = "1"  # the output is re-printed, indented
    env["PYTHONUNBUFFERED"] = "1"  # line by line, as on a terminal
    loopback = "127.0.0.1,localhost"
    for name in ("NO_PROXY", "no_proxy"):
        env[name] = f"{env[name]},{loopback}" if env.get(name) else loopback
    if not interactive:
        # Nobody is at the screen: `exact connect` must not open a browser window. An empty
        # command list makes webbrowser find no browser; the URL is still printed.
        env["BROWSER"] = "true" if os.name == "posix" and shutil.which("true") else ""
    return env


@contextlib.contextmanager
def _no_proxy_for_loopback() -> Iterator[None]:
    """urllib (the scripted browser) honours proxy variables; the sandbox is on loopback."""
    saved = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    try:
        for name, value in saved.items():
            os.environ[name] = f"{value},127.0.0.1,localhost" if value else "127.0.0.1,localhost"
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _stdin_for(step: Step) -> int | None:
    """A pipe for what the demo types, the terminal for a person who pastes, else nothing."""
    if step.stdin is not None or step.paste:
        return subprocess.PIPE
    return None if step.person else subprocess.DEVNULL
