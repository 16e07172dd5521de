"""The deterministic seed: realistic, valid identifiers, every required case; package isolation."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import time

import pytest
from stdnum.be import vat as be_vat
from stdnum.nl import vat as nl_vat

from exactlink_sandbox import HQ_CODE_FLOOR, PortInUseError, Sandbox
from exactlink_sandbox.seed import generate

SANDBOX_SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "exactlink" / "sandbox"
LEGAL_FORMS = (
    "BV",
    "B.V.",
    "NV",
    "N.V.",
    "BVBA",
    "SRL",
    "VOF",
    "V.O.F.",
    "CommV",
    "SA",
    "SPRL",
    "SComm",
)


def _kvk_ok(number: str) -> bool:
    return len(number) == 8 and number.isdigit()


def test_same_arguments_same_world():
    a = generate(40, 7).to_json("x")
    b = generate(40, 7).to_json("x")
    c = generate(40, 8).to_json("x")
    assert a == b
    assert a != c


def test_identifiers_are_valid():
    world = generate(300, 2)
    for company in world.companies:
        if company.country == "NL":
            assert nl_vat.is_valid(company.vat_number), company.vat_number
            assert company.vat_number.startswith("NL") and company.vat_number.endswith("B01")
            assert _kvk_ok(company.coc_number), company.coc_number
        else:
            assert be_vat.is_valid(company.vat_number), company.vat_number
            assert company.vat_number == "BE" + company.coc_number
            assert be_vat.is_valid(company.coc_number)  # the KBO number itself (mod 97)
            assert company.coc_number[0] == "0" and len(company.coc_number) == 10


def test_names_are_realistic_unique_and_accented():
    world = generate(300, 2)
    names = [c.name for c in world.companies if c.kind != "hq"]
    assert len(set(names)) == len(names)
    assert all(any(n.endswith(" " + form) for form in LEGAL_FORMS) for n in names)
    assert {"NL", "BE"} == {c.country for c in world.companies}
    small = generate(12, 1)
    assert sum(any(ord(ch) > 127 for ch in c.name) for c in small.companies) >= 2


@pytest.mark.parametrize("clients", [7, 12, 40, 200])
def test_every_required_case_is_present(clients):
    seed = generate(clients, 1).to_json("http://x")
    companies = seed["companies"]
    clients_only = [c for c in companies if c["kind"] == "client"]
    assert len(clients_only) == clients
    assert sum(c["practice"] for c in companies) == 1
    assert any(c["status"] == 2 for c in companies)
    assert any(c["blocking_status"] != 0 for c in companies)
    hq = [c for c in companies if c["hq"]]
    assert len(hq) == 1 and hq[0]["division"] > HQ_CODE_FLOOR
    assert any(not c["login_has_access"] for c in companies)
    assert sum(not c["granted_to_app"] for c in clients_only) >= 2
    roles = [login["role"] for login in seed["logins"]]
    assert roles == ["firm", "client"]
    client_login = seed["logins"][1]
    assert (
        next(c for c in companies if c["division"] == client_login["company"])["own_login"]
        == client_login["username"]
    )
    assert all(c["division"] < HQ_CODE_FLOOR for c in companies if not c["hq"])
    assert len({c["division"] for c in companies}) == len(companies)
    for key in ("base_url", "country", "app", "firm", "logins", "companies"):
        assert key in seed
    assert set(seed["app"]) >= {"client_id", "client_secret", "redirect_uri", "name"}
    assert set(seed["firm"]) >= {"name", "vat_number", "coc_number", "division"}


def test_five_thousand_clients_seed_quickly():
    start = time.perf_counter()
    world = generate(5000, 1)
    assert time.perf_counter() - start < 3
    assert len(world.companies) == 5002


def test_tiny_worlds_work():
    for n in range(0, 6):
        seed = generate(n, 1).to_json("x")
        assert sum(c["kind"] == "client" for c in seed["companies"]) == n


def test_sandbox_seed_has_base_url_and_default_redirect(sandbox):
    assert sandbox.seed["base_url"] == sandbox.base_url
    assert sandbox.base_url.startswith("http://127.0.0.1:") and not sandbox.base_url.endswith("/")
    assert sandbox.seed["app"]["redirect_uri"] == "https://auth.exactlink.test/callback"
    assert sandbox.seed["profile"] == "strict"


def test_lenient_default_redirect_is_the_old_loopback_one(sandbox_factory):
    sb = sandbox_factory(clients=1, profile="lenient")
    assert sb.seed["app"]["redirect_uri"] == "http://127.0.0.1:8765/callback"
    assert sb.seed["profile"] == "lenient"


def test_port_in_use_raises(sandbox):
    with pytest.raises(PortInUseError):
        Sandbox(clients=1, port=sandbox.port).start()


def test_only_loopback():
    with pytest.raises(ValueError):
        Sandbox(clients=1, host="0.0.0.0")


def test_unknown_switch_is_refused():
    with pytest.raises(ValueError):
        Sandbox(clients=1, no_such_switch=True)


def test_package_imports_nothing_else_from_exactlink():
    for path in SANDBOX_SRC.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level == 0:
                    assert not module.startswith("exactlink") or module.startswith(
                        "exactlink_sandbox"
                    ), path
                else:
                    assert node.level == 1, f"{path}: relative import outside the package"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("exactlink") or alias.name.startswith(
                        "exactlink_sandbox"
                    )
    code = (
        "import sys, exactlink_sandbox, exactlink_sandbox.autoconsent;"
        "bad=[m for m in sys.modules if m.startswith('exactlink.') and not m.startswith('exactlink_sandbox')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
