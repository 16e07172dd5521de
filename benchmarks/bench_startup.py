"""Start-up benchmark: each command as a ratio to `python -c "import typer"`, measured in pairs.

    python benchmarks/bench_startup.py [--runs 25] [--json]

Each pair runs the command and `python -c "import typer"` back to back (alternating which goes
first), and the figure is the median of the per-pair ratios: a machine that is busy for a few
seconds slows both halves of a pair alike, so the verdict no longer flips between runs the way
two separate medians did. Commands run as users run them: the console script, with compiled
bytecode (`_installed.py`), after one untimed warm-up run each.

Targets (issue 9): `client list --json` with 1,000 clients, `portal list`, `exact status` (a
connected home, its sandbox stopped so nothing reaches the network) ≤ 1.3×; `--help` ≤ 2×, piped
and on a terminal (a pty, colours on, where Rich renders the help). Also reported: `--version`,
the modules `exact status` imports that it should not, and `client import` of 10,000 rows (within
1 s of start-up). Runs in temporary homes; touches nothing else. Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _exact_home import connected_home
from _installed import exactlink_command, installed_env

HEAVY = ("requests", "keyring", "rich", "cryptography", "psycopg")


def children_cpu() -> float:
    """CPU seconds (user + system) of the children this process has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_piped(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run with stdout and stderr on pipes; exits on failure."""
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr.decode()}")
    return elapsed, children_cpu() - cpu


def run_on_terminal(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run on a pseudo-terminal (120×40), its output read as a
    terminal would."""
    cpu = children_cpu()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    code = proc.wait()
    elapsed = time.perf_counter() - started
    os.close(master)
    if code != 0:
        sys.exit(f"failed on a terminal: {' '.join(command)}\n{output.decode(errors='replace')}")
    return elapsed, children_cpu() - cpu


@dataclass
class Paired:
    label: str
    target: float
    ratio: float  # the median of the per-pair ratios of wall time: the target's measure
    command_ms: float
    typer_ms: float
    cpu_ratio: float  # the same for CPU time, which a busy machine disturbs less

    @property
    def ok(self) -> bool:
        return self.ratio <= self.target


def paired(
    label: str,
    command: list[str],
    env: dict[str, str],
    runs: int,
    target: float,
    *,
    terminal: bool = False,
) -> Paired:
    """``command`` and ``import typer`` interleaved ``runs`` times, the same stdio for both."""
    run = run_on_terminal if terminal else run_piped
    baseline = [sys.executable, "-c", "import typer"]
    run(command, env)  # warm-up: the OS page cache, any bytecode not yet written
    run(baseline, env)
    ratios, cpu_ratios, mine, theirs = [], [], [], []
    for i in range(runs):
        if i % 2:
            base, cmd = run(baseline, env), run(command, env)
        else:
            cmd, base = run(command, env), run(baseline, env)
        ratios.append(cmd[0] / base[0])
        cpu_ratios.append(cmd[1] / base[1] if base[1] else float("nan"))
        mine.append(cmd[0])
        theirs.append(base[0])
    return Paired(
        label,
        target,
        statistics.median(ratios),
        statistics.median(mine) * 1000,
        statistics.median(theirs) * 1000,
        statistics.median(cpu_ratios),
    )


def heavy_imports(argv: list[str], env: dict[str, str]) -> list[str]:
    """The heavy libraries a command imports (``-X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "exactlink", *argv],
        env=env,
        capture_output=True,
        text=True,
    )
    trace = done.stderr
    return [name for name in HEAVY if f" {name}\n" in trace or f" {name}." in trace]


def import_beyond_startup(exactlink: list[str], env: dict[str, str], tmp: Path, runs: int) -> float:
    """Seconds `client import` of 10,000 rows takes beyond `portal list` (the start-up)."""
    big = tmp / "big.csv"
    big.write_text(
        "name;email;vat\n"
        + "".join(f"Klant {i:05d} BV;k{i}@example.be;BE0403170701\n" for i in range(10_000)),
        encoding="utf-8",
    )
    home = tmp / "import-home"
    import_env = dict(env, EXACTLINK_HOME=str(home))
    imports, startups = [], []
    for _ in range(runs):
        shutil.rmtree(home, ignore_errors=True)
        run_piped([*exactlink, "portal", "create", "K", "--email", "k@k.be"], import_env)
        startups.append(run_piped([*exactlink, "portal", "list"], import_env)[0])
        imports.append(run_piped([*exactlink, "client", "import", str(big)], import_env)[0])
    return statistics.median(imports) - statistics.median(startups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="paired runs per command (≥ 20)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    exactlink = exactlink_command()
    load = list(os.getloadavg())

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ, EXACTLINK_HOME=str(tmp / "home"), NO_COLOR="1")
        env.pop("EXACTLINK_LANG", None)
        env = installed_env(env)
        terminal_env = {
            k: v for k, v in env.items() if k not in ("NO_COLOR", "COLUMNS", "TYPER_USE_RICH")
        }
        terminal_env["TERM"] = "xterm-256color"

        run_piped([*exactlink, "portal", "create", "Kantoor", "--email", "info@kantoor.be"], env)
        thousand = "name,vat\n" + "".join(f"Klant {i:04d},BE0403170701\n" for i in range(1000))
        subprocess.run(
            [*exactlink, "client", "import", "-"],
            env=env,
            input=thousand.encode(),
            check=True,
            capture_output=True,
        )
        sandbox, connected = connected_home()
        sandbox.stop()  # `exact status` must not need the network
        status_env = dict(env, EXACTLINK_HOME=connected)

        results = [
            paired("exactlink --version", [*exactlink, "--version"], env, args.runs, 1.3),
            paired("exactlink --help", [*exactlink, "--help"], env, args.runs, 2.0),
            paired(
                "exactlink --help (terminal)",
                [*exactlink, "--help"],
                terminal_env,
                args.runs,
                2.0,
                terminal=True,
            ),
            paired("exactlink portal list", [*exactlink, "portal", "list"], env, args.runs, 1.3),
            paired(
                "exactlink client list --json (1,000)",
                [*exactlink, "client", "list", "--json"],
                env,
                args.runs,
                1.3,
            ),
            paired(
                "exactlink exact status",
                [*exactlink, "exact", "status"],
                status_env,
                args.runs,
                1.3,
            ),
        ]
        heavy = heavy_imports(["exact", "status"], status_env)
        beyond = import_beyond_startup(exactlink, env, tmp, max(3, args.runs // 5))
        shutil.rmtree(connected, ignore_errors=True)

    ok = all(r.ok for r in results) and beyond <= 1.0 and not heavy
    if args.json:
        figures = {
            "runs": args.runs,
            "load_average_before": load,
            "results": [{**vars(r), "ok": r.ok} for r in results],
            "exact_status_heavy_imports": heavy,
            "import_10000_beyond_startup_s": round(beyond, 3),
        }
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{args.runs} paired runs each; ratio = median of (command / import typer), wall"
            " time (the target) and CPU time; load average before: "
            + " ".join(f"{x:.1f}" for x in load)
        )
        for r in results:
            mark = "ok" if r.ok else "OVER"
            print(
                f"{r.label:38} {r.command_ms:7.1f} ms vs {r.typer_ms:6.1f} ms"
                f"  {r.ratio:5.2f}x  (target ≤ {r.target}x: {mark})  CPU {r.cpu_ratio:5.2f}x"
            )
        print(f"{'exact status imports':38} {', '.join(heavy) or 'none of ' + ', '.join(HEAVY)}")
        mark = "ok" if beyond <= 1.0 else "OVER"
        print(
            f"{'client import (10,000 rows)':38} start-up + {beyond * 1000:.0f} ms"
            f"  (target ≤ 1000 ms: {mark})"
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
