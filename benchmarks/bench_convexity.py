"""Convexity verdicts: losslens check_convexity / check_set vs CVXPY's DCP analysis, on the same case set.

Run: .venv/bin/python benchmarks/bench_convexity.py [--budget 10]
Needs the `bench` extra (cvxpy). Each expression is translated mechanically from its sympy tree into CVXPY atoms
(+, constant *, power, exp, log, abs, maximum, minimum; products of variables become `*` of expressions), i.e. the
function as a user would naturally write it in CVXPY. Boxes and `where` bounds with lo >= 0 (hi <= 0) become
nonneg (nonpos) variables, the only domain information DCP can use. CVXPY's curvature CONVEX/AFFINE/CONSTANT counts
as "convex", CONCAVE as "concave", anything else as undecided; DCP never answers "not convex". Expressions with
atoms CVXPY lacks (sin, cos, tan, tanh) count as undecided. Prints markdown tables.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sympy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "convexity"))
from convexity_cases import ACCEPT, FUNCTIONS, SETS  # noqa: E402

from losslens.catalog import resolve  # noqa: E402
from losslens.convexity import check_convexity, check_set, parse_set  # noqa: E402
from losslens.objective import Box  # noqa: E402


class NotExpressible(Exception):
    pass


def to_cvxpy(e: sympy.Expr, var):
    import cvxpy as cp

    if e.is_Symbol:
        return var[e]
    if e.is_Number or not e.free_symbols:
        return float(e)
    args = e.args
    if isinstance(e, sympy.Add):
        out = to_cvxpy(args[0], var)
        for a in args[1:]:
            out = out + to_cvxpy(a, var)
        return out
    if isinstance(e, sympy.Mul):
        out = to_cvxpy(args[0], var)
        for a in args[1:]:
            out = out * to_cvxpy(a, var)
        return out
    if isinstance(e, sympy.Pow):
        base, p = args
        if p.free_symbols:
            raise NotExpressible("variable exponent")
        return cp.power(to_cvxpy(base, var), float(p))
    table = {sympy.exp: cp.exp, sympy.log: cp.log, sympy.Abs: cp.abs}
    if e.func in table:
        return table[e.func](to_cvxpy(args[0], var))
    if isinstance(e, sympy.Max):
        return cp.maximum(*[to_cvxpy(a, var) for a in args])
    if isinstance(e, sympy.Min):
        return cp.minimum(*[to_cvxpy(a, var) for a in args])
    raise NotExpressible(f"no CVXPY atom for {e.func.__name__}")


def _bounds(obj, box, where):
    lo = {s: -float("inf") for s in obj.expression.symbols}
    hi = {s: float("inf") for s in obj.expression.symbols}
    if box is not None:
        b = Box.parse(box, obj.n)
        for s, a, c in zip(obj.expression.symbols, b.lo, b.hi):
            lo[s], hi[s] = a, c
    if where:
        for part in where.split(" and "):
            name, op, val = part.split()
            s = sympy.Symbol(name, real=True)
            if op in (">", ">="):
                lo[s] = max(lo[s], float(val))
            else:
                hi[s] = min(hi[s], float(val))
    return lo, hi


def cvxpy_function(expr, box, where):
    import cvxpy as cp

    obj = resolve(expr)
    lo, hi = _bounds(obj, box, where)
    var = {s: cp.Variable(name=str(s), nonneg=lo[s] >= 0, nonpos=hi[s] <= 0 and lo[s] < 0)
           for s in obj.expression.symbols}
    try:
        curv = to_cvxpy(obj.expression.sympy, var).curvature
    except NotExpressible:
        return "unknown"
    except Exception:       # noqa: BLE001 - CVXPY refuses some constructions (e.g. DCP errors on products)
        return "unknown"
    return {"CONVEX": "convex", "AFFINE": "convex", "CONSTANT": "convex", "CONCAVE": "concave"}.get(curv, "unknown")


def cvxpy_set(text):
    import cvxpy as cp

    spec = parse_set(text)
    if len(spec.parts) > 1:
        return "unknown"            # DCP has no unions
    var = {s: cp.Variable(name=str(s)) for s in spec.symbols}
    try:
        cons = [to_cvxpy(spec.expression(c).sympy, var) <= 0 for c in spec.parts[0]]
    except Exception:       # noqa: BLE001
        return "unknown"
    return "convex" if all(c.is_dcp() for c in cons) else "unknown"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def judge_function(verdict, truth):
    if verdict == "unknown":
        return "undecided"
    if verdict in ("strongly_convex", "strictly_convex"):
        verdict_ok = verdict in ACCEPT[truth]
    elif verdict == "convex":
        verdict_ok = truth in ("strongly", "strictly", "convex")
    else:
        verdict_ok = verdict in ACCEPT[truth]
    return "right" if verdict_ok else "WRONG"


def judge_set(verdict, convex):
    if verdict == "unknown":
        return "undecided"
    return "right" if (verdict == "convex") == convex else "WRONG"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=10.0)
    args = ap.parse_args()
    # warm-up both tools on a case outside the set: imports, torch.func and CVXPY first-call costs (seconds)
    check_convexity("y^3 - y")
    cvxpy_function("y^3 - y", None, None)
    rows, summary = [], {("losslens", "f"): [], ("cvxpy", "f"): [], ("losslens", "set"): [], ("cvxpy", "set"): []}
    for expr, box, where, truth, _ in FUNCTIONS:
        r, t1 = timed(lambda: check_convexity(expr, box, where=where, time_budget=args.budget))
        c, t2 = timed(lambda: cvxpy_function(expr, box, where))
        j1, j2 = judge_function(r.verdict, truth), judge_function(c, truth)
        summary[("losslens", "f")].append((j1, t1))
        summary[("cvxpy", "f")].append((j2, t2))
        region = box or where or "R^n"
        rows.append(f"| `{expr}` | {region} | {truth} | {r.verdict} ({j1}) | {t1 * 1e3:.0f} | {c} ({j2}) | "
                    f"{t2 * 1e3:.1f} |")
    set_rows = []
    for text, convex in SETS:
        r, t1 = timed(lambda: check_set(text, time_budget=args.budget))
        c, t2 = timed(lambda: cvxpy_set(text))
        j1, j2 = judge_set(r.verdict, convex), judge_set(c, convex)
        summary[("losslens", "set")].append((j1, t1))
        summary[("cvxpy", "set")].append((j2, t2))
        set_rows.append(f"| `{text}` | {'convex' if convex else 'not convex'} | {r.verdict} ({j1}) | {t1 * 1e3:.0f} | "
                        f"{c} ({j2}) | {t2 * 1e3:.1f} |")
    import cvxpy

    print(f"cvxpy {cvxpy.__version__}; time budget {args.budget:g} s\n")
    print("| tool | cases | decided | wrong | median ms | worst ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for (tool, kind), res in summary.items():
        n = len(res)
        dec = sum(j != "undecided" for j, _ in res)
        wrong = sum(j == "WRONG" for j, _ in res)
        ts = [t for _, t in res]
        print(f"| {tool} | {n} {'functions' if kind == 'f' else 'sets'} | {dec} ({100 * dec / n:.0f}%) | {wrong} | "
              f"{statistics.median(ts) * 1e3:.1f} | {max(ts) * 1e3:.0f} |")
    print("\n| function | region | truth | losslens | ms | CVXPY DCP | ms |")
    print("| --- | --- | --- | --- | ---: | --- | ---: |")
    print("\n".join(rows))
    print("\n| set | truth | losslens | ms | CVXPY DCP | ms |")
    print("| --- | --- | --- | ---: | --- | ---: |")
    print("\n".join(set_rows))


if __name__ == "__main__":
    main()
