"""`exactlink demo`: the whole job, run for real against the local sandbox.

The demo is a script of the commands an accountant types, and it runs exactly those: every step is
a real ``python -m exactlink --home TMP ...`` subprocess against a :class:`~exactlink_sandbox.Sandbox`
on 127.0.0.1, so what it narrates is what a person would see. The cast (the firm, the client with
its own Exact link, the client whose administration is not granted, the clients still pending)
comes from the sandbox's deterministic seed.

Only two things differ from a real firm, and the demo says both:

* nobody sits at the browser, so the sandbox's scripted browser
  (:func:`exactlink_sandbox.autoconsent.authorize`) logs in and presses *Allow* on the consent page
  the real loopback flow opens (``interactive=True`` leaves that to a person);
* the sandbox's throwaway secrets go to the ``--insecure-storage`` file inside the temporary home,
  so the demo works on a machine without a keyring service and leaves nothing in a keyring.

This module never prints: it reports through a :class:`Reporter` the CLI provides.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from exactlink.errors import ExactlinkError
from exactlink.i18n import _, current_language

MIN_CLIENTS = 7  # the sandbox's seed has all its special cases from 7 clients on
DEFAULT_CLIENTS = 8
SEED = 1
CONNECT_TIMEOUT = 330.0  # `exact connect` itself gives a person 300 s at the browser
STEP_TIMEOUT = 120.0
AUTH_URL = re.compile(r"https?://\S+/api/oauth2/auth/?\?\S+")


class DemoFailed(ExactlinkError):
    """A step of the demo ended otherwise than the script expects."""


class Reporter(Protocol):
    """How the demo talks to the person running it (the CLI renders it)."""

    def step(self, number: int, total: int, title: str, command: str) -> None:
        """A step begins: what it is for, and the command line a user would type."""

    def explain(self, text: str) -> None:
        """A sentence of narration (why, what to look at)."""

    def output(self, line: str, stream: str) -> None:
        """One line the command wrote (``stream`` is ``stdout`` or ``stderr``)."""


# -- the cast ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Company:
    name: str
    email: str
    vat: str
    coc: str
    division: int


@dataclass(frozen=True)
class Login:
    username: str
    password: str


@dataclass(frozen=True)
class Cast:
    """Who plays which part, chosen from the sandbox seed (deterministic for a client count)."""

    firm_name: str
    firm_email: str
    firm_vat: str
    firm_login: Login
    clients: tuple[Company, ...]
    own_link: Company  # linked earlier with its own Exact login: the Overschrijven case
    own_login: Login
    not_granted: Company  # its administration is not granted to the app: doctor's ✗
    pending: tuple[Company, ...]  # have not added the firm in Toegangsbeheer yet
    grants_now: Company  # one of the pending: grants access during the demo


def cast_from_seed(seed: dict[str, Any]) -> Cast:
    """Pick the parts from the sandbox's world (see docs/sandbox.md, "The seed")."""
    logins = {login["username"]: login for login in seed["logins"]}
    firm = logins[seed["firm_login"]]
    clients = [c for c in seed["companies"] if c["kind"] == "client"]

    def company(data: dict[str, Any]) -> Company:
        return Company(
            name=data["name"],
            email=data.get("email") or "",
            vat=data.get("vat_number") or "",
            coc=data.get("coc_number") or "",
            division=int(data["division"]),
        )

    own = next(c for c in clients if c.get("own_login") in logins)
    ordinary = [
        c
        for c in clients
        if c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
        and c is not own
    ]
    not_granted = next(
        c
        for c in clients
        if not c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
    )
    # Two clients have not added the firm in Toegangsbeheer yet: an ordinary one that does so
    # during the demo (and is then activated), and one that stays pending (an inactive company
    # when the seed has one, as in real life).
    grants_now = ordinary[-1]
    others = [c for c in clients if c is not own and c is not not_granted and c is not grants_now]
    stays = next((c for c in others if c["status"] == 0), others[-1])
    pending = [grants_now, stays]
    return Cast(
        firm_name=seed["firm"]["name"],
        firm_email=seed["firm"]["email"],
        firm_vat=seed["firm"].get("vat_number") or "",
        firm_login=Login(firm["username"], firm["password"]),
        clients=tuple(company(c) for c in clients),
        own_link=company(own),
        own_login=Login(own["own_login"], logins[own["own_login"]]["password"]),
        not_granted=company(not_granted),
        pending=tuple(company(c) for c in pending),
        grants_now=company(grants_now),
    )


def clients_csv(cast: Cast) -> str:
    """The import file, as a Belgian or Dutch Excel writes it: semicolons, UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["name", "email", "vat", "coc", "access_granted"])
    pending = {c.name for c in cast.pending}
    for c in cast.clients:
        writer.writerow([c.name, c.email, c.vat, c.coc, "no" if c.name in pending else "yes"])
    return buffer.getvalue()


# -- the steps --------------------------------------------------------------------------------------
@dataclass
class Step:
    """One command of the script."""

    title: str
    args: list[str]
    explain: list[str] = field(default_factory=list)
    expect: frozenset[int] = frozenset({0})
    stdin: str | None = None  # never shown (the client secret)
    consent: Login | None = None  # answer the consent page as this login
    paste: bool = False  # --no-browser: paste the address the browser landed on into stdin
    key: str = ""  # to find its result in the summary
    timeout: float = STEP_TIMEOUT
    after: Callable[[int], list[str]] | None = None  # narration depending on the exit code


@dataclass
class StepResult:
    key: str
    exit_code: int
    stdout: str
    stderr: str


def plan(
    cast: Cast, sandbox: dict[str, Any], *, redirect_uri: str, interactive: bool
) -> list[Step]:
    """The demo's script: the commands, in the order an accountant runs them."""
    app = sandbox["app"]
    base_url = sandbox["base_url"]
    storage = ["--insecure-storage"]
    steps = [
        Step(
            _("Create the firm's portal"),
            [
                "portal",
                "create",
                cast.firm_name,
                "--email",
                cast.firm_email,
                "--vat",
                cast.firm_vat,
            ],
            [
                _(
                    "The portal is the firm's own: clients add its e-mail address ({email}) in "
                    "the portal's Toegangsbeheer (access management)."
                ).format(email=cast.firm_email)
            ],
        ),
        Step(
            _("Import the client accounts"),
            ["client", "import", "clients.csv"],
            [
                _(
                    "clients.csv lists {count} clients (semicolons, as Excel writes it here). "
                    "{pending} have not added the firm in the portal's Toegangsbeheer yet: they are "
                    "imported as pending."
                ).format(
                    count=len(cast.clients), pending=_(" and ").join(c.name for c in cast.pending)
                )
            ],
        ),
        Step(
            _("A client grants the firm access"),
            ["client", "access", cast.grants_now.name, "--granted"],
            [
                _(
                    "{client} has now added {email} in the portal's Toegangsbeheer; record it so the "
                    "client can be activated."
                ).format(client=cast.grants_now.name, email=cast.firm_email)
            ],
        ),
        Step(
            _("Configure the Exact Online app"),
            [
                "exact",
                "app",
                "set",
                "--client-id",
                app["client_id"],
                "--redirect-uri",
                redirect_uri,
                "--base-url",
                base_url,
                *storage,
            ],
            [
                _(
                    "The client ID and redirect URI come from the app's registration in the Exact "
                    "App Store; the client secret is read from stdin (or a hidden prompt), never "
                    "from the command line. --base-url points at the sandbox instead of "
                    "start.exactonline.nl."
                ),
                _(
                    "--insecure-storage: the sandbox's throwaway secrets go to a file in the demo's "
                    "temporary home, so the demo also runs on a machine without a keyring. For a "
                    "real firm leave it out: secrets then go only to the OS keyring."
                ),
            ],
            stdin=app["client_secret"] + "\n",
            key="app",
        ),
        Step(
            _("Before the portal: the client's own Exact link"),
            [
                "exact",
                "connect",
                "--client",
                cast.own_link.name,
                "--no-browser",
            ],
            [
                _(
                    "{client} once linked its administration itself, with its own Exact login "
                    "({username}). This step makes that link, so the demo can switch it over "
                    "later. --no-browser is the way over SSH: exactlink prints the address, and "
                    "you paste the address the browser landed on after Allow (Toestaan)."
                ).format(client=cast.own_link.name, username=cast.own_login.username)
            ],
            consent=cast.own_login,
            paste=True,
            key="own_connect",
        ),
        Step(
            _("Connect the firm to Exact Online, once"),
            ["exact", "connect"],
            [
                (
                    _(
                        "Log in on Exact Online's page in your browser (it opens by itself where "
                        "there is a display; else open the address below) as {username} with "
                        "password {password}, then press Allow (Toestaan)."
                    )
                    if interactive
                    else _(
                        "exactlink listens on {uri} and prints the login address. Nobody is at the "
                        "browser, so the sandbox's scripted browser logs in as {username} and "
                        "presses Allow (Toestaan) on the consent page."
                    )
                ).format(
                    uri=redirect_uri,
                    username=cast.firm_login.username,
                    password=cast.firm_login.password,
                )
            ],
            consent=None if interactive else cast.firm_login,
            key="connect",
            # `exact connect` waits up to 300 s for a person at the browser
            timeout=CONNECT_TIMEOUT if interactive else STEP_TIMEOUT,
        ),
        Step(
            _("The administrations the firm's login may use"),
            ["exact", "divisions"],
            [
                _(
                    "Exact lists the administrations that the firm's login can access and that are "
                    "granted to the app; exactlink matches clients to them by VAT number, "
                    "KBO/KvK number and name."
                )
            ],
            expect=frozenset({0}),
            key="divisions",
        ),
        Step(
            _("Activate every client that can be matched"),
            ["exact", "activate", "--all"],
            [
                _(
                    "Clients that are still pending, whose administration is missing from the list, "
                    "or that have their own link are reported and left alone."
                )
            ],
            # partial success is the expected story: some clients cannot be activated yet
            expect=frozenset({0, 3, 6}),
            key="activate_all",
        ),
        Step(
            _("Switch the client with its own link over (Overschrijven)"),
            ["exact", "activate", "--client", cast.own_link.name, "--overwrite"],
            [
                _(
                    "{client} is linked with its own Exact login. --overwrite replaces that link "
                    "with the firm's connection, as the portal's Overschrijven does, and removes "
                    "the old link's secrets."
                ).format(client=cast.own_link.name)
            ],
            key="overwrite",
        ),
        Step(
            _("Diagnose a client whose administration is missing"),
            ["doctor", "--client", cast.not_granted.name],
            [
                _(
                    "The administration of {client} is not granted to the app, so it is not in the "
                    "list. doctor is expected to report ✗ here, with the fix."
                ).format(client=cast.not_granted.name)
            ],
            expect=frozenset({10}),  # the story: doctor finds the ✗ and names the fix
            key="doctor",
            after=lambda code: [
                _(
                    "As expected: doctor exits with 10 and names the fix. For a real client "
                    "it is done in Exact Online (Beveiligingscentrum), then `exactlink exact "
                    "divisions --refresh` and `exactlink exact activate --client NAME`."
                )
            ],
        ),
        Step(
            _("Where every client stands"),
            ["client", "list"],
            key="list",
        ),
    ]
    return steps


# -- running ----------------------------------------------------------------------------------------
@dataclass
class DemoOptions:
    clients: int = DEFAULT_CLIENTS
    keep: bool = False
    interactive: bool = False
    workdir: Path | None = None  # where the temporary home is made (default: the system's)


@dataclass
class DemoSummary:
    """What the demo did, for the closing summary and ``--json``."""

    portal: dict[str, Any]
    clients: dict[str, int]
    activations: list[dict[str, Any]]
    doctor: dict[str, Any]
    home: str | None
    storage: str = "insecure-file"

    def to_dict(self) -> dict[str, Any]:
        return {
            "portal": self.portal,
            "clients": self.clients,
            "activations": self.activations,
            "doctor": self.doctor,
            "home": self.home,
            "storage": self.storage,
        }


def command_line(args: Sequence[str]) -> str:
    """The line a user types (no --home: the demo's temporary home is its own business)."""
    return "exactlink " + shlex.join(args)


class Runner:
    """Runs ``python -m exactlink --home HOME ...`` and streams its output to the reporter."""

    def __init__(self, home: Path, reporter: Reporter, *, interactive: bool) -> None:
        self.home = home
        self.reporter = reporter
        self.interactive = interactive
        self.env = _child_env(interactive)

    def run(self, step: Step, *, quiet: bool = False) -> StepResult:
        argv = [sys.executable, "-m", "exactlink", "--home", str(self.home), *step.args]
        process = subprocess.Popen(
            argv,
            cwd=self.home,
            env=self.env,
            stdin=subprocess.PIPE if step.stdin is not None or step.paste else subprocess.DEVNULL,
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
        from exactlink_sandbox.autoconsent import AutoConsentError, authorize

        while not seen_url.wait(0.1):
            if process.poll() is not None:
                return  # it failed before printing the address; its exit code tells
        try:
            with _no_proxy_for_loopback():
                landed = authorize(urls[0], login.username, login.password, follow=not paste)
            if paste and process.stdin is not None:
                self.reporter.explain(_("(pasted: {address})").format(address=_shorten(landed)))
                process.stdin.write(landed + "\n")
                process.stdin.close()
        except (AutoConsentError, OSError) as exc:
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


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_home(workdir: Path | None = None) -> Path:
    """A fresh temporary home, 0700 (mkdtemp's mode)."""
    return Path(tempfile.mkdtemp(prefix="exactlink-demo-", dir=workdir))


def run_demo(options: DemoOptions, reporter: Reporter) -> DemoSummary:
    """Run the whole script in a temporary home; remove it afterwards unless ``keep``."""
    if options.clients < MIN_CLIENTS:
        from exactlink.errors import InvalidInput

        raise InvalidInput(
            _("The demo needs at least {count} clients.").format(count=MIN_CLIENTS),
            hint=_("Leave --clients out, or pass --clients {count} or more.").format(
                count=MIN_CLIENTS
            ),
        )
    from exactlink_sandbox import Sandbox

    home = make_home(options.workdir)
    try:
        redirect_uri = f"http://127.0.0.1:{_free_port()}/callback"
        with Sandbox(clients=options.clients, seed=SEED, redirect_uri=redirect_uri) as sandbox:
            seed = sandbox.seed
            cast = cast_from_seed(seed)
            (home / "clients.csv").write_text(clients_csv(cast), encoding="utf-8")
            reporter.explain(
                _(
                    "A local Exact Online (the sandbox) runs on {url}: the firm {firm} and {count} "
                    "client administrations. Every step below is the command you would type, run "
                    "for real in a temporary home."
                ).format(url=sandbox.base_url, count=options.clients, firm=cast.firm_name)
            )
            runner = Runner(home, reporter, interactive=options.interactive)
            steps = plan(cast, seed, redirect_uri=redirect_uri, interactive=options.interactive)
            results: dict[str, StepResult] = {}
            for number, step in enumerate(steps, start=1):
                reporter.step(number, len(steps), step.title, command_line(step.args))
                for text in step.explain:
                    reporter.explain(text)
                result = runner.run(step)
                if result.exit_code not in step.expect:
                    raise DemoFailed(
                        _("Step {number} failed: `{command}` exited with {code}.").format(
                            number=number, command=command_line(step.args), code=result.exit_code
                        ),
                        hint=_(
                            "Run `exactlink demo --keep` and repeat the command with --home to "
                            "look closer."
                        ),
                    )
                for text in step.after(result.exit_code) if step.after else []:
                    reporter.explain(text)
                if step.key:
                    results[step.key] = result
            summary = summarise(runner, cast, results)
    finally:
        if not options.keep:
            shutil.rmtree(home, ignore_errors=True)
    summary.home = str(home) if options.keep else None
    return summary


# -- the summary ------------------------------------------------------------------------------------
def summarise(runner: Runner, cast: Cast, results: dict[str, StepResult]) -> DemoSummary:
    clients = runner.json(["client", "list"]) or []
    counts = Counter(str(c.get("status", "?")) for c in clients)
    activations = [
        {"client": c.get("name"), "division": c.get("division")}
        for c in clients
        if c.get("status") == "active"
    ]
    doctor_json = runner.json(["doctor", "--client", cast.not_granted.name])
    return DemoSummary(
        portal={"name": cast.firm_name, "email": cast.firm_email},
        clients=dict(sorted(counts.items())),
        activations=activations,
        doctor={
            "client": cast.not_granted.name,
            "exit_code": results["doctor"].exit_code if "doctor" in results else None,
            "failed": failed_checks(doctor_json),
        },
        home=None,
    )


def failed_checks(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The ✗ lines of a `doctor --json` report (``Report.to_dict``): their id, message and fix."""
    from exactlink.services.doctor import FAIL

    return [
        {key: check[key] for key in ("id", "message", "fix") if check.get(key)}
        for check in (report or {}).get("checks", [])
        if check.get("status") == FAIL
    ]
