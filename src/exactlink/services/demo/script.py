"""The demo's script: the commands an accountant types, in order, with their narration."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from exactlink.i18n import _
from exactlink.services.demo.cast import Cast, Login

MIN_CLIENTS = 7  # the sandbox's seed has all its special cases from 7 clients on
DEFAULT_CLIENTS = 8
SEED = 1
CONNECT_TIMEOUT = 330.0  # `exact connect` itself gives a person 300 s at the browser
STEP_TIMEOUT = 120.0


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
    person: bool = False  # --interactive: the person at the terminal answers (stdin inherited)
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
                "--relay",
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
                    "--relay: Exact accepts only a public HTTPS redirect URI, so a real firm "
                    "publishes exactlink's relay page there (`exactlink exact relay-page`); "
                    "in the demo {uri} plays that page."
                ).format(uri=redirect_uri),
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
                        "password {password}, then press Allow (Toestaan). The browser then lands "
                        "on {uri}, which does not exist in this rehearsal: copy the address from "
                        "the address bar and paste it here."
                    )
                    if interactive
                    else _(
                        "exactlink listens on 127.0.0.1 on a free port, carried in the login "
                        "address's state, and prints that address. Nobody is at the browser, so "
                        "the sandbox's scripted browser logs in as {username}, presses Allow "
                        "(Toestaan), and follows the relay page at {uri}, which forwards it to "
                        "exactlink's listener."
                    )
                ).format(
                    uri=redirect_uri,
                    username=cast.firm_login.username,
                    password=cast.firm_login.password,
                )
            ],
            consent=None if interactive else cast.firm_login,
            person=interactive,
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


def command_line(args: Sequence[str]) -> str:
    """The line a user types (no --home: the demo's temporary home is its own business)."""
    return "exactlink " + shlex.join(args)
