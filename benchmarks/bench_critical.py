"""Critical points: losslens find_critical_points vs a plain scipy.optimize.root multi-start from the same starts.

Run: .venv/bin/python benchmarks/bench_critical.py [--repeat 3] [--budget 30]
Prints a markdown table. Both methods get the same scrambled Sobol starts (256·n); scipy's `root` (MINPACK hybrd,
exact Jacobian = the Hessian) runs once per start in a Python loop on numpy gradient/Hessian functions (sympy.lambdify), its converged roots inside the box are merged
with the same radius as losslens. "found" counts distinct points against the exact list (from the resultants).
Times: median wall seconds of `repeat` runs after one warm-up (losslens without proofs; proofs timed separately).
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import scipy.optimize
import sympy
import torch

from losslens import parse
from losslens.critical import find_critical_points, sobol_starts

CASES = ["himmelblau", "six-hump-camel", "local-minima", "rosenbrock"]


def exact_points(obj) -> list[tuple[float, ...]]:
    """Every critical point in the box: real roots of the gradient system (sympy, 1-D or resultant in 2-D)."""
    f, syms = obj.sympy, obj.symbols
    g = [sympy.diff(f, s) for s in syms]
    lo, hi = obj.box.lo, obj.box.hi
    if len(syms) == 1:
        d = g[0]
        grid = np.linspace(lo[0], hi[0], 3001)
        fn = sympy.lambdify(syms[0], d, "mpmath")
        out = []
        for a, b in zip(grid[:-1], grid[1:]):
            if fn(a) == 0 or fn(a) * fn(b) < 0:
                import mpmath
                out.append((float(mpmath.findroot(fn, (a, b), solver="anderson")),))
        return out
    x, y = syms
    import mpmath
    ys = [sympy.N(r, 40) for r in sympy.Poly(sympy.resultant(g[0], g[1], x), y).real_roots()]
    xs = [sympy.N(r, 40) for r in sympy.Poly(sympy.resultant(g[0], g[1], y), x).real_roots()]
    gfun = sympy.lambdify((x, y), g, "mpmath")
    pts = []
    with mpmath.workdps(40):
        for xv in xs:
            for yv in ys:
                p = (float(xv), float(yv))
                if not (lo[0] <= p[0] <= hi[0] and lo[1] <= p[1] <= hi[1]) or any(math.dist(p, q) < 1e-9 for q in pts):
                    continue
                if max(abs(v) for v in gfun(mpmath.mpf(str(xv)), mpmath.mpf(str(yv)))) < 1e-20:
                    pts.append(p)
    return pts


def numpy_derivatives(obj):
    """Gradient and Hessian as numpy functions (sympy.lambdify): what a scipy user would hand to root."""
    g = [sympy.diff(obj.sympy, s) for s in obj.symbols]
    H = [[sympy.diff(gi, s) for s in obj.symbols] for gi in g]
    gl, hl = sympy.lambdify(obj.symbols, g, "numpy"), sympy.lambdify(obj.symbols, H, "numpy")
    return (lambda v: np.array(gl(*v), dtype=float)), (lambda v: np.array(hl(*v), dtype=float))


def scipy_multistart(obj, starts: torch.Tensor, radius: float):
    gfun, hfun = numpy_derivatives(obj)
    found = []
    lo, hi = np.array(obj.box.lo), np.array(obj.box.hi)
    for s in starts.numpy():
        sol = scipy.optimize.root(gfun, s, jac=hfun, method="hybr")
        if sol.success and np.all(sol.x >= lo - 1e-9) and np.all(sol.x <= hi + 1e-9):
            if all(np.linalg.norm(sol.x - q) > radius for q in found):
                found.append(sol.x)
    return found


def matched(found, exact, tol=1e-8) -> int:
    return sum(any(math.dist(tuple(map(float, f)), e) < tol for f in found) for e in exact)


def median(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=float, default=30.0)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, scipy {scipy.__version__}, threads {torch.get_num_threads()}, "
          f"median of {args.repeat}\n")
    print("| function | exact points | losslens found | losslens s | scipy root found | scipy root s "
          "| completeness proof | proof s (boxes) | global min certified | global-min s (boxes) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |")
    for name in CASES:
        obj = parse(name)
        exact = exact_points(obj)
        m = 256 * obj.n
        diam = math.dist(obj.box.lo, obj.box.hi)
        t_ll, r = median(lambda: find_critical_points(obj, prove=False), args.repeat)
        starts = sobol_starts(obj.box, m, 0)
        t_sp, found = median(lambda: scipy_multistart(obj, starts, 1e-6 * diam), args.repeat)
        full = find_critical_points(obj, time_budget=args.budget)
        c, gm = full.completeness, full.global_minimum
        print(f"| {name} | {len(exact)} | {matched([p.point for p in r.points], exact)} / {len(r.points)} | "
              f"{t_ll:.2f} | {matched(found, exact)} / {len(found)} | {t_sp:.2f} | "
              f"{'proved' if full.complete else 'not proved'} | {c.get('seconds', 0):.2f} ({c.get('boxes', 0)}) | "
              f"{'yes' if gm and gm.certified else 'no'} | {gm.seconds:.2f} ({gm.boxes}) |")
    print("\n'found' = exact points matched to 1e-8 / distinct points reported.")


if __name__ == "__main__":
    main()
