"""`exactlink demo`: the whole job, run for real against a local Exact Online.

The demo is a script of the commands an accountant types, and it runs exactly those: every step is
a real ``python -m exactlink --home TMP ...`` subprocess against a running sandbox on 127.0.0.1,
so what it narrates is what a person would see. The sandbox, its world (who plays which part) and
its scripted browser come in through :class:`~exactlink.services.demo.run.DemoWorld`: only the
``demo`` command knows the sandbox package.

Only two things differ from a real firm, and the demo says both:

* nobody sits at the browser, so the sandbox's scripted browser logs in and presses *Allow* on the
  consent page the real loopback flow opens (``interactive=True`` leaves that to a person);
* the sandbox's throwaway secrets go to the ``--insecure-storage`` file inside the temporary home,
  so the demo works on a machine without a keyring service and leaves nothing in a keyring.

Modules: :mod:`.cast` (the parts), :mod:`.script` (the steps), :mod:`.runner` (one step as a
subprocess), :mod:`.run` (the whole run and its summary). Nothing here prints: it reports through
a :class:`Reporter` the CLI provides.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exactlink.services.demo.cast import Cast, clients_csv
    from exactlink.services.demo.run import (
        DemoOptions,
        DemoSummary,
        DemoWorld,
        OpenWorld,
        failed_checks,
        run_demo,
    )
    from exactlink.services.demo.runner import (
        ConsentFailed,
        DemoFailed,
        Reporter,
        ScriptedConsent,
    )
    from exactlink.services.demo.script import (
        DEFAULT_CLIENTS,
        MIN_CLIENTS,
        SEED,
        command_line,
        plan,
    )

# Where each public name lives: imported on first use, so `exactlink --help` (which reads the
# demo command's defaults from .script) does not load the runner's subprocess machinery.
_HOME = {
    "Cast": "cast",
    "clients_csv": "cast",
    "DemoOptions": "run",
    "DemoSummary": "run",
    "DemoWorld": "run",
    "OpenWorld": "run",
    "failed_checks": "run",
    "run_demo": "run",
    "ConsentFailed": "runner",
    "DemoFailed": "runner",
    "Reporter": "runner",
    "ScriptedConsent": "runner",
    "DEFAULT_CLIENTS": "script",
    "MIN_CLIENTS": "script",
    "SEED": "script",
    "command_line": "script",
    "plan": "script",
}
__all__ = [
    "DEFAULT_CLIENTS",
    "MIN_CLIENTS",
    "SEED",
    "Cast",
    "ConsentFailed",
    "DemoFailed",
    "DemoOptions",
    "DemoSummary",
    "DemoWorld",
    "OpenWorld",
    "Reporter",
    "ScriptedConsent",
    "clients_csv",
    "command_line",
    "failed_checks",
    "plan",
    "run_demo",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
