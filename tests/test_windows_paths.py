"""exactlink on Windows, faked on Linux: no POSIX-only call on a path that runs there.

Windows has no file modes or owners as POSIX has them, no ``flock``, no ``pwd``, no
``O_NOFOLLOW``. Each use of those in ``src/exactlink`` is guarded (``os.name``, ``hasattr``,
``ImportError``); these tests run the main flows in process with Windows faked, so a guard that
is missing shows up as an ``AttributeError`` or ``ImportError``, and check that each guard
point takes its Windows branch.

Setting ``os.name = "nt"`` for the whole process would make pathlib build ``WindowsPath``
objects on Linux, so the fake is per module: every ``exactlink.*`` module sees an ``os`` whose
name is ``"nt"`` and which lacks the POSIX-only functions and flags, a ``sys`` whose platform is
``"win32"``, and ``import fcntl`` / ``pwd`` / ``grp`` / ``termios`` fail. Third-party libraries
(filelock, keyring, rich) keep their real Linux view: what they do on Windows is theirs to test.
A function-local ``import os`` still gets the real module (today they read ``os.environ``
only), which is why a static test keeps the list of guard points complete as well: a new use
of a POSIX-only name anywhere in ``src/exactlink`` outside them fails it.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import pkgutil
import stat
import sys
import types
from pathlib import Path

import pytest

import exactlink

SRC = Path(exactlink.__file__).parent

# What Windows' os module lacks that our code might reach for.
POSIX_ONLY_OS = frozenset(
    {
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getpgid",
        "getpgrp",
        "setsid",
        "killpg",
        "fork",
        "fchmod",
        "chown",
        "fchown",
        "lchown",
        "sync",
        "statvfs",
        "mkfifo",
        "getloadavg",
        "uname",
        "O_NOFOLLOW",
        "O_DIRECTORY",
        "O_NONBLOCK",
        "O_CLOEXEC",
    }
)
POSIX_ONLY_MODULES = ("fcntl", "pwd", "grp", "termios", "tty", "pty", "resource")
# The signals Python offers on Windows (signal module docs).
WINDOWS_SIGNALS = frozenset(
    {"SIGABRT", "SIGFPE", "SIGILL", "SIGINT", "SIGSEGV", "SIGTERM", "SIGBREAK"}
)

# Where src/exactlink touches a POSIX-only name, each behind a guard that the tests below run
# with Windows faked: (module, function) → what it uses.
GUARD_POINTS = {
    ("exactlink.paths", "check_private_dir"): {"os.geteuid"},
    ("exactlink.paths", "_can_lock"): {"import fcntl"},
    ("exactlink.paths", "_hold"): {"import fcntl"},
    ("exactlink.paths", "_regular_file_of_ours"): {"os.geteuid"},
    ("exactlink.adapters.secret_file", "check_secret_file"): {"os.geteuid"},
    ("exactlink.adapters.store.events", "_os_user"): {"os.getuid", "import pwd"},
    ("exactlink.adapters.exact.token_rescue", "runtime_folder"): {"os.geteuid"},
    ("exactlink.cli.receive", "_read_line"): {"import select"},
    # No guard needed: it selects on libpq's socket, and Windows' select takes sockets.
    ("exactlink.adapters.store.libpq", "<module>"): {"import select"},
}


class _FakeWindowsOs(types.ModuleType):
    """The real ``os`` with ``name == "nt"`` and without its POSIX-only members."""

    def __init__(self) -> None:
        super().__init__("os")
        self.name = "nt"

    def __getattr__(self, attr: str):
        if attr in POSIX_ONLY_OS:
            raise AttributeError(f"module 'os' has no attribute {attr!r} (faked Windows)")
        return getattr(os, attr)


class _FakeWindowsSys(types.ModuleType):
    """The real ``sys`` (its streams as CliRunner swaps them) with ``platform == "win32"``."""

    def __init__(self) -> None:
        super().__init__("sys")
        self.platform = "win32"

    def __getattr__(self, attr: str):
        return getattr(sys, attr)


def _exactlink_modules() -> list[types.ModuleType]:
    """Every module of the package, imported now: a lazily imported one must see the fake too."""
    names = ["exactlink"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="exactlink."):
        names.append(info.name)
    return [importlib.import_module(name) for name in names]


@pytest.fixture
def windows(monkeypatch):
    """Windows, as every exactlink module sees it."""
    # Libraries our code uses pick their own platform code at import: imported with the real
    # modules first, as on Windows they would be with Windows' own.
    import getpass  # noqa: F401

    import filelock  # noqa: F401

    fake_os, fake_sys = _FakeWindowsOs(), _FakeWindowsSys()
    for module in _exactlink_modules():
        if getattr(module, "os", None) is os:
            monkeypatch.setattr(module, "os", fake_os)
        if getattr(module, "sys", None) is sys:
            monkeypatch.setattr(module, "sys", fake_sys)
    for name in POSIX_ONLY_MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # `import fcntl` raises ImportError
    from exactlink.adapters.store import events

    events._os_user.cache_clear()  # asked again, the Windows way
    yield fake_os
    events._os_user.cache_clear()


def _ok(result, *, code: int = 0):
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    for kind in ("AttributeError", "ImportError", "ModuleNotFoundError", "Traceback"):
        assert kind not in result.stderr, result.stderr
    return result


def test_the_fake_is_windows_for_our_modules(windows):
    from exactlink import paths
    from exactlink.adapters import secret_file

    assert paths.os.name == "nt" and not hasattr(paths.os, "geteuid")
    assert not hasattr(secret_file.os, "O_NOFOLLOW")
    assert isinstance(Path("x"), type(Path.cwd()))  # pathlib itself is untouched
    with pytest.raises(ImportError):
        import fcntl  # noqa: F401


def test_main_flows_run_with_windows_faked(windows, cli, tmp_path, isolated_home):
    _ok(cli("portal", "create", "Kantoor Peeters", "--email", "info@kantoor.be"))
    _ok(cli("portal", "create", "Kantoor Janssens", "--email", "info@janssens.be"))
    portals = _ok(cli("--json", "portal", "list")).json()
    assert {p["name"] for p in portals} == {"Kantoor Peeters", "Kantoor Janssens"}
    _ok(cli("portal", "use", "Kantoor Peeters"))

    _ok(cli("client", "add", "Bakkerij Claes", "--vat", "BE0403170701", "--email", "a@claes.be"))
    _ok(cli("client", "update", "Bakkerij Claes", "--email", "info@claes.be"))
    shown = _ok(cli("--json", "client", "show", "Bakkerij Claes")).json()
    assert shown["email"] == "info@claes.be"

    listing = tmp_path / "klanten.csv"
    listing.write_bytes(
        "Naam;E-mail\r\nCafé Zoë;zoe@cafe.be\r\nGarage Maes;garage@maes.be\r\n".encode("cp1252")
    )
    _ok(cli("client", "import", str(listing)))
    names = {c["name"] for c in _ok(cli("--json", "client", "list")).json()}
    assert names == {"Bakkerij Claes", "Café Zoë", "Garage Maes"}
    _ok(cli("client", "remove", "Garage Maes", "--yes"))

    exported = tmp_path / "export.csv"
    _ok(cli("client", "export", "-o", str(exported)))
    text = exported.read_text("utf-8-sig")
    assert "Café Zoë" in text and "Garage Maes" not in text

    app = _ok(
        cli(
            "exact", "app", "set",
            "--client-id", "{0f0e1d2c-0000-4000-8000-000000000001}",
            "--redirect-uri", "https://relay.example.org/exactlink",
            "--insecure-storage",
            input="secret-value-123\n",
        )
    )  # fmt: skip
    assert "secrets-insecure.json" in app.stderr
    secrets_file = isolated_home / "secrets-insecure.json"
    assert "secret-value-123" in secrets_file.read_text("utf-8")
    # The plain secrets file is read back (its checks, its lock) by a second write.
    _ok(
        cli(
            "exact", "app", "set",
            "--client-id", "{0f0e1d2c-0000-4000-8000-000000000002}",
            "--redirect-uri", "https://relay.example.org/exactlink",
            "--insecure-storage",
            input="secret-value-456\n",
        )
    )  # fmt: skip
    assert "secret-value-456" in secrets_file.read_text("utf-8")
    assert not list(isolated_home.glob(".secrets-insecure.json.*.tmp"))

    doctor = _ok(cli("--json", "doctor"), code=10)  # not connected: the only problem
    checks = {c["id"]: c for c in doctor.json()["checks"]}
    assert [checks[k]["status"] for k in ("store", "config", "keyring")] == ["ok", "ok", "warn"]
    # No POSIX mode on Windows: the path alone, not "mode 0600".
    assert str(secrets_file) in checks["keyring"]["message"]
    assert "mode" not in checks["keyring"]["message"]

    log = _ok(cli("--json", "log")).json()
    actions = {e["action"] for e in log}
    assert {"portal.create", "client.add", "client.remove", "exact.app.set"} <= actions
    assert all(e["os_user"] for e in log)  # the logon name, without pwd

    bundle = tmp_path / "bundle.json"
    _ok(cli("support", "bundle", "-o", str(bundle), "--no-doctor"))
    assert "secret-value-456" not in bundle.read_text("utf-8")
    assert json.loads(bundle.read_text("utf-8"))

    status = _ok(cli("--json", "store", "status")).json()
    assert status["backend"] == "sqlite"


def test_insecure_file_has_no_mode_check_on_windows_but_a_symlink_is_refused(windows, tmp_path):
    from exactlink.adapters.secret_file import InsecureFileSecretStore, read_secret_file
    from exactlink.errors import UnsafeFile

    secrets_file = tmp_path / "secrets-insecure.json"
    secrets_file.write_text('{"k": "v"}', "utf-8")
    os.chmod(secrets_file, 0o644)  # what POSIX refuses; Windows has no such bits to check
    assert read_secret_file(secrets_file) == b'{"k": "v"}'
    store = InsecureFileSecretStore(secrets_file)
    assert store.get("k") == "v" and not store.has_modes

    link = tmp_path / "link.json"
    link.symlink_to(secrets_file)
    with pytest.raises(UnsafeFile) as refused:
        read_secret_file(link)
    assert refused.value.details["problem"] == "symlink"


def test_the_same_file_is_refused_on_posix(tmp_path):
    """The other side of the guard: without the fake the mode check is there."""
    from exactlink.adapters.secret_file import read_secret_file
    from exactlink.errors import UnsafeFile

    secrets_file = tmp_path / "secrets-insecure.json"
    secrets_file.write_text("{}", "utf-8")
    os.chmod(secrets_file, 0o644)
    with pytest.raises(UnsafeFile) as refused:
        read_secret_file(secrets_file)
    assert refused.value.details["problem"] == "mode"


def test_private_folder_has_no_mode_check_on_windows_but_a_symlink_is_refused(windows, tmp_path):
    from exactlink.errors import UnsafeFolder
    from exactlink.paths import check_private_dir, ensure_private_dir

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # its ACL decides on Windows
    check_private_dir(shared)
    assert ensure_private_dir(shared / "new" / "home").is_dir()

    link = tmp_path / "link"
    link.symlink_to(shared)
    with pytest.raises(UnsafeFolder) as refused:
        check_private_dir(link)
    assert refused.value.details["problem"] == "symlink"


def test_dead_temp_files_are_removed_without_flock(windows, tmp_path):
    """No flock on Windows: a leftover nobody holds open is removed, a symlink is left alone."""
    from exactlink.paths import remove_dead_temps, replace_file

    target = tmp_path / "secrets-insecure.json"
    dead = tmp_path / ".secrets-insecure.json.0123456789abcdef.tmp"
    dead.write_bytes(b"a killed writer's copy of every secret")
    planted = tmp_path / ".secrets-insecure.json.fedcba9876543210.tmp"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("not ours to remove")
    planted.symlink_to(elsewhere)

    remove_dead_temps(target)
    assert not dead.exists()
    assert planted.is_symlink() and elsewhere.exists()

    replace_file(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert stat.S_ISREG(os.lstat(target).st_mode)


def test_audit_user_comes_without_pwd(windows, monkeypatch):
    from exactlink.adapters.store import events

    monkeypatch.setattr(events.os, "getlogin", lambda: "anna", raising=False)
    assert events._os_user() == "anna"


def test_no_runtime_folder_for_rescued_tokens_on_windows(windows, tmp_path, monkeypatch):
    from exactlink.adapters.exact.token_rescue import runtime_folder
    from exactlink.paths import Paths

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert runtime_folder(Paths.resolve(tmp_path / "home")) is None


def test_no_windows_locale_lookup_breaks_off_windows(windows, monkeypatch):
    """With ``sys.platform`` faked the Windows branch runs; ctypes has no windll here."""
    from exactlink.services import exporting

    for name in ("LC_ALL", "LC_NUMERIC", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert exporting._windows_locale() is None


def _posix_uses(tree: ast.AST) -> dict[str, set[str]]:
    """Function name → the POSIX-only names it uses (``os.geteuid``, ``import fcntl``)."""
    found: dict[str, set[str]] = {}

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            where = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                where = child.name
            use = None
            if (
                isinstance(child, ast.Attribute)
                and isinstance(child.value, ast.Name)
                and child.value.id == "os"
                and child.attr in POSIX_ONLY_OS
            ):
                use = f"os.{child.attr}"
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name in (*POSIX_ONLY_MODULES, "select"):
                        use = f"import {alias.name}"
            if use is not None:
                found.setdefault(where, set()).add(use)
            visit(child, where)

    visit(tree, "<module>")
    return found


def test_every_posix_only_use_is_a_known_guard_point():
    """A new use of a POSIX-only name must be guarded, and listed here with a test above."""
    found = {}
    for path in SRC.rglob("*.py"):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        for function, uses in _posix_uses(ast.parse(path.read_text("utf-8"))).items():
            found[(module, function)] = uses
    assert found == GUARD_POINTS


def test_only_signals_that_windows_has():
    used = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "signal"
                and node.attr.startswith("SIG")
                and not node.attr.startswith(("SIG_", "SIGN"))
            ):
                used.add(node.attr)
    assert used <= WINDOWS_SIGNALS, used - WINDOWS_SIGNALS
