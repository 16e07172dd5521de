"""A hand-picked division is checked before anything is written, and a stale division cache is
refreshed: `exact activate --division` against the sandbox over real HTTP, real SQLite."""

from __future__ import annotations

from rapidfuzz import fuzz

from exactlink.services.matching import normalize_name
from support.exactkit import connected, control, seed_clients, stats


def healthy(sb) -> list[dict]:
    return [
        c
        for c in seed_clients(sb)
        if c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
        and not c["own_login"]
    ]


def nothing_written(db) -> None:
    assert db("SELECT count(*) FROM activations") == [(0,)]
    assert db("SELECT count(*) FROM events WHERE action = 'exact.activate'") == [(0,)]


def test_the_firms_own_division_is_refused_unless_forced(sandbox_factory, cli, monkeypatch, db):
    world = connected(sandbox_factory, cli, monkeypatch)
    firm = world.sb.seed["firm"]["division"]
    a = healthy(world.sb)[0]
    assert (
        cli("client", "add", a["name"], "--vat", a["vat_number"], "--access-granted").exit_code == 0
    )
    refused = cli("--json", "exact", "activate", "--client", a["name"], "--division", str(firm))
    assert refused.exit_code == 4, refused.stderr
    error = refused.json()["errors"][0]
    assert error["code"] == "conflict" and error["details"]["cause"] == "own_practice"
    assert "practice" in error["message"] and "--force" in error["hint"]
    nothing_written(db)
    dry = cli(
        "--json", "exact", "activate", "--client", a["name"], "--division", str(firm), "--dry-run"
    )
    assert dry.exit_code == 4  # the dry run shows the same refusal
    forced = cli(
        "--json", "exact", "activate", "--client", a["name"], "--division", str(firm), "--force"
    )
    assert forced.exit_code == 0, forced.stderr
    data = forced.json()["data"]
    assert data["outcome"] == "activated" and data["division"] == firm
    assert any("practice" in w for w in data["warnings"])


def test_a_division_with_another_vat_number_is_refused_with_what_differs(
    sandbox_factory, cli, monkeypatch, db
):
    world = connected(sandbox_factory, cli, monkeypatch)
    a, b = healthy(world.sb)[:2]
    assert (
        cli("client", "add", a["name"], "--vat", a["vat_number"], "--access-granted").exit_code == 0
    )
    before = stats(world.sb)
    result = cli(
        "--json", "exact", "activate", "--client", a["name"], "--division", str(b["division"])
    )
    assert result.exit_code == 4, result.stderr
    error = result.json()["errors"][0]
    assert error["details"]["cause"] == "division_mismatch"
    assert error["details"]["check"]["vat"] == "differs"
    assert a["vat_number"] in error["message"] and b["vat_number"] in error["message"]
    nothing_written(db)
    after = stats(world.sb)
    probes = after["api_calls_by_endpoint"].get("users/UserHasRights", 0)
    assert probes == before["api_calls_by_endpoint"].get("users/UserHasRights", 0)  # no probe
    human = cli("exact", "activate", "--client", a["name"], "--division", str(b["division"]))
    assert human.exit_code == 4 and "VAT" in human.stderr and "--force" in human.stderr
    # The right division, as a dry run: the check is shown and nothing is stored.
    dry = cli(
        "--json", "exact", "activate", "--client", a["name"], "--division", str(a["division"]),
        "--dry-run",
    )  # fmt: skip
    assert dry.exit_code == 0, dry.stderr
    data = dry.json()["data"]
    assert data["outcome"] == "would_activate"
    assert data["check"]["result"] == "strong" and data["check"]["vat"] == "same"
    shown = cli(
        "exact", "activate", "--client", a["name"], "--division", str(a["division"]), "--dry-run"
    )
    assert "Check of administration" in shown.stderr and "strong" in shown.stderr
    nothing_written(db)
    forced = cli(
        "--json",
        "exact",
        "activate",
        "--client",
        a["name"],
        "--division",
        str(b["division"]),
        "--force",
    )
    assert forced.exit_code == 0, forced.stderr
    assert forced.json()["data"]["check"]["result"] == "mismatch"
    assert forced.json()["data"]["warnings"]


def test_a_name_that_disagrees_is_refused_and_a_weak_one_warned(
    sandbox_factory, cli, monkeypatch, db
):
    world = connected(sandbox_factory, cli, monkeypatch)
    a, b = healthy(world.sb)[:2]
    assert cli("client", "add", "Zomaar Iets Anders", "--access-granted").exit_code == 0
    refused = cli(
        "--json",
        "exact",
        "activate",
        "--client",
        "Zomaar Iets Anders",
        "--division",
        str(a["division"]),
    )
    assert refused.exit_code == 4
    assert "name" in refused.json()["errors"][0]["message"]
    nothing_written(db)
    # A name only partly like the division's (no number to compare): a warning, not a refusal.
    weak = normalize_name(b["name"]).split()[0].title() + " Holding"
    score = fuzz.token_sort_ratio(normalize_name(weak), normalize_name(b["name"]))
    assert 60 <= score < 90, (weak, b["name"], score)
    assert cli("client", "add", weak, "--access-granted").exit_code == 0
    result = cli("--json", "exact", "activate", "--client", weak, "--division", str(b["division"]))
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["check"]["result"] == "weak" and "weak match" in data["warnings"][0]
    human = cli("exact", "activate", "--client", weak, "--division", str(b["division"]))
    assert "weak match" in human.stderr


def test_a_division_granted_after_the_cache_was_filled_is_found(sandbox_factory, cli, monkeypatch):
    world = connected(sandbox_factory, cli, monkeypatch)
    sb = world.sb
    late = next(
        c
        for c in seed_clients(sb)
        if not c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
    )
    assert cli("exact", "divisions").exit_code == 0  # the cache, without it
    control(sb, "POST", "/_sandbox/grant", {"add": [late["division"]]})
    assert (
        cli(
            "client", "add", late["name"], "--vat", late["vat_number"], "--access-granted"
        ).exit_code
        == 0
    )
    # Matched (no --division): the fresh cache has no match, so the list is fetched once more.
    result = cli("--json", "exact", "activate", "--client", late["name"])
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["division"] == late["division"]
    listed = cli("--json", "exact", "divisions").json()["divisions"]
    assert late["division"] in {d["code"] for d in listed}


def test_a_fresh_cache_spares_the_list_and_an_old_one_is_fetched(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    world = connected(sandbox_factory, cli, monkeypatch)
    sb = world.sb
    a = healthy(sb)[0]
    assert (
        cli("client", "add", a["name"], "--vat", a["vat_number"], "--access-granted").exit_code == 0
    )
    assert cli("exact", "activate", "--all").exit_code in (0, 6)

    def pages() -> int:
        return stats(sb)["api_calls_by_endpoint"].get("system/Divisions", 0)

    before = pages()
    noop = cli("--json", "exact", "activate", "--all")
    assert noop.exit_code == 0, noop.stderr
    assert pages() == before  # a no-op within the freshness window reads the cache
    doctor = cli("--json", "doctor", "--client", a["name"])
    assert doctor.exit_code == 0, doctor.stdout
    assert pages() == before
    assert cli("exact", "divisions", "--refresh").exit_code == 0
    assert pages() > before  # --refresh always fetches
    # Age 0 in config: every run fetches.
    config = isolated_home / "config.toml"
    config.write_text(config.read_text() + "\n", encoding="utf-8")
    cfg = config.read_text().replace("[exact]", "[exact]\ndivisions_max_age_minutes = 0", 1)
    config.write_text(cfg, encoding="utf-8")
    middle = pages()
    assert cli("--json", "exact", "activate", "--all").exit_code == 0
    assert pages() > middle
