"""The suite's own isolation, which lets it run in parallel and in any order: a home per test,
ports no other worker or socket can be handed, keyring entries no other test can touch."""

from __future__ import annotations

import os
import socket

from support.real import namespaces_under
from support.sandbox import free_port


def test_each_test_has_its_own_home(isolated_home, tmp_path):
    assert os.environ["EXACTLINK_HOME"] == str(isolated_home)
    assert isolated_home.parent == tmp_path  # tmp_path is unique per test and per worker


def test_free_ports_are_never_handed_out_twice_and_never_by_the_kernel():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:  # Linux, as CI
        low, high = (int(n) for n in f.read().split())
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(not low <= port <= high for port in ports)  # bind(port 0) never lands there
    for port in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # free indeed


def test_workers_draw_from_slices_of_their_own(monkeypatch):
    import support.sandbox as sandbox

    drawn = {}
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        monkeypatch.setattr(sandbox, "_drawn", set())
        drawn[worker] = {free_port() // sandbox._SLICE for _ in range(20)}
    assert drawn["gw0"].isdisjoint(drawn["gw1"]) and drawn["gw1"].isdisjoint(drawn["gw2"])


def test_keyring_entries_are_namespaced_by_the_homes_under_a_test(tmp_path):
    from exactlink.adapters.secrets import home_namespace
    from exactlink.paths import Paths

    (tmp_path / "a" / "b").mkdir(parents=True)
    mine = namespaces_under(tmp_path)
    assert home_namespace(Paths.resolve(tmp_path / "a" / "b")) in mine
    assert home_namespace(Paths.resolve(tmp_path.parent)) not in mine  # another test's home


def test_real_keyring_teardown_removes_only_this_tests_entries(real_keyring, tmp_path):
    """What the ``real_keyring`` fixture does after each test, tried on purpose."""
    import tempfile

    from exactlink.adapters.secrets import SERVICE, home_namespace
    from exactlink.paths import Paths
    from support.real import _remove_entries_under

    ours = home_namespace(Paths.resolve(tmp_path / "home"))
    with tempfile.TemporaryDirectory() as elsewhere:
        theirs = home_namespace(Paths.resolve(elsewhere))
        real_keyring.set_password(SERVICE, f"{ours}/app/client_secret", "ours")
        real_keyring.set_password(SERVICE, f"{theirs}/app/client_secret", "theirs")
        try:
            _remove_entries_under(real_keyring, tmp_path)
            assert real_keyring.get_password(SERVICE, f"{ours}/app/client_secret") is None
            assert real_keyring.get_password(SERVICE, f"{theirs}/app/client_secret") == "theirs"
        finally:
            real_keyring.delete_password(SERVICE, f"{theirs}/app/client_secret")


def test_a_single_named_test_runs_without_workers():
    from support.parallel import _names_single_tests

    assert _names_single_tests(["tests/test_isolation.py::test_each_test_has_its_own_home"])
    assert not _names_single_tests([])
    assert not _names_single_tests(["tests/cli"])
    assert not _names_single_tests(["tests/cli", "tests/test_isolation.py::test_x"])
