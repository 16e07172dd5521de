"""`client list` of a big firm: on a terminal (a pty), piped, and `--json`, wall and peak memory.

    python benchmarks/bench_list.py [--clients 100000] [--runs 3] [--json]

A person at a terminal with 100,000 clients used to wait 89 s and 747 MiB for one Rich table
(issue 14). Target: the terminal run within 2× of `--json`'s wall time, its peak memory no more
than `--json`'s plus a small margin (the table is streamed row by row, never held whole). Each
run is one process; its peak resident memory comes from ``wait4`` (that child alone), its
terminal output is read as a terminal would (120×40) and counted: every client must be there.
Prints the medians of ``--runs`` runs; exit 1 when a target is missed. Runs in a temporary home.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _installed import exactlink_command, installed_env

MIB = 1024 * 1024


def _wait(proc: subprocess.Popen, started: float) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of ``proc`` once it ends; exits on failure."""
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, proc.args))}")
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = usage.ru_maxrss / (MIB if sys.platform == "darwin" else 1024)
    return elapsed, peak


def piped(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall, peak MiB, bytes written) with stdout on a pipe, read to the end."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    size = 0
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 16):
        size += len(chunk)
    wall, peak = _wait(proc, started)
    return wall, peak, size


def on_terminal(command: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """(wall, peak MiB, output) on a pseudo-terminal of 120×40, read as a terminal would."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = bytearray()
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    wall, peak = _wait(proc, started)
    os.close(master)
    return wall, peak, bytes(output)


def median_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    exactlink = exactlink_command()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = installed_env(dict(os.environ, EXACTLINK_HOME=str(tmp / "home"), NO_COLOR="1"))
        env["EXACTLINK_LANG"] = "en"
        terminal_env = {k: v for k, v in env.items() if k not in ("NO_COLOR", "COLUMNS")}
        terminal_env["TERM"] = "xterm-256color"
        subprocess.run([*exactlink, "portal", "create", "Kantoor", "--email", "k@kantoor.be"],
                       env=env, check=True, capture_output=True)  # fmt: skip
        big = tmp / "clients.csv"
        big.write_text(
            "name;email;vat;access_granted\n"
            + "".join(
                f"Klant {i:06d} BV;klant{i}@example.be;BE0403170701;{'yes' if i % 3 else 'no'}\n"
                for i in range(args.clients)
            ),
            encoding="utf-8",
        )
        subprocess.run([*exactlink, "client", "import", str(big)], env=env, check=True,
                       capture_output=True)  # fmt: skip
        listing = [*exactlink, "client", "list"]
        json_runs, plain_runs, tty_runs = [], [], []
        rows = 0
        for _ in range(args.runs):
            wall, peak, _size = piped([*exactlink, "--json", "client", "list"], env)
            json_runs.append((wall, peak))
            wall, peak, _size = piped(listing, env)
            plain_runs.append((wall, peak))
            wall, peak, output = on_terminal(listing, terminal_env)
            tty_runs.append((wall, peak))
            rows = output.count(b"Klant ")
    json_wall, json_peak = median_of(json_runs)
    plain_wall, plain_peak = median_of(plain_runs)
    tty_wall, tty_peak = median_of(tty_runs)
    figures = {
        "clients": args.clients,
        "json": {"wall_s": round(json_wall, 2), "peak_mib": round(json_peak, 1)},
        "piped": {"wall_s": round(plain_wall, 2), "peak_mib": round(plain_peak, 1)},
        "terminal": {"wall_s": round(tty_wall, 2), "peak_mib": round(tty_peak, 1)},
        "terminal_rows": rows,
        "terminal_to_json": round(tty_wall / json_wall, 2),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    ok = tty_wall <= 2 * json_wall and tty_peak <= json_peak * 1.1 + 16 and rows == args.clients
    if args.json:
        print(json.dumps(dict(figures, ok=ok), indent=2))
    else:
        print(f"client list, {args.clients:,} clients (median of {args.runs} runs)")
        for label in ("json", "piped", "terminal"):
            f = figures[label]
            print(f"  {label:<9} {f['wall_s']:7.2f} s  {f['peak_mib']:7.1f} MiB peak")
        print(f"  terminal / json: {figures['terminal_to_json']}× (target ≤ 2×);"
              f" rows on the terminal: {rows:,}")  # fmt: skip
        print("  " + ("OK" if ok else "MISSED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
