"""Start-up: how long ``idms`` commands take, whole process, against ``python -c pass``.

Goal (the performance issue): ``idms --help`` in 0.4 s or less, and every command's fixed cost
(start, open the workspace, answer on a fresh workspace) in 0.6 s or less, on an idle machine.

Each command runs ``--runs`` times in a new interpreter (``python -m idms.cli.app``, which is what
the ``idms`` script runs), in turn with the others so a drifting machine moves them all alike,
after one warm-up round (bytecode compiled, files in the page cache, as for an installed idms).
The figures are wall seconds, min / median / max; the median is the one to quote. The CPU
seconds (user + system) of each run are shown too: on a busy machine, where wall time mostly
says how long the command waited for a core, they still say what the command itself cost.

    .venv/bin/python bench/bench_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("idms --version", ["-m", "idms.cli.app", "--version"]),
    ("idms --help", ["-m", "idms.cli.app", "--help"]),
    ("idms records --help", ["-m", "idms.cli.app", "records", "--help"]),
    ("idms sources", ["-m", "idms.cli.app", "sources"]),
    ("idms sources Contact", ["-m", "idms.cli.app", "sources", "Contact"]),
    ("idms records Contact", ["-m", "idms.cli.app", "records", "Contact", "--limit", "20"]),
    ("idms runs", ["-m", "idms.cli.app", "runs"]),
]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``python ARGS``."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{args} failed: {done.stderr.decode(errors='replace')}")
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
        env["IDMS_WORKSPACE"] = str(Path(tmp) / "ws")
        env["COLUMNS"] = "120"
        # Bytecode as an installed package has it, kept out of the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        run_once(["-m", "idms.cli.app", "init"], env)  # a fresh workspace
        walls: dict[str, list[float]] = {name: [] for name, _ in COMMANDS}
        cpus: dict[str, list[float]] = {name: [] for name, _ in COMMANDS}
        for _name, command in COMMANDS:  # warm-up round
            run_once(command, env)
        for _ in range(args.runs):
            for name, command in COMMANDS:
                wall, cpu = run_once(command, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    print(f"{args.runs} runs each, seconds; load average at the end {os.getloadavg()[0]:.2f}")
    print(f"{'':<24} {'wall':^23}   {'cpu (user + system)':^23}")
    print(f"{'command':<24} {'min   median      max':>23}   {'min   median      max':>23}")
    for name in walls:
        print(f"{name:<24} {_spread(walls[name])}   {_spread(cpus[name])}")


def _spread(values: list[float]) -> str:
    return f"{min(values):7.3f} {statistics.median(values):7.3f} {max(values):7.3f}"


if __name__ == "__main__":
    main()
