"""Fuzz list for the convexity analysis: functions and sets with known ground truth, and the verdicts given.

Run: PYTHONPATH=src .venv/bin/python benchmarks/fuzz_convexity.py [--only SUBSTR] [--cli] [--budget 5]

Each case is ``(kind, text, box, where, truth)``: ``kind`` ``f`` (a function, ``check_convexity``) or ``set``
(``check_set``); ``truth`` ``convex``, ``not_convex``, ``affine`` (convex or concave, never strictly/strongly convex) or
``input_error`` (an empty region or set: refused), from theory (DCP atoms and their composition rules, a PSD
Hessian shown by hand, a named point where the Hessian or Jensen's inequality fails). The truth is re-checked here
independently of losslens: the sympy Hessian's smallest eigenvalue on a dense seeded sample of the region (smooth
functions), or Jensen/midpoint violations of random pairs (nonsmooth functions, sets). A case whose truth is
``not_convex`` must show a violation in that sample; a ``convex`` one must show none.

A verdict is ``ok`` when it agrees with the truth, ``unknown`` when undecided; ``WRONG`` when it contradicts the
truth (a convex word on a non-convex input, not_convex/concave on a convex non-affine one, an InputError on a valid
input or none on an empty region), ``BADWIT`` when a not_convex
witness does not re-check at 50 digits (mpmath, from the case's own sympy form; for a set with an equality, the
witness points are first moved onto it by Newton steps), ``CRASH`` on an exception other than ``InputError``. ``--cli`` also runs each case through ``losslens convex --json`` (or
``convex-set``) and compares the verdicts.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import mpmath
import numpy as np
import sympy

F, S = "f", "set"
C, N, E = "convex", "not_convex", "input_error"

CASES = [
    # --- DCP atoms
    (F, "log(exp(x) + exp(y))", None, None, C),
    (F, "log(exp(x) + exp(y) + exp(z))", None, None, C),
    (F, "log(exp(2*x - y) + exp(y) + 1)", None, None, C),
    (F, "x^2/y", None, "y > 0", C),
    (F, "(x + y)^2/y", None, "y > 0", C),
    (F, "x^2/y", None, "y < 0", N),
    (F, "sqrt(x^2 + y^2)", None, None, C),
    (F, "sqrt(x^2 + y^2 + 1)", None, None, C),
    (F, "sqrt((x - y)^2 + (x + 2*y)^2)", None, None, C),
    (F, "abs(x) + abs(y)", None, None, C),
    (F, "abs(x - y) + 2*abs(x + y - 1)", None, None, C),
    (F, "max(x, y)", None, None, C),
    (F, "max(x^2, y^2)", None, None, C),
    (F, "max(x + y, x - y, -x)", None, None, C),
    (F, "min(x, y)", None, None, N),
    (F, "min(x^2, y^2)", None, None, N),
    (F, "min(x^2, 1)", None, None, N),
    (F, "x^2", None, None, C),
    (F, "x^3", None, None, N),
    (F, "x^3", "0:5", None, C),
    (F, "x^3", None, "x >= 0", C),
    (F, "x^4", None, None, C),
    (F, "x^5", None, None, N),
    (F, "x^6 + x", None, None, C),
    (F, "x^1.5", None, None, C),
    (F, "x^0.5", None, None, N),
    (F, "x^(-1)", None, "x > 0", C),
    (F, "x^(-1)", None, "x < 0", N),
    (F, "x^(-2)", None, "x > 0", C),
    (F, "x^(-2)", None, "x < 0", C),
    (F, "1/x", "1:3", None, C),
    (F, "1/x", "-3:-1", None, N),
    (F, "exp(x)", None, None, C),
    (F, "exp(-x)", None, None, C),
    (F, "exp(x^2)", None, None, C),
    (F, "exp(-x^2)", None, None, N),
    (F, "exp(x*y)", None, None, N),
    (F, "exp(x + y) + exp(x - y)", None, None, C),
    (F, "log(x)", None, None, N),
    (F, "-log(x)", None, None, C),
    (F, "-log(x) - log(y)", None, None, C),
    (F, "-log(x + y)", None, None, C),
    (F, "-log(x*y)", None, "x > 0 and y > 0", C),
    (F, "-log(1 - x^2)", None, None, C),
    (F, "sqrt(x)", None, None, N),
    (F, "-sqrt(x)", None, None, C),
    (F, "x*log(x)", None, "x > 0", C),
    (F, "x*log(x) + y*log(y)", None, "x > 0 and y > 0", C),
    (F, "-x*log(x)", None, "x > 0", N),
    (F, "x*log(x/y)", None, "x > 0 and y > 0", C),
    (F, "-sqrt(x*y)", None, "x > 0 and y > 0", C),
    (F, "sqrt(x*y)", None, "x > 0 and y > 0", N),
    (F, "-(x*y*z)^(1/3)", None, "x > 0 and y > 0 and z > 0", C),
    (F, "-sqrt(x*y)", "0.1:2,0.1:2", None, C),
    (F, "softplus(x)", None, None, C),
    (F, "softplus(x) + softplus(-y)", None, None, C),
    (F, "softplus(x - y)", None, None, C),
    (F, "softplus(x^2 - 1)", None, None, C),
    (F, "softplus(1 - x^2)", None, None, N),
    (F, "log(1 + exp(x^2))", None, None, C),
    (F, "softplus(softplus(x))", None, None, C),
    (F, "relu(x)", None, None, C),
    (F, "relu(x)^2", None, None, C),
    (F, "relu(x - y) + relu(y)", None, None, C),
    (F, "relu(1 - x^2)", None, None, N),
    (F, "-relu(x)", None, None, N),
    (F, "relu(x^2 - 1)", None, None, C),
    (F, "max(x^2/2, abs(x) - 1/2)", None, None, C),
    (F, "sigmoid(x)", None, None, N),
    (F, "-log(sigmoid(x))", None, None, C),
    (F, "tanh(x)", None, None, N),
    (F, "x*tanh(x)", None, None, N),
    # --- sums with negative coefficients, products
    (F, "x^2 - y^2", None, None, N),
    (F, "x^2 + y^2 - x*y", None, None, C),
    (F, "x^2 + y^2 - 2*x*y", None, None, C),
    (F, "x^2 + y^2 - 3*x*y", None, None, N),
    (F, "exp(x) - x", None, None, C),
    (F, "exp(x) - x^2", None, None, N),
    (F, "exp(x) - 0.5*x^2", "-5:5", None, N),
    (F, "x^4 - x", None, None, C),
    (F, "x*y", None, None, N),
    (F, "x*y", None, "x > 0 and y > 0", N),
    (F, "x*exp(x)", None, None, N),
    (F, "x*exp(x)", "-2:5", None, C),
    (F, "x^2*y^2", None, None, N),
    (F, "(x*y)^2 + x^2 + y^2", None, None, N),
    (F, "x^2*exp(y)", None, None, N),
    (F, "exp(x)*exp(y)", None, None, C),
    (F, "2*x^2 - abs(x)", None, None, N),
    (F, "abs(x)^3", None, None, C),
    (F, "abs(x)^1.5", None, None, C),
    (F, "abs(x)^0.5", None, None, N),
    (F, "abs(x^2 - 1)", None, None, N),
    (F, "abs(x)*abs(y)", None, None, N),
    # --- convex but not by composition
    (F, "x^4 + y^4 + x^2*y^2", None, None, C),
    (F, "(x - y)^4 + x^2", None, None, C),
    (F, "(exp(x) + exp(-x))/2", None, None, C),
    (F, "x^2 + sin(x)", None, None, C),
    (F, "x^2 + cos(x)", None, None, C),
    (F, "x^2/2 + cos(x)", None, None, C),
    (F, "x^2/2 + 1.01*cos(x)", None, None, N),
    (F, "x^4 + 6*x^2*y^2 + y^4", None, None, C),
    (F, "x^4 + 2*x^2*y^2 + y^4", None, None, C),
    (F, "x^4 + 7*x^2*y^2 + y^4", None, None, N),
    (F, "x^4 - x^3 + x^2", None, None, C),
    (F, "x^4 - 2*x^3 + 1.5*x^2", None, None, C),
    (F, "x^4 - 2*x^3 + 1.4*x^2", None, None, N),
    (F, "x^2 + y^2 + sin(x)*sin(y)", None, None, C),
    (F, "x^2 + y^2 + 2*sin(x)*sin(y)", None, None, C),
    (F, "x^2 + y^2 + 2.1*sin(x)*sin(y)", None, None, N),
    (F, "exp(x) + exp(y) + x*y", "0:1,0:1", None, C),
    (F, "exp(x) + exp(y) + 3*x*y", "0:1,0:1", None, N),
    (F, "log(x) + x^2", "1:3", None, C),
    (F, "x^2 + log(x)", "0.75:3", None, C),
    (F, "x^2 + log(x)", "0.5:3", None, N),
    (F, "x^2 + 0.3*log(x)", "0.4:3", None, C),
    (F, "x^2 + log(x)", "0.3:3", None, N),
    # --- tiny perturbations
    (F, "x^4 - 1e-3*x^2", None, None, N),
    (F, "x^4 + 1e-3*x^2", None, None, C),
    (F, "x^2 - 0.999*abs(x)", None, None, N),
    (F, "x^2 + 0.999*abs(x)", None, None, C),
    (F, "x^2 + y^2 - 1.999*x*y", None, None, C),
    (F, "x^2 + y^2 - 2.001*x*y", None, None, N),
    (F, "x^6 - 1e-6*x^4", None, None, N),
    (F, "x^2 + 1e-3*sin(100*x)", None, None, N),
    (F, "x^2 + 1e-5*sin(100*x)", None, None, C),
    (F, "exp(x) - 1e-3*x^3", "-1:1", None, C),
    (F, "x^4 + y^4 - 1e-3*x*y", None, None, N),
    # --- quadratic forms (3 variables)
    (F, "2*x^2 + 2*y^2 + 2*z^2 + 2*x*y + 2*y*z + 2*x*z", None, None, C),
    (F, "x^2 + y^2 + z^2 + 2*x*y + 2*y*z + 2*x*z", None, None, C),
    (F, "x^2 + y^2 + z^2 + 2.2*x*y + 2*y*z + 2*x*z", None, None, N),
    (F, "(x + y - z)^2 + (y - 2*z)^2", None, None, C),
    (F, "x^2 + y^2 + z^2 + 2*x*y + 2*y*z - 2*x*z", None, None, N),
    (F, "x^2 + 2*y^2 + 3*z^2 - 2*x*y - 2*y*z", None, None, C),
    (F, "x*y + y*z + z*x", None, None, N),
    (F, "(x - 1)^2 + (y + 2)^2 + 1e-9*z^2", None, None, C),
    (F, "x^2 + y^2 - 1e-9*z^2", None, None, N),
    (F, "x1^2 + x2^2 + x3^2 + x4^2 + x5^2 - x1*x5", None, None, C),
    (F, "x1^2 + x2^2 + x3^2 + x4^2 + x5^2 - 3*x1*x5", None, None, N),
    # --- box / where restrictions
    (F, "sin(x)", "3.2:6.1", None, C),
    (F, "sin(x)", "0:3", None, N),
    (F, "cos(x)", "1.6:4.6", None, C),
    (F, "x^3 - 3*x", "0:2", None, C),
    (F, "x^3 - 3*x", "-1:1", None, N),
    (F, "x^4 - x^2", None, "x >= 1", C),
    (F, "x^4 - x^2", None, "x >= 0", N),
    (F, "x^2*y", None, "y >= 1 and x >= 0", N),
    (F, "x^2 + y^3", None, "y >= 0", C),
    (F, "log(x)^2", None, "x > 0", N),
    (F, "log(x)^2", "0.1:2.5", None, C),
    (F, "tan(x)", "0:1.5", None, C),
    (F, "tan(x)", "-1.5:1.5", None, N),
    (F, "1/(1 - x^2)", "-0.9:0.9", None, C),
    (F, "x/(1 - x)", "-5:0.9", None, C),
    (F, "x^4 - x^2", "-2:2", None, N),
    # --- thin dips and tiny constant curvature (exact refutations)
    (F, "x^2 + y^2 - 1e-13*z^2", None, None, N),
    (F, "x^2 + y^2 + 1e-13*z^2", None, None, C),
    (F, "x^4 - 1e-12*x^2", None, None, N),
    (F, "x^10 - 1e-20*x^3", None, None, N),
    (F, "x^6 - 1e-6*x^4", "0:1", None, N),
    (F, "x^6 - 1e-6*x^4", "0.001:1", None, C),
    (F, "x^2 - 1e-3*sqrt(x^4 + x^2)", None, None, N),
    (F, "x^2 + y^2 - 1e-2*sqrt(x^2 + y^2)", None, None, N),
    (F, "x^2 - 1e-3*(x^2)^(1/3)", None, None, N),
    (F, "x^2 - 1e-3*x^(2/3)", None, None, C),
    # --- affine in disguise: convex, never strictly (the verdict word is checked below)
    (F, "(x+1)^4 - x^4 - 4*x^3 - 6*x^2", None, None, "affine"),
    (F, "(x+1)^4/12 - x^4/12 - x^3/3 - x^2/2", "0:1", None, "affine"),
    (F, "(x+y)^2 - x^2 - 2*x*y - y^2 + x", None, None, "affine"),
    # --- tan between and across its poles
    (F, "tan(x)", "0:1.5", None, C),
    (F, "tan(x)", "-1.5:0", None, N),
    (F, "tan(x)^2", "-1.5:1.5", None, C),
    (F, "-log(cos(x))", "-1.5:1.5", None, C),
    # --- empty regions: refused
    (F, "x^3", None, "x >= 2 and x <= 1", E),
    (F, "x^3", None, "x > 1 and x < 1", E),
    (F, "x^3", None, "x >= 1 and x <= 1", C),
    (F, "log(x) + log(-x)", None, None, E),
    (F, "x^2", "0:1", "x > 1", E),
    # --- sets
    (S, "x^2 + 4*y^2 <= 4", None, None, C),
    (S, "x + y <= 1 and x - y <= 1 and x >= -1", None, None, C),
    (S, "abs(x) + abs(y) <= 1", None, None, C),
    (S, "max(abs(x), abs(y)) <= 1", None, None, C),
    (S, "sqrt(x^2 + y^2) <= 1", None, None, C),
    (S, "x^2 + y^2 >= 1 and x^2 + y^2 <= 4", None, None, N),
    (S, "x^2 + y^2 >= 1", None, None, N),
    (S, "x*y >= 1", None, None, N),
    (S, "x*y >= 1 and x >= 0", None, None, C),
    (S, "x*y >= 1 and x > 0 and y > 0", None, None, C),
    (S, "x*y <= 1", None, None, N),
    (S, "x*y <= 1 and x >= 0 and y >= 0", None, None, N),
    (S, "x^2 + y^2 <= 1 or x^2 + y^2 <= 0.25", None, None, C),
    (S, "(x - 2)^2 + y^2 <= 1 or (x + 2)^2 + y^2 <= 1", None, None, N),
    (S, "x <= 0 or y <= 0", None, None, N),
    (S, "y >= x^2", None, None, C),
    (S, "y <= x^2", None, None, N),
    (S, "y >= x^3", None, None, N),
    (S, "y >= x^3 and x >= 0", None, None, C),
    (S, "y >= exp(x)", None, None, C),
    (S, "y <= log(x)", None, None, C),
    (S, "y >= log(x)", None, None, N),
    (S, "x^2 + y^2 == 1", None, None, N),
    (S, "x + y == 1 and x >= 0 and y >= 0", None, None, C),
    (S, "x^4 + y^4 <= 1", None, None, C),
    (S, "abs(x)^0.5 + abs(y)^0.5 <= 1", None, None, N),
    (S, "x^2 - y^2 <= 1", None, None, N),
    (S, "x^2 - y^2 <= 1 and x >= 0 and y >= 0 and y <= 5", None, None, N),
    (S, "x^2 <= y*z and y >= 0 and z >= 0", None, None, C),
    (S, "x^2 + y^2 <= z^2", None, None, N),
    (S, "x^2 + y^2 <= z^2 and z >= 0", None, None, C),
    (S, "(x - 1)^2 + y^2 <= z^2 and z >= 1", None, None, C),
    (S, "x^2 + y^2 <= z^2 and z >= -1", None, None, N),
    (S, "x^2 - y^2 <= z^2 and z >= 0", None, None, N),
    (S, "sin(x) >= 0 and -4 <= x and x <= 4", None, None, N),
    (S, "x^2 + y^2 + z^2 <= 1 and x + y + z >= 1.5", None, None, C),
    (S, "x < 0 and x > 0", None, None, E),
    (S, "x <= 0 and x >= 0", None, None, C),
    (S, "x > 1 and x < 0 or y <= 1", None, None, C),
    (S, "x > 1 and x < 0 or y >= x^3", None, None, N),
    (S, "log(-y) <= 1 and y > 0.5 or x^2 + y^2 <= 1", None, None, C),
    (S, "log(-x^2 - 1) <= 1 or x^2 + y^2 <= 1", None, None, C),
    (S, "log(-y) <= 1 and y > 0.5", None, None, E),
    (F, "log(-x^2 - 1)", None, None, E),
]

LOCALS = {"relu": lambda a: sympy.Max(0, a), "softplus": lambda a: sympy.log(1 + sympy.exp(a)),
          "sigmoid": lambda a: 1 / (1 + sympy.exp(-a)), "abs": sympy.Abs, "max": sympy.Max, "min": sympy.Min}


def ours(text: str) -> sympy.Expr:
    """The case's own sympy form (not losslens's parser), real symbols, in natural order."""
    e = sympy.sympify(text.replace("^", "**"), locals=LOCALS, rational=True)
    return e.subs({s: sympy.Symbol(s.name, real=True) for s in e.free_symbols})


def natural(e) -> list:
    import re
    key = lambda s: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s.name)]
    return sorted(e.free_symbols, key=key)


def _relations(where: str | None) -> list:
    return [] if where is None else [ours(p) for p in where.split(" and ")]


def _sample(syms, box, where, rng, m=4000):
    n = len(syms)
    if box is None:
        lo, hi = np.full(n, -4.0), np.full(n, 4.0)
    else:
        parts = box.split(",")
        parts = parts * n if len(parts) == 1 else parts
        lo = np.array([float(p.split(":")[0]) for p in parts])
        hi = np.array([float(p.split(":")[1]) for p in parts])
    X = lo + (hi - lo) * rng.random((m, n))
    centre = (lo + hi) / 2
    X = np.concatenate([centre + (X[: m // 4] - centre) * 10.0 ** -k for k in (4, 2)] + [X])
    return _sample_rows(syms, None, where, X)


def independent_truth(kind, text, box, where) -> str | None:
    """``convex`` / ``not_convex`` computed here without losslens (None for sets: their theory is the truth).

    Three looks, any violation decides ``not_convex``: float Hessian eigenvalues on a dense seeded sample (smooth f);
    midpoint Jensen gaps of neighbouring sample points, whose blocks are scaled towards the centre by 10^-4 and 10^-2
    (kinks and cusps); exact sympy PSD tests of the Hessian of a polynomial f at t·e_i and t·(1, ..., 1),
    t = ±10^-k, k = 0..8 (thin dips such as x^6 − 10^-6 x^4 and tiny constant curvature)."""
    rng = np.random.default_rng(1)
    if kind == S:
        return None
    e = ours(text)
    syms = natural(e)
    X = _sample(syms, box, where, rng)
    if len(X) < 2:
        return None                       # a region of measure zero (x >= 1 and x <= 1): nothing to sample
    f = sympy.lambdify(syms, e, "numpy")
    smooth = not e.has(sympy.Abs, sympy.Max, sympy.Min)
    with np.errstate(all="ignore"):
        if smooth:
            H = sympy.lambdify(syms, sympy.hessian(e, syms), "numpy")
            for x in X[::4]:
                M = np.array(H(*x), dtype=float)
                if np.isfinite(M).all():
                    ev = np.linalg.eigvalsh(M)
                    if ev[0] / max(1.0, abs(ev).max()) < -1e-12:
                        return N
        A, B = X[:-1], X[1:]
        fa, fb, fm = (np.broadcast_to(f(*P.T), (len(P),)) for P in (A, B, (A + B) / 2))
        gap = fm - (fa + fb) / 2
        if np.nanmax(gap) > 1e-12 * (1 + np.nanmax(abs(fa))):
            return N
    if smooth and e.is_polynomial(*syms):
        H = sympy.hessian(e, syms)
        n = len(syms)
        dirs = [[int(i == j) for j in range(n)] for i in range(n)] + [[1] * n]
        for k in range(9):
            for t in (sympy.Rational(1, 10 ** k), -sympy.Rational(1, 10 ** k)):
                for d in dirs:
                    p = [t * c for c in d]
                    if box is not None or where is not None:
                        if not len(_sample_rows(syms, box, where, np.array([[float(v) for v in p]]))):
                            continue
                    if H.subs(dict(zip(syms, p))).is_positive_semidefinite is False:
                        return N
    return C


def _sample_rows(syms, box, where, X):
    """The rows of X inside the case's box and where-relations (floats)."""
    n = len(syms)
    ok = np.ones(len(X), dtype=bool)
    if box is not None:
        parts = box.split(",")
        parts = parts * n if len(parts) == 1 else parts
        for i, q in enumerate(parts):
            lo, hi = map(float, q.split(":"))
            ok &= (X[:, i] >= lo) & (X[:, i] <= hi)
    for r in _relations(where):
        v = np.broadcast_to(sympy.lambdify(syms, r.lhs - r.rhs, "numpy")(*X.T), (len(X),))
        ok &= {sympy.StrictGreaterThan: v > 0, sympy.GreaterThan: v >= 0, sympy.StrictLessThan: v < 0,
               sympy.LessThan: v <= 0}[type(r)]
    return X[ok]


def recheck_witness(kind, text, box, where, w) -> bool:
    """A not_convex witness re-checked at 50 digits from the case's own sympy form, with a and b in the region."""
    sides = text.replace(" or ", " and ")
    for op in ("<=", ">=", "==", "<", ">"):
        sides = sides.replace(op, " and ")
    syms = natural(sympy.Add(*[sympy.Symbol(f"_{i}") * ours(t) for i, t in enumerate(sides.split(" and "))]))
    syms = [s for s in syms if not s.name.startswith("_")]
    e = None if kind == S else ours(text)
    with mpmath.workdps(50):
        a = [mpmath.mpf(v) for v in w["a"]]
        b = [mpmath.mpf(v) for v in w["b"]]
        lam = mpmath.mpf(w["lam"])
        m = [lam * u + (1 - lam) * v for u, v in zip(a, b)]
        if kind == S:
            def inside(p):
                return any(all(_holds(r, syms, p) for r in part.split(" and "))
                           for part in text.split(" or "))
            if w.get("within"):          # a set with one equality h = 0: points of it near a and b
                (eq,) = [r for r in text.split(" and ") if "==" in r]
                lhs, rhs = eq.split("==")
                a, b = (_onto(ours(lhs) - ours(rhs), syms, p) for p in (a, b))
                near = all(mpmath.sqrt(sum((u - v) ** 2 for u, v in zip(p, q))) <= w["within"] * (1 + 1e-9)
                           for p, q in ((a, w["a"]), (b, w["b"])))
                m = [lam * u + (1 - lam) * v for u, v in zip(a, b)]
                return near and inside(a) and inside(b) and not inside(m)
            return inside(a) and inside(b) and not inside(m)

        def val(p):
            return sympy.N(e.subs(dict(zip(syms, p))), 50)
        for p in (a, b):
            if box is not None:
                parts = box.split(",")
                parts = parts * len(syms) if len(parts) == 1 else parts
                if not all(float(q.split(":")[0]) <= float(v) <= float(q.split(":")[1]) for q, v in zip(parts, p)):
                    return False
            if not all(_holds(r, syms, p) for r in (where.split(" and ") if where else [])):
                return False
        fa, fb, fm = val(a), val(b), val(m)
        if not all(v.is_real and v.is_finite for v in (fa, fb, fm)):
            return False
        return bool(fm - (lam * fa + (1 - lam) * fb) > 0)


def _onto(h, syms, p, steps: int = 60):
    """The point ``p`` moved onto ``h = 0`` by Newton steps along ``∇h`` at 50 digits (the case's own sympy form)."""
    grad = [sympy.diff(h, s) for s in syms]
    p = list(p)
    for _ in range(steps):
        at = dict(zip(syms, p))
        v = mpmath.mpf(str(sympy.N(h.subs(at), 50)))
        g = [mpmath.mpf(str(sympy.N(d.subs(at), 50))) for d in grad]
        p = [u - v * gi / sum(q * q for q in g) for u, gi in zip(p, g)]
    return p


def _holds(rel_text, syms, p) -> bool:
    """One relation ``lhs OP rhs`` of the case's text at the point ``p`` (mpf values), decided at 50 digits."""
    at = dict(zip(syms, p))
    for op in ("==", "<=", ">=", "<", ">"):
        if op in rel_text:
            lhs, rhs = rel_text.split(op, 1)
            break
    v = sympy.N((ours(lhs) - ours(rhs)).subs(at), 50)
    if not v.is_real:
        return False
    return bool({"==": abs(v) < 1e-30, "<=": v <= 0, ">=": v >= 0, "<": v < 0, ">": v > 0}[op])


def run_api(kind, text, box, where, budget):
    from losslens.convexity import check_convexity, check_set
    from losslens.validation import InputError
    try:
        if kind == F:
            r = check_convexity(text, box, where=where, time_budget=budget)
        else:
            r = check_set(text, time_budget=budget)
    except InputError as err:
        return "input_error", str(err), None
    except Exception as err:                       # noqa: BLE001 - a crash is what this script looks for
        return "CRASH", f"{type(err).__name__}: {err}", None
    d = r.to_dict()
    return d["verdict"], d.get("reason", ""), d.get("witness")


def run_cli(kind, text, box, where, budget):
    cmd = [sys.executable, "-m", "losslens", "convex" if kind == F else "convex-set", text, "--json",
           "--time-budget", str(budget)]
    if box:
        cmd += [f"--box={box}"]
    if where:
        cmd += ["--where", where]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "HANG", ""
    if p.returncode == 0:
        return json.loads(p.stdout)["verdict"], ""
    one_line = len(p.stderr.strip().splitlines()) == 1
    return f"exit{p.returncode}", p.stderr.strip() if one_line else "MULTILINE: " + p.stderr[-200:]


def judge(truth, verdict, wit_ok, kind, text):
    if verdict in ("CRASH", "HANG"):
        return verdict
    if (truth == E) != (verdict == "input_error"):
        return "WRONG"
    if truth == E or verdict == "unknown":
        return "ok" if truth == E else "unknown"
    convex_word = verdict in ("convex", "strictly_convex", "strongly_convex")
    if truth == "affine":            # convex and concave, but no chord lies strictly above the graph
        return "ok" if verdict in ("convex", "concave") else "WRONG"
    if truth == N and convex_word:
        return "WRONG"
    if truth == C and verdict in ("not_convex", "concave"):
        return "WRONG"
    if verdict == "not_convex" and wit_ok is False:
        return "BADWIT"
    return "ok"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    ap.add_argument("--cli", action="store_true")
    ap.add_argument("--budget", type=float, default=5.0)
    args = ap.parse_args()
    counts: dict[str, int] = {}
    t_all = time.monotonic()
    print(f"{'case':58s} {'truth':10s} {'sample':10s} {'verdict':16s} {'sec':>5s}  ok")
    for kind, text, box, where, truth in CASES:
        label = f"{'set ' if kind == S else ''}{text}" + (f" [box {box}]" if box else "") + \
            (f" [where {where}]" if where else "")
        if args.only and args.only not in label:
            continue
        sample = None if truth == E else independent_truth(kind, text, box, where)
        if truth == "affine" and sample == C:
            sample = "affine" if sympy.Poly(ours(text), *natural(ours(text))).total_degree() <= 1 else "NOT AFFINE"
        t0 = time.monotonic()
        verdict, reason, wit = run_api(kind, text, box, where, args.budget)
        sec = time.monotonic() - t0
        wit_ok = recheck_witness(kind, text, box, where, wit) if wit and verdict == "not_convex" else None
        ok = judge(truth, verdict, wit_ok, kind, text)
        if sample is not None and sample != truth:
            ok += " (SAMPLE DISAGREES)"
        if args.cli:
            cv, msg = run_cli(kind, text, box, where, args.budget)
            if cv != verdict and not (verdict == "input_error" and cv == "exit2" and "MULTILINE" not in msg):
                ok += f" cli={cv} {msg[:80]}"
        counts[ok.split()[0]] = counts.get(ok.split()[0], 0) + 1
        print(f"{label[:58]:58s} {truth:10s} {sample or '-':10s} {verdict[:16]:16s} {sec:5.1f}  {ok}", flush=True)
        if ok.split()[0] in ("WRONG", "BADWIT", "CRASH", "HANG", "input_error"):
            print(f"    reason: {reason[:300]}")
    print(f"\n{sum(counts.values())} cases in {time.monotonic() - t_all:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
