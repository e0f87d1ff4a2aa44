"""Solve small constrained problems and explain the solution: multipliers, active set, KKT residuals, Lagrangian.

``minimize f(x) over x ∈ R^n  s.t.  h_j(x) = 0,  g_i(x) ≤ 0`` (see :mod:`.constraints` for the typed form).

Methods (``method``): ``alm`` (augmented Lagrangian), ``penalty`` (quadratic penalty), ``projected`` (spectral
projected gradient); their math is in :mod:`.solvers`.

Verdicts (:data:`VERDICTS`, defined with the explanation in :mod:`.explain`): ``optimal``, ``local_min``,
``kkt_point``, ``not_min``, ``infeasible``, ``unbounded``, ``not_converged``, ``unknown``.

This module is the entry point: input checks, the lift of non-smooth terms, the split into smooth pieces, and
the choice of solver; :mod:`.solvers` iterate, :mod:`.explain` explains.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Sequence

import numpy as np
import torch

from ..validation import InputError, check_choice, check_float, check_int
from . import kkt as K
from .constraints import ConstrainedProblem, feasible_set, make_problem
from .epigraph import MAX_CASES, NONSMOOTH, Lifted, NotExact, lift, split
from .explain import MAX_PATH, VERDICTS, ConstrainedResult, ConstraintReport, explain, unlift
from .oracle import Oracle
from .solvers import METHODS, RHO_MAX, SolverRun, alm, penalty_method, projected

__all__ = ["solve_constrained", "ConstrainedResult", "ConstraintReport", "METHODS", "VERDICTS", "RHO_MAX",
           "MAX_PATH"]


def solve_constrained(objective, constraints: Sequence[str] = (), method: str = "alm", *, x0=None,
                      vars: Sequence[str] | str | None = None, tol: float = 1e-8, max_iter: int | None = None,
                      unbounded_below: float = 1e12) -> ConstrainedResult:
    """Minimise ``objective`` subject to ``constraints`` and explain the answer.

    ``objective``: an expression (``"x^2 + y^2"``), a catalog name, an :class:`AnalyticObjective`, or a
    :class:`ConstrainedProblem` (then ``constraints`` must be empty); ``constraints``: relations such as
    ``"x+y=1"``, ``"x^2+y^2<=2"``; ``x0`` [n] start (default 0); ``tol``: every KKT residual must reach it;
    ``max_iter``: outer iterations (alm 100, penalty 13, projected 20000 by default).

    >>> r = solve_constrained("x^2 + y^2", ["x + y = 1"])
    >>> r.verdict, [round(v, 6) for v in r.x.tolist()], round(float(r.multipliers[0]), 6)
    ('optimal', [0.5, 0.5], -1.0)
    >>> r = solve_constrained("(x - 3)^2/2 + 2*abs(x)")          # lasso: soft-thresholding gives x* = 1
    >>> r.verdict, round(float(r.x[0]), 9), round(r.value, 9), r.epigraph[0].definition, r.subgradient.satisfied
    ('optimal', 1.0, 4.0, '|x|', True)
    """
    method = check_choice("method", method, METHODS)
    tol = check_float("tol", tol, lo=1e-14, hi=1e-1)
    big = check_float("unbounded_below", unbounded_below, lo=1.0)
    if max_iter is None:
        max_iter = {"alm": 100, "penalty": 13, "projected": 20000}[method]
    max_iter = check_int("max_iter", max_iter, lo=1, hi=10 ** 7)
    if isinstance(objective, ConstrainedProblem):
        if constraints:
            raise InputError("constraints must be empty when objective is already a ConstrainedProblem")
        problem = objective
    else:
        problem = make_problem(objective, constraints, vars)
    x0 = torch.zeros(problem.n, dtype=torch.float64) if x0 is None else problem.objective.point(x0, "x0")
    with torch.no_grad():
        f0 = float(problem.f(x0))
        c0 = problem.c(x0)
    if not math.isfinite(f0) or not torch.isfinite(c0).all():
        raise InputError(f"x0 == {x0.tolist()} is outside the domain of the objective or a constraint "
                         "(value not finite); give another start with x0 (--start)")
    try:
        lifted = lift(problem)
    except NotExact as err:
        if method == "projected":
            raise InputError(f"{err}; method 'projected' does not split a problem into cases, use alm or penalty") \
                from None
        return _by_cases(problem, err, method, x0, tol, max_iter, big)
    smooth = problem if lifted is None else lifted.problem
    S = None
    if method == "projected":
        S = feasible_set(problem)
        if S is None:
            raise InputError("method 'projected' needs constraints forming one set with an exact projection "
                             "(box bounds, one L2 or L1 ball, simplex, affine equalities, one halfspace); "
                             "use method alm or penalty")
        if lifted is not None and problem.objective.sympy.has(*NONSMOOTH):
            raise InputError("method 'projected' needs a smooth objective (no abs, max, min or relu in it); "
                             "use method alm or penalty, which lift those terms exactly")
    start = time.perf_counter()
    oracle = Oracle(smooth)
    eq = smooth.eq_mask.numpy()
    z0 = x0 if lifted is None else lifted.lift(x0)
    if method == "alm":
        run = alm(oracle, eq, z0.numpy().copy(), tol, max_iter, big)
    elif method == "penalty":
        run = penalty_method(oracle, eq, z0.numpy().copy(), tol, max_iter, big)
    elif lifted is None:
        run = projected(oracle, S, x0.numpy().copy(), tol, max_iter, big)
    else:       # the projection keeps the user's variables; only f is differentiated
        oracle = Oracle(ConstrainedProblem(problem.names, problem.objective, ()))
        run = projected(oracle, S, x0.numpy().copy(), tol, max_iter, big)
        work, oracle = oracle.counts, Oracle(smooth)
    if lifted is not None:
        run.x, run.nu = _relift(lifted, run, tol)
    solved = time.perf_counter()
    result = explain(smooth, oracle, method, run, z0, tol, big, S, refit=lifted is not None)
    if lifted is not None:
        result = unlift(result, lifted, x0, tol)
    if method == "projected" and lifted is not None:
        result = dataclasses.replace(result, evaluations={"f": work.f, "grad": work.grad, "hessian": work.hessian})
    return dataclasses.replace(result, seconds=time.perf_counter() - start, solve_seconds=solved - start)


def _pieces(problem: ConstrainedProblem, err: NotExact) -> list[tuple[str, ConstrainedProblem]]:
    """Split at each term whose lift is not exact until every piece lifts exactly (at most MAX_CASES pieces)."""
    pending, leaves = [("", problem, err.atom)], []
    while pending:
        label, p, atom = pending.pop(0)
        for lab, q in split(p, atom):
            full = f"{label} and {lab}" if label else lab
            try:
                lift(q)
                leaves.append((full, q))
            except NotExact as inner:
                pending.append((full, q, inner.atom))
            if len(leaves) + len(pending) > MAX_CASES:
                raise InputError(f"{err}; splitting the problem into pieces where it is smooth needs more than "
                                 f"{MAX_CASES} pieces") from None
    return leaves


def _by_cases(problem, err: NotExact, method, x0, tol, max_iter, big) -> ConstrainedResult:
    """Solve every piece; the problem's minimum is the least of the pieces' minima. ``optimal`` only when every
    piece is decided (optimal or proved infeasible); ``unbounded`` when a piece is; ``unknown`` otherwise, with
    the best point found."""
    start = time.perf_counter()
    runs = [(label, solve_constrained(q, (), method, x0=x0, tol=tol, max_iter=max_iter, unbounded_below=big))
            for label, q in _pieces(problem, err)]
    cases = [{"case": label, "verdict": r.verdict, "value": r.value, "x": r.x.tolist()} for label, r in runs]
    summary = "; ".join(f"{c['case']}: {c['verdict']}" + (f" f = {c['value']:.10g}" if c["verdict"] not in
                        ("infeasible", "unknown") else "") for c in cases)
    found = [(label, r) for label, r in runs if r.verdict not in ("infeasible", "unknown") and math.isfinite(r.value)]
    unbounded = [(label, r) for label, r in runs if r.verdict == "unbounded"]
    proved = False
    if unbounded:
        (label, best), verdict = unbounded[0], "unbounded"
        reason = f"unbounded below on the piece {label} ({best.reason})"
    elif not found:
        label, best = runs[0]
        verdict = "infeasible" if all(r.verdict == "infeasible" for _, r in runs) else "unknown"
        reason = "every piece is infeasible" if verdict == "infeasible" else "no piece gave a feasible point"
    else:
        label, best = min(found, key=lambda lr: lr[1].value)
        if all(r.verdict in ("optimal", "infeasible") for _, r in runs):
            verdict, proved = "optimal", True
            reason = f"global minimum: the least of the pieces' global minima, on the piece {label}"
        else:
            verdict = "unknown"
            reason = f"best point found on the piece {label}; not every piece was solved to a proved minimum"
    reason = (f"{reason}. Split into {len(runs)} pieces because {err} ({summary})")
    cases = tuple({**c, "chosen": c["case"] == label} for c in cases)
    m = problem.m
    constraints = best.constraints[:m]
    return dataclasses.replace(
        best, objective=problem.objective.expression.text, verdict=verdict, reason=reason,
        optimality_proved=proved, constraints=constraints, multipliers=best.multipliers[:m],
        active=tuple(c.text for c in constraints if c.active), cases=cases, seconds=time.perf_counter() - start)


def _relift(lifted: Lifted, run: SolverRun, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """The lifted point to explain: (x, φ(x)) (feasible for the epigraph rows, no larger objective: the lift is
    exact), unless the solver's own t gives smaller KKT residuals (its x may sit a rounding outside a constraint
    that t = φ(x) then exceeds). ``projected`` iterates in x only, so it always takes (x, φ(x))."""
    m = lifted.problem.m
    nu = run.nu if len(run.nu) == m else np.zeros(m)
    x = torch.from_numpy(np.asarray(run.x[:lifted.n], dtype=np.float64).copy())
    exact = lifted.lift(x)
    if len(run.x) == lifted.n:
        return exact.numpy(), nu
    own = torch.from_numpy(np.asarray(run.x, dtype=np.float64).copy())
    mult = torch.from_numpy(nu.copy())
    better = K.residuals(lifted.problem, exact, mult, tol).max <= K.residuals(lifted.problem, own, mult, tol).max
    return (exact if better else own).numpy(), nu
