"""The client and portal services against a real store on tmp_path (no CLI)."""

from __future__ import annotations

import pytest

from exactlink.adapters.config import Config
from exactlink.adapters.store import Store
from exactlink.errors import Conflict, InvalidInput, NotFound, UsageError
from exactlink.services import clients, importing, portals


@pytest.fixture
def store(tmp_path, store_backend):
    """The real store, SQLite and PostgreSQL (``store_backend`` runs each test on both)."""
    import os

    s = Store(tmp_path / "state.db", os.environ.get("EXACTLINK_STORE"))
    yield s
    s.close()


@pytest.fixture
def config(tmp_path):
    return Config(tmp_path / "config.toml")


@pytest.fixture
def portal(store, config):
    return portals.create_portal(store, config, name="K", email="k@k.be").portal


def test_first_portal_is_default_and_saved(store, config, tmp_path):
    change = portals.create_portal(store, config, name="K", email="k@k.be")
    assert change.is_default
    assert Config.load(tmp_path / "config.toml").get("default_portal") == "K"


def test_add_unchanged_conflict_update(store, portal):
    added = clients.add_client(store, portal, "A", vat="BE0403170701")
    assert added.action == "added" and added.client.status == "pending"
    assert clients.add_client(store, portal, "a").action == "unchanged"
    with pytest.raises(Conflict) as caught:
        clients.add_client(store, portal, "A", access_granted=True)
    assert caught.value.details["fields"] == ["access_granted"]
    updated = clients.add_client(store, portal, "A", access_granted=True, update=True)
    assert updated.client.status == "granted"


def test_failed_add_leaves_no_event(store, portal):
    with pytest.raises(InvalidInput):
        clients.add_client(store, portal, "A", email="nope")
    with pytest.raises(UsageError):
        clients.add_client(store, portal, "A", managed=True)
    assert [e.action for e in store.events.list()] == ["portal.create"]


def test_portal_deleted_meanwhile(store, config, portal):
    portals.delete_portal(store, config, "K")
    with pytest.raises(NotFound):
        clients.add_client(store, portal, "A")


def test_status_filter_validated(store, portal):
    with pytest.raises(UsageError):
        clients.list_clients(store, portal, status="bogus")


def test_import_rolls_back_when_a_write_fails(store, portal, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(store.events), "record", boom)
    with pytest.raises(RuntimeError):
        importing.import_clients(store, portal, b"name\nA\nB\n", source="x.csv")
    assert store.clients.list(portal.id) == []


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        ("ja", True),
        ("NEE", False),
        ("1", True),
        ("0", False),
        ("", None),
        (None, None),
        (True, True),
        ("yes", True),
        ("False", False),
    ],
)
def test_parse_flag(value, flag):
    assert importing.parse_flag(value) is flag


def test_detect_format():
    assert importing.detect_format("name\n", "x.json") == "json"
    assert importing.detect_format("[]", "<stdin>") == "json"
    assert importing.detect_format("name\n", "<stdin>") == "csv"
    assert importing.detect_format("[]", "x.csv", "CSV") == "csv"
