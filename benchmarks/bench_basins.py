"""Basins: 10^4 starts x 1000 steps as one batch vs a Python loop of torch.optim optimizers, one per start.

Run: .venv/bin/python benchmarks/bench_basins.py [--starts 10000] [--steps 1000] [--loop-starts 100] [--full]

losslens runs :func:`losslens.basins` (all starts as one [m, n] parameter tensor, one optimizer, gradients of all
starts from one backward pass, then endpoint clustering and classification). The peer is what one writes without
it: for each start, ``p = start.requires_grad_()``, ``opt = torch.optim.X([p])`` and ``steps`` rounds of
``zero_grad / f(p).backward() / step``. The loop's cost is linear in the number of starts, so by default it runs on
the first ``--loop-starts`` starts and its time is scaled to all starts (``--full`` loops over every start). The
batch's end points for those starts are compared with the loop's (max abs difference; must be <= 1e-8).
"""
from __future__ import annotations

import argparse
import time

import torch

from losslens import parse
from losslens.optimize import basins
from losslens.optimize.methods import FIRST_ORDER

CASES = [("himmelblau", "gd", 0.01), ("himmelblau", "adam", 0.05), ("six-hump-camel", "momentum", 0.005)]


def loop_torch_optim(f, method: str, X0: torch.Tensor, steps: int, lr: float) -> torch.Tensor:
    cls, defaults = FIRST_ORDER[method]
    ends = []
    for x0 in X0:
        p = x0.clone().requires_grad_(True)
        opt = cls([p], lr=lr, **defaults)
        for _ in range(steps):
            opt.zero_grad()
            f.f(p).backward()
            opt.step()
        ends.append(p.detach())
    return torch.stack(ends)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--loop-starts", type=int, default=100)
    ap.add_argument("--full", action="store_true", help="loop over every start (slow: tens of minutes)")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {args.starts} starts x {args.steps} steps, "
          f"float64\n")
    print("| function | method | lr | losslens basins s | loop starts timed | loop s (timed) | loop s (all starts) "
          "| speed-up | max abs diff of ends | endpoints found |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, method, lr in CASES:
        f = parse(name)
        t = time.perf_counter()
        b = basins(f, method, starts=args.starts, steps=args.steps, lr=lr, layout="random", seed=0)
        t_batch = time.perf_counter() - t
        k = args.starts if args.full else min(args.loop_starts, args.starts)
        t = time.perf_counter()
        ref = loop_torch_optim(f, method, b.starts[:k], args.steps, lr)
        t_loop = time.perf_counter() - t
        t_all = t_loop * args.starts / k
        ok = torch.isfinite(ref).all(dim=1) & torch.isfinite(b.ends[:k]).all(dim=1)
        diff = float((ref[ok] - b.ends[:k][ok]).abs().max()) if bool(ok.any()) else float("nan")
        same_nonfinite = bool((ok == (torch.isfinite(ref).all(dim=1))).all())
        found = ", ".join(f"{e.kind} {e.fraction:.1%}" for e in sorted(b.endpoints, key=lambda e: -e.count)[:4])
        if b.unsettled:
            found += f", unsettled {b.unsettled_fraction:.1%}"
        print(f"| {name} | {method} | {lr:g} | {t_batch:.2f} | {k} | {t_loop:.1f} | {t_all:.0f} "
              f"| {t_all / t_batch:.0f}x | {diff:.1e}{'' if same_nonfinite else ' (non-finite differ)'} | {found} |")


if __name__ == "__main__":
    main()
