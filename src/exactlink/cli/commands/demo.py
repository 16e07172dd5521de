"""`exactlink demo`: the whole job against the embedded sandbox, in a temporary home."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from exactlink.i18n import N_
from exactlink.services.demo.script import DEFAULT_CLIENTS, MIN_CLIENTS

if TYPE_CHECKING:
    from exactlink.cli.output import Output
    from exactlink.services.demo import DemoSummary, ScriptedConsent


def demo(
    typer_ctx: typer.Context,
    clients: Annotated[
        int,
        typer.Option(
            "--clients",
            min=MIN_CLIENTS,
            help=N_("Client administrations in the sandbox."),
        ),
    ] = DEFAULT_CLIENTS,
    keep: Annotated[
        bool,
        typer.Option("--keep", help=N_("Keep the temporary home afterwards and print its --home.")),
    ] = False,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive",
            help=N_("Open your browser and log in yourself, instead of the scripted browser."),
        ),
    ] = False,
) -> None:
    """Run the whole job against a local Exact Online.

    Portal, clients, connect, activate and doctor: every step is the real command a user types, run in a temporary home against the sandbox
    (nothing reaches Exact Online, nothing is left behind unless --keep). The sandbox's throwaway
    secrets go to a file in that home (--insecure-storage), so no keyring is needed.
    """
    from exactlink.cli.context import app_context
    from exactlink.services.demo import DemoOptions, run_demo

    ctx = app_context(typer_ctx)
    reporter = _Narrator(ctx.out)
    options = DemoOptions(clients=clients, keep=keep, interactive=interactive)
    summary = run_demo(options, reporter, _open_world)
    if ctx.json:
        ctx.out.result("success", summary.to_dict())
        return
    _render_summary(ctx.out, summary)


@dataclass
class _World:
    """The running sandbox, as the demo service sees it (``services.demo.DemoWorld``)."""

    base_url: str
    redirect_uri: str
    seed: dict[str, Any]
    cast: dict[str, Any]
    consent: ScriptedConsent


@contextmanager
def _open_world(clients: int) -> Iterator[_World]:
    """Start the sandbox for the demo: the one place besides `sandbox serve` that imports it."""
    from exactlink.services.demo import ConsentFailed
    from exactlink.services.demo.script import SEED
    from exactlink_sandbox import Sandbox
    from exactlink_sandbox.autoconsent import AutoConsentError, authorize
    from exactlink_sandbox.demo_world import cast

    def consent(auth_url: str, username: str, password: str, *, follow: bool) -> str:
        try:
            return authorize(auth_url, username, password, follow=follow, relay=True)
        except AutoConsentError as exc:
            raise ConsentFailed(str(exc)) from None

    # The strict profile, as a real firm meets Exact: the app's redirect URI is a public HTTPS
    # address (the sandbox's default, a name that never resolves), where a firm would publish
    # exactlink's relay page; the scripted browser applies that page's forward to the listener.
    with Sandbox(clients=clients, seed=SEED) as sandbox:
        yield _World(
            sandbox.base_url,
            sandbox.seed["app"]["redirect_uri"],
            sandbox.seed,
            cast(sandbox.seed),
            consent,
        )


class _Narrator:
    """The demo's voice on stderr; the commands' own output indented below their line."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def step(self, number: int, total: int, title: str, command: str) -> None:
        from exactlink.i18n import _

        self.out.info("")
        self.out.info(
            _("Step {number}/{total}: {title}").format(number=number, total=total, title=title)
        )
        self.out.info(f"  $ {command}")

    def explain(self, text: str) -> None:
        self.out.info(f"  # {text}")

    def output(self, line: str, stream: str) -> None:
        # Both of the command's streams are the demo's narration: with --json, stdout holds only
        # the demo's own result.
        self.out.info(f"    {line}" if line else "")


def _render_summary(out: Output, summary: DemoSummary) -> None:
    from exactlink.i18n import _, current_language, label

    lines = [
        "",
        _("Summary"),
        "  " + _("Portal:      {name} ({email})").format(**summary.portal),
        "  "
        + _("Clients:     {counts}").format(
            counts=", ".join(
                f"{count} {label(status)}" for status, count in summary.clients.items()
            )
            or "-"
        ),
        "  " + _("Activated:   {count}").format(count=len(summary.activations)),
    ]
    lines += [f"    - {item['client']} → {item['division']}" for item in summary.activations]
    doctor = summary.doctor
    lines.append(
        "  "
        + _("Doctor:      {client}: exit {code}").format(
            client=doctor["client"], code=doctor["exit_code"]
        )
    )
    for check in doctor["failed"]:
        if current_language() != "en":
            # The report comes from `doctor --json`, which speaks English: name the check in
            # the reader's language and point at the step that showed it in full.
            lines.append(
                f"    ✗ {label(check.get('id'))}: "
                + _("the message and its fix are shown in the doctor step above.")
            )
            continue
        lines.append(f"    ✗ {check.get('message', '')}")
        fix = check.get("fix")
        if fix:
            lines.append("      " + _("Fix:") + f" {fix}")  # _() outside the f-string: extracted
    if summary.home:
        lines += [
            "",
            _("The demo's home was kept. Explore it with, for example:"),
            f"  exactlink --home {summary.home} client list",
            f"  exactlink --home {summary.home} log",
            _(
                "(The sandbox stopped with the demo: commands that talk to Exact Online fail there.)"
            ),
        ]
    else:
        lines += ["", _("The temporary home was removed; nothing was left behind.")]
    lines.append(
        _(
            "Next, with your firm's own data: `exactlink portal create NAME --email E` "
            "(the guide: docs/getting-started.md)."
        )
    )
    for line in lines:
        out.line(line)
