"""Runs the whole demo in a temporary home against a running sandbox, and sums it up."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from exactlink.i18n import _
from exactlink.services.demo.cast import Cast, clients_csv
from exactlink.services.demo.runner import DemoFailed, Reporter, Runner, ScriptedConsent
from exactlink.services.demo.script import (
    DEFAULT_CLIENTS,
    MIN_CLIENTS,
    StepResult,
    command_line,
    plan,
)


class DemoWorld(Protocol):
    """A running local Exact Online the demo talks to; the ``demo`` command starts it (the only
    place that knows the sandbox package) and hands it in."""

    base_url: str
    redirect_uri: str  # the app's registered redirect URI
    seed: dict[str, Any]  # the sandbox's world (docs/sandbox.md, "The seed")
    cast: dict[str, Any]  # who plays which part (the sandbox's demo world)
    consent: ScriptedConsent  # the scripted browser


OpenWorld = Callable[[int], AbstractContextManager[DemoWorld]]


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


def make_home(workdir: Path | None = None) -> Path:
    """A fresh temporary home, 0700 (mkdtemp's mode)."""
    return Path(tempfile.mkdtemp(prefix="exactlink-demo-", dir=workdir))


def run_demo(options: DemoOptions, reporter: Reporter, open_world: OpenWorld) -> DemoSummary:
    """Run the whole script in a temporary home against ``open_world(clients)``; remove the
    home afterwards unless ``keep``."""
    if options.clients < MIN_CLIENTS:
        from exactlink.errors import InvalidInput

        raise InvalidInput(
            _("The demo needs at least {count} clients.").format(count=MIN_CLIENTS),
            hint=_("Leave --clients out, or pass --clients {count} or more.").format(
                count=MIN_CLIENTS
            ),
        )
    home = make_home(options.workdir)
    try:
        with open_world(options.clients) as world:
            seed = world.seed
            redirect_uri = world.redirect_uri
            cast = Cast.from_dict(world.cast)
            (home / "clients.csv").write_text(clients_csv(cast), encoding="utf-8")
            reporter.explain(
                _(
                    "A local Exact Online (the sandbox) runs on {url}: the firm {firm} and {count} "
                    "client administrations. Every step below is the command you would type, run "
                    "for real in a temporary home."
                ).format(url=world.base_url, count=options.clients, firm=cast.firm_name)
            )
            runner = Runner(home, reporter, world.consent, interactive=options.interactive)
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
