"""The explanation of a constrained solution: verdict, multipliers, active set, KKT residuals, Lagrangian.

From a solver's :class:`.solvers.SolverRun` on ``minimize f(x) s.t. h_j(x) = 0, g_i(x) ≤ 0``: the KKT residuals
(:mod:`.kkt`: stationarity ‖∇f + Σ ν_k ∇c_k‖∞, primal feasibility, dual feasibility μ ≥ 0, complementarity
|ν_k c_k|), the active set, the Lagrangian ``L(x, λ, μ) = f + Σ λ_j h_j + Σ μ_i g_i`` as text and LaTeX, a
convexity proof or the second-order test on the critical cone, and one verdict.

Verdicts: ``optimal`` (KKT point of a problem proved convex, where the Newton decrement of L along the active
constraints leaves at most ``tol`` for f to fall: global minimum), ``local_min`` (KKT point, strict
second-order sufficient condition holds), ``kkt_point`` (KKT point, optimality not proved), ``not_min`` (KKT point
where the second-order necessary condition fails), ``infeasible`` (proved: convex constraints whose violation has a
positive minimum), ``unbounded`` (a feasible point with f below −``unbounded_below``), ``not_converged``
(iteration budget used up; residuals reported), ``unknown`` (no feasible point found but infeasibility not proved).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from ..results import Result
from . import kkt as K
from .constraints import ConstrainedProblem
from .epigraph import AtomReport, Lifted, SubgradientKKT, subgradient_kkt
from .projections import describe
from .solvers import SolverRun, far_and_feasible, smallest_violation

VERDICTS = ("optimal", "local_min", "kkt_point", "not_min", "infeasible", "unbounded", "not_converged", "unknown")
MAX_PATH = 500


@dataclass(frozen=True)
class ConstraintReport(Result):
    """One constraint at the solution: as typed, in standard form, its value c(x), multiplier, active or not."""

    text: str
    standard: str
    kind: str
    value: float
    multiplier: float
    active: bool


@dataclass(frozen=True)
class ConstrainedResult(Result):
    """What ``solve_constrained`` found and why it is (or is not) the answer.

    ``x`` [n] solution, ``value`` f(x), ``multipliers`` [m] (λ on equalities, μ ≥ 0 on inequalities, input
    order), ``constraints`` per-constraint reports, ``active`` names of active constraints, ``kkt`` residuals,
    ``lagrangian`` L(x, λ, μ) as text (``lagrangian_latex`` as LaTeX), ``convex`` proved or not (``convexity``
    says why), ``second_order`` test, ``path`` [k, n] iterates (outer iterations for alm/penalty, every step for
    projected, at most 500 kept), ``evaluations`` counts, ``seconds`` wall time (``solve_seconds`` of it before the
    explanation: compiling the oracle and iterating).

    With abs/max/min/relu terms: ``epigraph`` [k] one report per lifted variable t_j (its definition, value,
    selected subgradient and epigraph rows with their multipliers), ``lifted_names`` the lifted problem's
    variables, ``subgradient`` the check of 0 ∈ ∂f(x) + Σ ν_k ∂c_k(x) in the original variables; ``kkt``,
    ``lagrangian`` and ``second_order`` then belong to the lifted (smooth) problem, while ``x``, ``multipliers``,
    ``constraints`` and ``path`` stay in the original variables and constraints. Where a lift is not exact the
    problem is split into pieces on which the term is smooth: ``cases`` [{case, verdict, value, x, chosen}] per
    piece, and the rest of the result is the chosen (best) piece's."""

    objective: str
    names: tuple[str, ...]
    method: str
    verdict: str
    reason: str
    x: torch.Tensor
    value: float
    multipliers: torch.Tensor
    constraints: tuple[ConstraintReport, ...]
    active: tuple[str, ...]
    kkt: K.KKTResiduals
    lagrangian: str
    lagrangian_latex: str
    convex: bool
    convexity: str
    optimality_proved: bool
    second_order: K.SecondOrder | None
    x0: torch.Tensor
    iterations: int
    inner_iterations: int
    penalty: float
    evaluations: dict
    path: torch.Tensor
    seconds: float
    solve_seconds: float = 0.0
    feasible_set: dict | None = None
    epigraph: tuple[AtomReport, ...] = ()
    lifted_names: tuple[str, ...] = ()
    subgradient: SubgradientKKT | None = None
    cases: tuple[dict, ...] = ()


def constraints_convex(problem: ConstrainedProblem) -> bool:
    """Equalities affine and inequalities convex on the whole space (exact or by the convexity checker)."""
    return all(K._convex_quadratic(c.sympy, problem.symbols, affine_only=True) if c.kind == "eq"
               else K._convex_function(c.expression, 1.0)[0] for c in problem.constraints)


def explain(problem, oracle, method, run: SolverRun, x0, tol, big, S, refit: bool = False) -> ConstrainedResult:
    """``refit``: when the solver's multipliers miss the KKT test, try the least-squares multipliers on the active
    set too (after the epigraph variables were reset to t = φ(x))."""
    eq = problem.eq_mask.numpy()
    x = torch.from_numpy(np.asarray(run.x, dtype=np.float64).copy())
    nu = torch.from_numpy(np.asarray(run.nu, dtype=np.float64).copy())
    if method == "projected":
        nu = K.estimate_multipliers(problem, x, K.active_mask(problem, x, nu, math.sqrt(tol)))
    with torch.no_grad():
        value = float(problem.f(x))
    res = K.residuals(problem, x, nu, tol)
    if refit and not res.satisfied and method != "projected":
        fit = K.estimate_multipliers(problem, x, K.active_mask(problem, x, nu, math.sqrt(tol)))
        res_fit = K.residuals(problem, x, fit, tol)
        if res_fit.max < res.max:
            nu, res = fit, res_fit
    active = K.active_mask(problem, x, nu, math.sqrt(tol))
    convex, convexity = False, "not checked: no KKT point"
    second, proved = None, False
    if run.status == "diverged" and far_and_feasible(oracle, eq, run.x, tol) and value < -big:
        verdict = "unbounded"
        reason = (f"f = {value:.3g} < -{big:.3g} at a feasible point (violation {problem.violation(x):.2g}, "
                  f"each constraint "
                  f"within tol of the size of its terms there) and still decreasing: unbounded below")
        nu = torch.full_like(nu, math.nan)
    elif res.satisfied:
        second = K.second_order(problem, x, nu, active, math.sqrt(tol))
        convex, convexity = K.prove_convex(problem)
        gap = K.decrement_gap(problem, x, nu, active) if convex else 0.0
        if convex and gap > tol:
            verdict = "kkt_point"
            reason = (f"KKT point of a convex problem ({convexity}), but f may still fall by about {gap:.3g} > tol "
                      f"{tol:.1g} along the active constraints (Newton decrement: the gradient is small because f "
                      "flattens out): the minimum is not shown to be attained here")
        elif convex:
            verdict, proved = "optimal", True
            reason = f"KKT point of a convex problem, so a global minimum ({convexity})"
        else:
            verdict = {"sufficient": "local_min", "violated": "not_min"}.get(second.verdict, "kkt_point")
            reason = {"local_min": "KKT point and second-order sufficient condition: a strict local minimum; "
                                   "global optimality not proved",
                      "not_min": f"KKT point, but not a local minimum: {second.reason}",
                      "kkt_point": f"KKT point, optimality not proved ({second.reason})"}[verdict]
    elif res.primal_feasibility > tol:
        xv, v = smallest_violation(oracle, eq, [run.x, x0.numpy()], tol, big)
        if v > tol:
            x = torch.from_numpy(xv.copy())
            nu = torch.full_like(nu, math.nan)
            with torch.no_grad():
                value = float(problem.f(x))
            res = K.residuals(problem, x, torch.zeros_like(nu), tol)
            where = [round(u, 6) for u in x.tolist()]
            if constraints_convex(problem):
                verdict = "infeasible"
                reason = (f"no feasible point: the constraints are convex and their violation has minimum "
                          f"{v:.3g} > tol {tol:.1g} at x = {where}")
            else:
                verdict = "unknown"
                reason = (f"no feasible point found (smallest violation {v:.3g} at x = {where}); the constraints "
                          "are not proved convex, so infeasibility is not proved")
        else:
            verdict = "not_converged"
            reason = (f"{method} stopped after {run.iterations} iterations ({run.status}) with KKT residual "
                      f"{res.max:.3g} > tol {tol:.1g}; feasible points exist (violation {v:.2g} reached)")
    else:
        verdict = "not_converged"
        reason = (f"{method} stopped after {run.iterations} iterations ({run.status}) with KKT residual "
                  f"{res.max:.3g} > tol {tol:.1g}")
    L, _ = K.lagrangian(problem)
    c = problem.c(x)
    reports = tuple(ConstraintReport(k.text, k.standard(), k.kind, float(c[i]), float(nu[i]), bool(active[i]))
                    for i, k in enumerate(problem.constraints))
    path = torch.from_numpy(np.stack(run.path)) if run.path else x.reshape(1, -1)
    if len(path) > MAX_PATH:
        keep = torch.linspace(0, len(path) - 1, MAX_PATH).round().long()
        path = path[keep]
    counts = oracle.counts
    return ConstrainedResult(
        objective=problem.objective.expression.text, names=problem.names, method=method, verdict=verdict,
        reason=reason, x=x, value=value, multipliers=nu, constraints=reports,
        active=tuple(r.text for r in reports if r.active), kkt=res,
        lagrangian=sympy.sstr(L), lagrangian_latex=sympy.latex(L), convex=convex, convexity=convexity,
        optimality_proved=proved, second_order=second, x0=x0, iterations=run.iterations,
        inner_iterations=run.inner, penalty=run.penalty,
        evaluations={"f": counts.f, "grad": counts.grad, "hessian": counts.hessian},
        path=path, seconds=0.0, feasible_set=None if S is None else describe(S))


def unlift(result: ConstrainedResult, lifted: Lifted, x0: torch.Tensor, tol: float) -> ConstrainedResult:
    """Back to the user's variables and constraints; the subgradient condition decides with the lifted KKT test."""
    n, m = lifted.n, lifted.original.m
    z, nu = result.x, result.multipliers
    sub = None
    verdict, reason = result.verdict, result.reason
    if torch.isfinite(nu).all():
        active = K.active_mask(lifted.problem, z, nu, math.sqrt(tol))
        sub = subgradient_kkt(lifted, z, nu, active, tol)
        if verdict in ("optimal", "local_min", "kkt_point", "not_min") and not sub.satisfied:
            verdict = "not_converged"
            reason = (f"the lifted problem's KKT test passes, but the subgradient condition {sub.condition} does "
                      f"not (residual {sub.stationarity:.3g}, tol {tol:.1g}, selections in the subdifferential: "
                      f"{all(a.member for a in sub.atoms)})")
        else:
            reason = f"{reason}; {'exact' if sub.satisfied else 'not'} with subgradients: {sub.condition}, " \
                     f"residual {sub.stationarity:.2g}"
    atoms = sub.atoms if sub is not None else ()
    constraints = result.constraints[:m]
    return dataclasses.replace(
        result, objective=lifted.original.objective.expression.text, names=lifted.original.names, x=z[:n],
        multipliers=nu[:m], constraints=constraints, active=tuple(r.text for r in constraints if r.active),
        x0=x0, path=result.path[:, :n], verdict=verdict, reason=reason, epigraph=atoms,
        lifted_names=lifted.problem.names, subgradient=sub)
