"""P(GOE(n) ≻ 0) by Monte Carlo, 10^5 trials per n for n = 1..30: losslens (batched) vs a looped numpy baseline.

The baseline is what a hand-written experiment does: one ``np.linalg.eigvalsh`` per matrix, test the smallest
eigenvalue. It runs on ``--baseline-trials`` per n (default 2000) and its time is scaled to the full trial count.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_saddles.py
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from losslens.saddles.exact import goe_positive_probability
from losslens.saddles.montecarlo import monte_carlo


def looped_numpy(n: int, trials: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        A = rng.standard_normal((n, n))
        hits += np.linalg.eigvalsh((A + A.T) / 2)[0] > 0
    return hits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=int, default=30)
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--baseline-trials", type=int, default=2000)
    a = ap.parse_args()
    rows, total_ours, total_eig, total_np = [], 0.0, 0.0, 0.0
    for n in range(1, a.max_n + 1):
        t = time.perf_counter(); r = monte_carlo(n, a.trials, seed=n); ours = time.perf_counter() - t
        t = time.perf_counter(); e = monte_carlo(n, a.trials, seed=n, method="eigvalsh"); eig = time.perf_counter() - t
        t = time.perf_counter(); looped_numpy(n, a.baseline_trials, n); base = (time.perf_counter() - t) * a.trials / a.baseline_trials
        total_ours, total_eig, total_np = total_ours + ours, total_eig + eig, total_np + base
        rows.append((n, r.hits, e.hits, goe_positive_probability(n) * a.trials, ours, eig, base))
    print(f"torch {torch.__version__}, numpy {np.__version__}, {torch.get_num_threads()} threads, "
          f"{a.trials} trials per n")
    print()
    print("| n | hits (cholesky) | hits (eigvalsh) | expected hits (exact) | losslens s | losslens eigvalsh s | looped numpy s (scaled) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, h, he, ex, o, e, b in rows:
        if n <= 8 or n % 5 == 0:
            print(f"| {n} | {h} | {he} | {ex:.3g} | {o:.3f} | {e:.3f} | {b:.2f} |")
    print(f"| **1..{a.max_n} total** | | | | **{total_ours:.2f}** | {total_eig:.2f} | {total_np:.1f} |")


if __name__ == "__main__":
    main()
