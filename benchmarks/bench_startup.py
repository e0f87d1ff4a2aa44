"""Start-up time: ``import losslens``, ``losslens --version``, ``losslens --help`` side by side with ``import torch``.

Run: .venv/bin/python benchmarks/bench_startup.py [--rounds 7] [--src DIR]   (DIR: another checkout's src, to compare)
Each round runs every command once in a fresh interpreter, in turn (interleaved rounds: load on a shared machine
hits all commands alike); the table shows the best and the median wall time over the rounds, the ratio of the best
to ``import torch``, and the cumulative import time of ``losslens`` from ``python -X importtime``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
COMMANDS = {
    "python -c 'import torch'": ["-c", "import torch"],
    "python -X importtime -c 'import losslens'": ["-X", "importtime", "-c", "import losslens"],
    "losslens --version": ["-m", "losslens", "--version"],
    "losslens --help": ["-m", "losslens", "--help"],
    "losslens eval --help": ["-m", "losslens", "eval", "--help"],
    "python -c 'pass' (interpreter alone)": ["-c", "pass"],
}


def run_once(args: list[str], src: str = SRC) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - t, out.stderr


def importtime_us(stderr: str, module: str = "losslens") -> int:
    """Cumulative microseconds of ``module`` in ``-X importtime`` output (lines ``self | cumulative | name``)."""
    for line in stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise ValueError(f"{module} not in the -X importtime output")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--src", default=SRC, help="the src directory whose losslens is measured")
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    cumulative: list[int] = []
    for _ in range(args.rounds):
        for name, argv in COMMANDS.items():
            dt, err = run_once(argv, args.src)
            times[name].append(dt)
            if "importtime" in argv:
                cumulative.append(importtime_us(err))
    torch_best = min(times["python -c 'import torch'"])
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
          f"{args.rounds} interleaved rounds, losslens from {args.src}\n")
    print("| command | best s | median s | best / import torch |")
    print("| --- | ---: | ---: | ---: |")
    for name, ts in times.items():
        print(f"| `{name}` | {min(ts):.3f} | {statistics.median(ts):.3f} | {min(ts) / torch_best:.2f} |")
    print(f"\n`-X importtime` cumulative for `losslens`: best {min(cumulative) / 1e3:.1f} ms, "
          f"median {statistics.median(cumulative) / 1e3:.1f} ms")


if __name__ == "__main__":
    main()
