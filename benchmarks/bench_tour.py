"""``losslens tour`` time: CPU (user + sys) and wall time of the whole process, with the sections' own times.

Run: .venv/bin/python benchmarks/bench_tour.py [--rounds 3] [--full] [--src DIR ...]
Each ``--src`` is a checkout's ``src`` directory (default: this one); every round runs the tour once per source in
turn, each in a fresh process with one thread and a fresh output directory (interleaved rounds: load on a shared
machine hits all sources alike, so the ratio between sources is more robust than absolute times). CPU time is the
child's ``getrusage`` user + sys; wall time is the process's; "sections" is the tour's own sum over its sections.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run_once(src: str, quick: bool) -> dict:
    """One ``losslens tour`` in a fresh process: its CPU and wall seconds, the sections' seconds, the statuses."""
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "losslens", "tour", "--out", out, *(["--quick"] if quick else [])],
                       env=env, check=True, capture_output=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        data = json.loads((Path(out) / "results.json").read_text())
    statuses = [c["status"] for s in data["sections"] for c in s["claims"]]
    return {"cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, "wall": wall,
            "sections": {s["id"]: s["seconds"] for s in data["sections"]},
            "confirmed": statuses.count("confirmed"), "claims": len(statuses)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="the full tour instead of --quick")
    ap.add_argument("--src", action="append", help="a src directory whose losslens is measured (repeatable)")
    args = ap.parse_args()
    srcs = args.src or [SRC]
    runs: dict[str, list[dict]] = {s: [] for s in srcs}
    loads = []
    for _ in range(args.rounds):
        for src in srcs:
            loads.append(os.getloadavg()[0])
            runs[src].append(run_once(src, not args.full))
    print(f"losslens tour{'' if args.full else ' --quick'}: {os.cpu_count()} cores, load average "
          f"{min(loads):.2f}-{max(loads):.2f}, {args.rounds} interleaved rounds\n")
    print("| src | CPU s best | CPU s median | wall s best | sections s (best run) | claims confirmed |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for src, rs in runs.items():
        best = min(rs, key=lambda r: r["cpu"])
        print(f"| {src} | {best['cpu']:.1f} | {statistics.median(r['cpu'] for r in rs):.1f} | "
              f"{min(r['wall'] for r in rs):.1f} | {sum(best['sections'].values()):.1f} | "
              f"{best['confirmed']} of {best['claims']} |")
    for src, rs in runs.items():
        best = min(rs, key=lambda r: r["cpu"])
        print(f"\nsections of the best run, {src}: "
              + ", ".join(f"{k} {v:.1f}" for k, v in best["sections"].items()))


if __name__ == "__main__":
    main()
