"""Constrained solvers on Hock–Schittkowski problems: losslens (alm, penalty, projected) vs scipy SLSQP and
trust-constr, in one run.

Run: .venv/bin/python benchmarks/bench_constrained.py [--repeat 3] [--tol 1e-8]
A problem counts as solved when |x − x*|∞ ≤ 1e-6 and |f − f*| ≤ 1e-6 against the published optimum.
scipy gets exact first (SLSQP) and second (trust-constr) derivatives from the same compiled sympy oracle that
losslens uses, so the comparison is of algorithms, not of derivative code. Evaluations: f = objective-and-constraint
values, g = gradients/Jacobians, H = Hessians. Both wall times include parsing the text and compiling the oracle;
losslens's also includes the final explanation (KKT residuals with torch.func, second-order test, exact convexity
proof). "solve ms" is losslens's time to compile the oracle and iterate (no parsing, no explanation).
Times are medians of `repeat` runs after one warm-up solve. SLSQP runs with ftol 1e-12; trust-constr with gtol
1e-12, xtol 1e-16, barrier_tol 1e-14 and initial barrier parameter 1e-4 (its defaults stop on gtol while the barrier
parameter is still large, ~1e-4 from the optimum on the inequality problems).
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.optimize import NonlinearConstraint, minimize

from losslens.optimize.constrained import solve_constrained
from losslens.optimize.constraints import feasible_set, make_problem
from losslens.optimize.hock_schittkowski import PROBLEMS
from losslens.optimize.oracle import Oracle


def solved(x, f, p) -> bool:
    return bool(np.abs(np.asarray(x) - np.array(p.x_star)).max() <= 1e-6 and abs(f - p.f_star) <= 1e-6)


def run_losslens(p, method, tol):
    r = solve_constrained(p.objective, p.constraints, method, x0=p.x0, tol=tol)
    e = r.evaluations
    return r.x.numpy(), r.value, (e["f"], e["grad"], e["hessian"]), (r.kkt.max, r.solve_seconds)


def run_scipy(p, method):
    prob = make_problem(p.objective, p.constraints)
    o = Oracle(prob)
    eq = prob.eq_mask.numpy()
    f = lambda x: o.values(x)[0]
    jac = lambda x: o.first(x)[0]
    x0 = np.array(p.x0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "SLSQP":
            cons = []
            if eq.any():
                cons.append({"type": "eq", "fun": lambda x: o.values(x)[1][eq], "jac": lambda x: o.first(x)[1][eq]})
            if (~eq).any():
                cons.append({"type": "ineq", "fun": lambda x: -o.values(x)[1][~eq],
                             "jac": lambda x: -o.first(x)[1][~eq]})
            r = minimize(f, x0, jac=jac, constraints=cons, method="SLSQP", options={"ftol": 1e-12, "maxiter": 1000})
        else:
            lo = np.where(eq, 0.0, -np.inf)
            cons = [NonlinearConstraint(lambda x: o.values(x)[1], lo, np.zeros(len(eq)),
                                        jac=lambda x: o.first(x)[1],
                                        hess=lambda x, v: np.einsum("k,kij->ij", v, o.second(x)[1]))] if len(eq) else []
            r = minimize(f, x0, jac=jac, hess=lambda x: o.second(x)[0], constraints=cons, method="trust-constr",
                         options={"gtol": 1e-12, "xtol": 1e-16, "barrier_tol": 1e-14,
                                  "initial_barrier_parameter": 1e-4, "maxiter": 5000})
    c = o.counts
    return r.x, float(r.fun), (c.f, c.grad, c.hessian), None


def median(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tol", type=float, default=1e-8)
    args = ap.parse_args()
    solvers = ["alm", "penalty", "projected", "SLSQP", "trust-constr"]
    solve_constrained("x^2 + y^2", ["x + y = 1"])          # warm-up: first-use imports of torch.func
    totals = {s: [0, 0, 0.0] for s in solvers}   # solved, attempted, time
    print("| problem | solver | solved to 1e-6 | max error x | f evals | grad evals | Hessian evals | KKT residual | "
          "solve ms | total ms |")
    print("| --- | --- | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for p in PROBLEMS.values():
        projectable = feasible_set(make_problem(p.objective, p.constraints)) is not None
        for s in solvers:
            if s == "projected" and not projectable:
                continue
            fn = (lambda: run_losslens(p, s, args.tol)) if s in ("alm", "penalty", "projected") else (
                lambda: run_scipy(p, s))
            (x, f, ev, kkt), t = median(fn, args.repeat)
            ok = solved(x, f, p)
            totals[s][0] += ok
            totals[s][1] += 1
            totals[s][2] += t
            err = float(np.abs(np.asarray(x) - np.array(p.x_star)).max())
            kkt_txt, solve_ms = ("", f"{1e3 * t:.1f}") if kkt is None else (f"{kkt[0]:.1e}", f"{1e3 * kkt[1]:.1f}")
            print(f"| {p.name} | {s} | {'yes' if ok else 'no'} | {err:.1e} | {ev[0]} | {ev[1]} | {ev[2]} | "
                  f"{kkt_txt} | {solve_ms} | {1e3 * t:.1f} |")
    print()
    print("| solver | solved | total ms |")
    print("| --- | ---: | ---: |")
    for s, (ok, n, t) in totals.items():
        print(f"| {s} | {ok}/{n} | {1e3 * t:.0f} |")


if __name__ == "__main__":
    main()
