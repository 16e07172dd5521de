"""`exact status` for a big firm: the clients per status, the rate limits in one line, and the
clients that need attention; not one line per administration (issue 14). `--all` lists every
client; `--json` keeps every rate limit."""

from __future__ import annotations

import csv
import io

from support.exactkit import connected, control, seed_clients


def _import_seed(cli, sb) -> list[dict]:
    companies = seed_clients(sb)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["name", "vat", "access_granted"])
    for number, company in enumerate(companies):
        granted = "no" if number % 100 == 0 else "yes"  # a few still pending
        writer.writerow([company["name"], company["vat_number"], granted])
    result = cli("client", "import", "-", "--format", "csv", input=buf.getvalue())
    assert result.exit_code == 0, result.stderr
    return companies


def test_status_of_a_firm_of_1500_clients_is_a_summary_and_the_problems(
    sandbox_factory, cli, monkeypatch
):
    world = connected(sandbox_factory, cli, monkeypatch, clients=1500)
    companies = _import_seed(cli, world.sb)
    assert cli("exact", "activate", "--all").exit_code in (0, 6)  # some cannot be linked
    clients = cli("--json", "client", "list").json()
    count = {s: sum(c["status"] == s for c in clients) for s in ("active", "granted", "pending")}
    assert len(clients) == len(companies) >= 1500 and count["granted"] > 20
    in_need = sorted(
        (c for c in clients if c["status"] != "active"),
        key=lambda c: (c["status"] != "granted", c["name"]),  # not linked first, then pending
    )

    shown = cli("exact", "status")

    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) < 40
    assert (
        f"{count['active']:,} active, {count['granted']:,} granted, {count['pending']:,} pending"
        in shown.stdout
    )
    rate_line = next(line for line in lines if line.startswith("rate limits"))
    assert f"{count['active'] + 1:,} administrations" in rate_line  # theirs and the firm's own
    rows = [line for line in lines if "not linked to an administration yet" in line]
    assert [row.split("  ")[0] for row in rows] == [c["name"] for c in in_need[:20]]
    assert f"and {len(in_need) - 20:,} more clients" in shown.stderr
    assert "`exactlink exact status --all`" in shown.stderr
    assert "`exactlink exact activate --all`" in shown.stderr
    assert "`exactlink client list --status pending`" in shown.stderr

    every = cli("exact", "status", "--all")

    assert every.exit_code == 0, every.stderr
    listed = every.stdout.split("NEEDS ATTENTION", 1)[1]
    assert all(c["name"] in listed for c in clients)
    assert len(listed.strip().splitlines()) == len(clients) + 1  # and the firm's own division

    data = cli("--json", "exact", "status").json()
    assert len(data["rate_limits"]) == count["active"] + 1
    assert set(data["rate_limits"][0]) == {
        "division",
        "daily_remaining",
        "daily_limit",
        "daily_reset_at",
        "minutely_remaining",
        "minutely_limit",
    }
    assert "clients" not in data  # --json unchanged


def test_a_small_firm_sees_every_administration_and_what_needs_attention(
    sandbox_factory, cli, monkeypatch
):
    world = connected(sandbox_factory, cli, monkeypatch)
    control(world.sb, "POST", "/_sandbox/limits", {"daily_limit": 1})
    division = cli("--json", "exact", "status").json()["current_division"]
    accounts = ["exact", "api", "--division", str(division), "crm/Accounts", "-f", "$select=ID"]
    assert cli(*accounts).exit_code == 0
    assert cli("client", "add", "Bakkerij Peeters").exit_code == 0

    shown = cli("exact", "status")

    assert shown.exit_code == 0, shown.stderr
    table = shown.stdout.split("NEEDS ATTENTION", 1)[1].splitlines()
    firm_row = next(line for line in table if str(division) in line)
    assert "no calls left today (until " in firm_row
    pending_row = next(line for line in table if "Bakkerij" in line)
    assert "has not granted the firm access yet" in pending_row
    assert "--all" not in shown.stderr
