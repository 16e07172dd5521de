"""`exactlink docs`: the guides in docs/*.md, read from the installed package (no network).

The wheel carries them as ``exactlink/docs/`` (pyproject.toml, hatch ``force-include``); a
source checkout (an editable install, the tests) reads the repository's ``docs/`` folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.abc import Traversable
from pathlib import Path

from exactlink.errors import NotFound
from exactlink.i18n import _


@dataclass(frozen=True)
class Guide:
    topic: str  # the file name without .md: "install", "getting-started"
    title: str  # its first heading

    def to_dict(self) -> dict[str, str]:
        return {"topic": self.topic, "title": self.title}


def docs_folder() -> Traversable | None:
    """``exactlink/docs`` in the installed package, else ``docs/`` of the source checkout."""
    from importlib.resources import files

    packaged = files("exactlink") / "docs"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "docs"  # src/exactlink/services/ → root
    return checkout if checkout.is_dir() else None


def _files() -> dict[str, Traversable]:
    folder = docs_folder()
    if folder is None:
        return {}
    return {
        entry.name[: -len(".md")]: entry
        for entry in folder.iterdir()
        if entry.name.endswith(".md") and entry.is_file()
    }


def _title(text: str, topic: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return topic


def list_guides() -> list[Guide]:
    """Every guide, by topic."""
    return [
        Guide(topic, _title(entry.read_text("utf-8"), topic))
        for topic, entry in sorted(_files().items())
    ]


def read_guide(topic: str) -> tuple[Guide, str]:
    """The guide named ``topic`` (case-insensitive, ``.md`` optional, or a unique prefix such as
    ``connect``) and its Markdown text; NotFound listing the topics otherwise."""
    files = _files()
    wanted = topic.strip().lower().removesuffix(".md")
    matches = [name for name in files if name.lower() == wanted]
    if not matches:
        matches = [name for name in files if name.lower().startswith(wanted)]
    if len(matches) != 1 or not wanted:
        topics = sorted(files)
        raise NotFound(
            _("No guide '{topic}'. The guides are: {topics}.").format(
                topic=topic, topics=", ".join(topics) or "-"
            ),
            hint=_("Run `exactlink docs TOPIC`, for example `exactlink docs install`."),
            details={"topics": topics},
        )
    name = matches[0]
    text = files[name].read_text("utf-8")
    return Guide(name, _title(text, name)), text
