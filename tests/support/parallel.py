"""How the suite runs: in parallel by itself (pytest-xdist, two workers per core), the slow
tests first and the crowds of processes last.

``python -m pytest`` is the whole command. Tests named one by one (``pytest tests/x.py::test_y``),
``--pdb``, ``-n 0`` and ``-p no:xdist`` run in this process instead; ``-n 4`` or ``--dist
loadfile`` given on the command line win.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config):
    """``-n <2 × cores> --dist load --maxschedchunk 1`` unless the command line says otherwise.

    Two workers per core, because the tests wait a good part of their time (for a subprocess, a
    server, Chromium, a timeout they test): a serial run keeps one core only 50-80 % busy, so
    one worker per core left the cores idle that much too; two per core took 10-15 % less wall
    in the same conditions (benchmarks/README.md, "The test suite"). One test at a time per worker (``--maxschedchunk 1``): with the slow tests first,
    each idle worker takes the longest test left, which keeps the cores busy to the end.
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
        option.numprocesses = WORKERS_PER_CORE * _cores()
        if option.dist == "no":
            option.dist = "load"
        if getattr(option, "maxschedchunk", 0) is None:  # pytest-xdist 3.2 and later
            option.maxschedchunk = 1
    return (yield)


WORKERS_PER_CORE = 2


def _cores() -> int:
    """The cores this process may run on (what xdist's ``auto`` counts, affinity included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _names_single_tests(args: list[str]) -> bool:
    """``pytest tests/x.py::test_y ...``: starting workers would cost more than the tests."""
    return bool(args) and all("::" in arg for arg in args)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ``slow`` tests first, the ``crowd`` tests last (a stable sort: any other order, e.g.
    pytest-randomly's, stays within each part).

    A slow test that runs one process after another (fifty kills in a row, a demo) is as slow as
    the machine is busy: started first, it runs beside the quick tests. A crowd test starts dozens
    of processes at once and keeps both cores busy by itself: beside it, a one-after-another test
    took six times its time alone (95 s for 16 s). At the end it has the cores to itself.
    """
    items.sort(key=_part)


def _part(item: pytest.Item) -> int:
    if item.get_closest_marker("crowd") is not None:
        return 2
    return 0 if item.get_closest_marker("slow") is not None else 1
