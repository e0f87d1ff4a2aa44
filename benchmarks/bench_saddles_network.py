"""Critical points of the weight-decayed 64-h-10 digits MLP: losslens's dense Newton vs Newton-MR vs scipy.

Same starts for every solver (those of ``losslens saddles``): for k = 0..h, the network with only k hidden units
after ``--warmup`` gradient-descent steps (searched in that k-unit subspace; a critical point there, embedded, is one
of the full network), and gradient-descent snapshots of the full network (searched on the full network). Solvers:

* losslens dense Newton (``find_critical_point``: eigh, least-squares step with a Levenberg–Marquardt safeguard;
  target "minimum" = saddle-free Newton for the subspace starts, as ``losslens saddles`` does, and target "any");
* Newton-MR (Roosta et al. 2018; MINRES on Hessian-vector products, backtracking on ‖g‖²), losslens's matrix-free
  path for large n;
* ``scipy.optimize.root(method="lm")`` on ∇f(x) = 0 with the exact Jacobian (the dense Hessian): MINPACK's
  Levenberg–Marquardt, a standard peer.

A search counts only when ‖∇f‖ of the full network at its end point, recomputed, is <= tol = 1e-8 · (‖∇f‖ at the
initialisation). Prints a markdown table.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_saddles_network.py
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from losslens.saddles.network import (Subspace, WeightDecayed, dense_hessian, digits_objective, find_critical_point,
                                      gd_snapshots, newton_mr, point_index, tiny_mlp, unit_coordinates)


def scipy_root(obj, x0, tol, max_iter):
    from scipy.optimize import root

    fun = lambda v: obj.grad(torch.as_tensor(v)).numpy()
    jac = lambda v: dense_hessian(obj, torch.as_tensor(v)).numpy()
    r = root(fun, x0.numpy(), jac=jac, method="lm", options={"maxiter": 2 * max_iter, "xtol": 1e-15,
                                                             "ftol": 1e-15, "gtol": 0.0})
    return torch.as_tensor(r.x), int(r.nfev), int(r.get("njev", 0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=6)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=1e-2)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--path-steps", default="10,100")
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--mr-iter", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    obj = WeightDecayed(digits_objective(tiny_mlp(a.hidden, a.seed), a.samples, a.seed), a.weight_decay)
    tol = 1e-8 * float(obj.grad(obj.base.x0).norm())
    starts = []
    for k in range(a.hidden + 1):
        sub = Subspace(obj, unit_coordinates(a.hidden, k))
        (_, z), = gd_snapshots(sub, obj.base.x0[sub.keep], 0.5, (a.warmup,))
        starts.append((f"{k}/{a.hidden} units", sub, z))
    for s in (int(v) for v in a.path_steps.split(",") if v.strip()):
        (_, x), = gd_snapshots(obj, obj.base.x0, 0.5, (s,))
        starts.append((f"GD step {s}", None, x))

    def full(sub, x):
        return x if sub is None else sub.embed(x)

    solvers = {
        "losslens dense Newton": lambda o, x, is_sub: find_critical_point(
            o, x, tol, a.max_iter, target="minimum" if is_sub else "any"),
        "losslens dense Newton, target any": lambda o, x, is_sub: find_critical_point(o, x, tol, a.max_iter),
        "Newton-MR (HVPs)": lambda o, x, is_sub: newton_mr(o, x, tol, a.mr_iter, minres_iter=50),
        "scipy root lm (exact Jacobian)": lambda o, x, is_sub: scipy_root(o, x, tol, a.max_iter),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; MLP 64-{a.hidden}-10, {a.samples} digits, "
          f"weight decay {a.weight_decay:g}, n = {obj.n}, tol = {tol:.2e}")
    print()
    print("| start | " + " | ".join(f"{name}: ‖g‖, neg, s" for name in solvers) + " |")
    print("| --- | " + " | ".join("---" for _ in solvers) + " |")
    totals = {name: [0, 0.0] for name in solvers}
    for label, sub, x0 in starts:
        cells = []
        for name, solve in solvers.items():
            o = sub if sub is not None else obj
            t = time.perf_counter()
            out = solve(o, x0, sub is not None)
            dt = time.perf_counter() - t
            x = full(sub, out[0] if isinstance(out, tuple) else out.x)
            gn = float(obj.grad(x).norm())
            neg = point_index(obj, x)[0]
            ok = gn <= tol
            totals[name][0] += ok
            totals[name][1] += dt
            cells.append(f"{gn:.1e}{'' if ok else ' ✗'}, {neg}, {dt:.1f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| **converged / total s** | " + " | ".join(f"**{c}/{len(starts)}**, {t:.1f} s"
                                                   for c, t in totals.values()) + " |")


if __name__ == "__main__":
    main()
