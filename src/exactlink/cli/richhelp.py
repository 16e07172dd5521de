"""Typer's Rich help on a terminal, without the two parts of Rich that exactlink never uses.

Typer's help renderer (``typer.rich_utils``) imports ``rich.markdown`` (markdown-it) and
``rich.traceback`` (pygments) when it is imported: more than half of its import time, about as
long as importing Typer itself. exactlink's help is Rich markup, not Markdown, and its
tracebacks are not Rich's (``pretty_exceptions_enable=False``), so neither is ever used.

``defer_unused_rich_modules`` arranges that, while ``typer.rich_utils`` is being imported, those
two modules are stand-ins whose one class (``Markdown``, ``Traceback``) imports the real module
the first time it is used. The stand-ins leave ``sys.modules`` as soon as ``typer.rich_utils``
is imported, so any other import of them gets the real module.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

RENDERER = "typer.rich_utils"
UNUSED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}
# Called with the module once ``typer.rich_utils`` is imported (cli.helptext sets its words in
# the person's language).
_after_import: list[Callable[[types.ModuleType], None]] = []


def defer_unused_rich_modules() -> None:
    """Install the finder that hands ``typer.rich_utils`` the stand-ins (once, before Typer's
    renderer is imported; a no-op when it already is)."""
    if RENDERER not in sys.modules and not any(
        isinstance(finder, _RendererFinder) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _RendererFinder())


def stand_in(module: str, name: str) -> type:
    """A class that behaves as ``module.name`` (calls, class attributes) and imports the real
    one on first use. A class, not a function: Typer writes ``Markdown | Text`` in signatures."""

    def real() -> Any:
        return getattr(importlib.import_module(module), name)

    class Deferred(type):
        def __call__(cls, *args: Any, **kwargs: Any) -> Any:
            return real()(*args, **kwargs)

        def __getattr__(cls, attribute: str) -> Any:
            return getattr(real(), attribute)

    return Deferred(name, (), {"__module__": module, "__doc__": f"Deferred {module}.{name}."})


def when_imported(callback: Callable[[types.ModuleType], None]) -> None:
    """Call ``callback(typer.rich_utils)`` once it is imported: now if it is, else right after
    its import (without importing it: a run that shows no Rich help never pays for it)."""
    module = sys.modules.get(RENDERER)
    if module is not None:
        callback(module)
        return
    if callback not in _after_import:
        _after_import.append(callback)
    defer_unused_rich_modules()


class _RendererFinder:
    """A meta-path finder for ``typer.rich_utils`` alone: its spec, with a loader that puts the
    stand-ins in place around the real loader's work."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != RENDERER:
            return None
        sys.meta_path.remove(self)  # once: from here on the ordinary finders answer
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = cast("Loader", _WithStandIns(spec.loader))
        return spec


class _WithStandIns:
    """The real loader of ``typer.rich_utils``, executed with the stand-ins in ``sys.modules``."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        placed: dict[str, types.ModuleType] = {}
        for name, attribute in UNUSED.items():
            if name not in sys.modules:
                placed[name] = types.ModuleType(name)
                setattr(placed[name], attribute, stand_in(name, attribute))
                sys.modules[name] = placed[name]
        try:
            self.loader.exec_module(module)
        finally:
            for name, placeholder in placed.items():
                if sys.modules.get(name) is placeholder:
                    del sys.modules[name]
        while _after_import:
            _after_import.pop(0)(module)

    def __getattr__(self, attribute: str) -> Any:  # get_source, is_package, ... as the real one
        return getattr(self.loader, attribute)
