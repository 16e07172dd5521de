"""`exactlink docs [TOPIC]`: the guides from the installed package, offline; and the wheel
really carries them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support.real import missing

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))


def test_docs_lists_every_guide(cli):
    result = cli("--json", "docs")
    assert result.exit_code == 0
    topics = {guide["topic"]: guide["title"] for guide in result.json()}
    assert sorted(topics) == GUIDES
    assert topics["install"] == "Installing and using exactlink on Windows, macOS and Linux"
    human = cli("docs")
    assert human.exit_code == 0
    assert "install" in human.stdout and "getting-started" in human.stdout
    assert "exactlink docs TOPIC" in human.stderr


@pytest.mark.parametrize("topic", ["install", "INSTALL", "install.md", "inst"])
def test_docs_prints_a_guide(cli, topic):
    result = cli("docs", topic)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (ROOT / "docs" / "install.md").read_text("utf-8")


def test_docs_json_carries_the_text(cli):
    body = cli("--json", "docs", "exit-codes").json()
    assert body["topic"] == "exit-codes"
    assert body["text"] == (ROOT / "docs" / "exit-codes.md").read_text("utf-8")


@pytest.mark.parametrize("topic", ["nope", "c"])  # unknown; ambiguous (cli, completion, ...)
def test_unknown_topic_exits_3_with_the_list(cli, topic):
    result = cli("docs", topic)
    assert result.exit_code == 3
    assert f"No guide '{topic}'" in result.stderr
    for guide in GUIDES:
        assert guide in result.stderr
    body = cli("--json", "docs", topic).json()
    assert body["errors"][0]["details"]["topics"] == GUIDES


def test_docs_needs_no_network_and_no_heavy_imports(run_exactlink):
    code = (
        "import sys; from exactlink.cli.app import main; sys.argv=['exactlink','docs','install'];"
        "\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('requests','keyring','rich') if m in sys.modules),"
        " file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "HEAVY []" in proc.stderr
    assert "pipx install" in proc.stdout


@pytest.mark.slow
def test_the_built_wheel_carries_the_guides(tmp_path):
    """Build the wheel offline, unpack it as an installer would, and read a guide from there."""
    try:
        import hatchling  # noqa: F401  (the test extra installs it)
    except ImportError:
        missing("hatchling (the build backend, in the test extra)")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = (tmp_path / "dist").glob("exactlink-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    assert sorted(n for n in names if n.startswith("exactlink/docs/")) == [
        f"exactlink/docs/{guide}.md" for guide in GUIDES
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tmp_path / "site")
    proc = subprocess.run(
        [sys.executable, "-c",
         "import exactlink, sys; print(exactlink.__file__, file=sys.stderr);"
         "from exactlink.cli.app import main; sys.argv=['exactlink','docs','install']; main()"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path / "site") in proc.stderr  # the unpacked wheel, not the checkout
    assert proc.stdout == (ROOT / "docs" / "install.md").read_text("utf-8")
