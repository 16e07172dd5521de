"""The whole `exact` group: the commands of exact.py and those exact_connect.py and
activation.py add to its ``app``. cli.app loads this module for `exactlink exact ...`.

Assembled here rather than at the bottom of exact.py, so that no module imports one that
imports it back (tests/test_architecture.py: no import circles).
"""

from exactlink.cli.commands import activation, exact_connect
from exactlink.cli.commands.exact import app

__all__ = ["activation", "app", "exact_connect"]
