"""How the suite runs: in parallel by itself (pytest-xdist, one worker per core), the slow
tests first.

``python -m pytest`` is the whole command. Tests named one by one (``pytest tests/x.py::test_y``),
``--pdb``, ``-n 0`` and ``-p no:xdist`` run in this process instead; ``-n 4`` or ``--dist
loadfile`` given on the command line win.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config):
    """``-n auto --dist load --maxschedchunk 1`` unless the command line says otherwise.

    Runs before xdist's own hook (a wrapper), which then turns ``auto`` into the number of cores.
    One test at a time per worker (``--maxschedchunk 1``): with the slow tests first, each idle
    worker takes the longest test left, which keeps both cores busy to the end.
    """
    option = config.option
    parallel = (
        config.pluginmanager.has_plugin("xdist")
        and not hasattr(config, "workerinput")  # a worker itself
        and getattr(option, "numprocesses", None) is None  # no -n given
        and not option.usepdb
        and not option.trace
        and not option.collectonly
        and not _names_single_tests(config.args)
    )
    if parallel:
        option.numprocesses = "auto"
        if option.dist == "no":
            option.dist = "load"
        if getattr(option, "maxschedchunk", 0) is None:  # pytest-xdist 3.2 and later
            option.maxschedchunk = 1
    return (yield)


def _names_single_tests(args: list[str]) -> bool:
    """``pytest tests/x.py::test_y ...``: starting workers would cost more than the tests."""
    return bool(args) and all("::" in arg for arg in args)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ``slow`` tests first (a stable sort: any other order, e.g. pytest-randomly's, stays)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
