"""Solve small constrained problems and explain the solution: multipliers, active set, KKT residuals, Lagrangian.

``minimize f(x) over x ∈ R^n  s.t.  h_j(x) = 0,  g_i(x) ≤ 0`` (see :mod:`.constraints` for the typed form).

Methods (``method``):

* ``alm`` — augmented Lagrangian (Powell–Hestenes–Rockafellar). With multipliers λ (equalities), μ ≥ 0
  (inequalities) and weight ρ, each outer step minimises

      L_ρ(x) = f + Σ_j (λ_j h_j + ρ/2 h_j²) + 1/(2ρ) Σ_i (max(0, μ_i + ρ g_i)² − μ_i²)

  then updates λ ← λ + ρ h, μ ← max(0, μ + ρ g); ρ grows ×10 when the violation
  V = max(|h|, |min(−g, μ/ρ)|) falls by less than a factor 4 (Nocedal & Wright §17.4, Birgin & Martínez 2014).
* ``penalty`` — quadratic penalty f + ρ/2 (Σ h² + Σ max(0, g)²) with ρ = 1, 10, 100, ...; multipliers are read
  off as λ = ρ h, μ = ρ max(0, g) (N&W §17.1). Feasibility only reaches about |ν|/ρ, so it needs large ρ.
* ``projected`` — spectral projected gradient (Birgin, Martínez & Raydan 2000: Barzilai–Borwein steps, non-monotone
  Armijo search) for feasible sets with an exact projection (:func:`.constraints.feasible_set`); multipliers are
  recovered afterwards by bounded least squares on the active constraints.

Non-smooth terms (``abs``, ``max``, ``min``, ``relu``) are lifted first into new variables t_j with smooth epigraph
constraints (:mod:`.epigraph`, exact or refused); the solvers and the KKT table work on the lifted problem, and the
stationarity of the original one, 0 ∈ ∂f(x) + Σ ν_k ∂c_k(x), is checked with the subgradients the epigraph
multipliers select. ``projected`` keeps the user's variables (the projection handles a non-smooth set such as the
L1 ball; the objective must be smooth) and stops on the projected-gradient mapping ‖P(x − ∇f) − x‖∞.

Inner minimisations use Newton's method with the exact Hessian (sympy, :mod:`.oracle`), a diagonal shift when the Hessian
is not positive definite, and an Armijo backtracking line search.

Verdicts: ``optimal`` (KKT point of a problem proved convex: global minimum), ``local_min`` (KKT point, strict
second-order sufficient condition holds), ``kkt_point`` (KKT point, optimality not proved), ``not_min`` (KKT point
where the second-order necessary condition fails), ``infeasible`` (proved: convex constraints whose violation has a
positive minimum), ``unbounded`` (a feasible point with f below −``unbounded_below``), ``not_converged``
(iteration budget used up; residuals reported), ``unknown`` (no feasible point found but infeasibility not proved).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import sympy
import torch

from ..results import Result
from ..validation import InputError, check_choice, check_float, check_int
from . import kkt as K
from .constraints import ConstrainedProblem, feasible_set, make_problem
from .epigraph import MAX_CASES, NONSMOOTH, AtomReport, Lifted, NotExact, SubgradientKKT, lift, split, subgradient_kkt
from .oracle import Oracle
from .projections import describe

METHODS = ("alm", "penalty", "projected")
VERDICTS = ("optimal", "local_min", "kkt_point", "not_min", "infeasible", "unbounded", "not_converged", "unknown")
RHO_MAX = 1e12
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


# --- Newton on a penalised function with a shift and Armijo search ----------------------------------------------

class _Merit:
    """φ(x) = s·f(x) + Σ_k p_k(c_k(x)) for a separable penalty p. ``weights(c)`` gives w_k = p_k'(c_k) and
    D_k = p_k''(c_k), so ∇φ = s∇f + Jᵀw and ∇²φ = s∇²f + Σ_k w_k ∇²c_k + Jᵀ diag(D) J (generalised Hessian where
    p has a kink in its second derivative)."""

    def __init__(self, oracle: Oracle, eq: np.ndarray, scale_f: float = 1.0):
        self.o, self.eq, self.s = oracle, eq, scale_f

    def penalty(self, c):  # pragma: no cover - abstract
        raise NotImplementedError

    def weights(self, c):  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self, x) -> float:
        f, c = self.o.values(x)
        return self.s * f + float(self.penalty(c).sum())

    def derivatives(self, x):
        f, c = self.o.values(x)
        gf, J = self.o.first(x)
        Hf, Hc = self.o.second(x)
        w, D = self.weights(c)
        g = self.s * gf + J.T @ w
        H = self.s * Hf + np.einsum("k,kij->ij", w, Hc) + J.T @ (D[:, None] * J)
        return self.s * f + float(self.penalty(c).sum()), g, H


class _Augmented(_Merit):
    """PHR augmented Lagrangian: λc + ρ/2 c² on equalities, (max(0, μ + ρg)² − μ²)/(2ρ) on inequalities."""

    def __init__(self, oracle, eq, nu, rho):
        super().__init__(oracle, eq)
        self.nu, self.rho = nu, rho

    def penalty(self, c):
        shifted = np.maximum(self.nu + self.rho * c, 0)
        return np.where(self.eq, self.nu * c + 0.5 * self.rho * c ** 2, (shifted ** 2 - self.nu ** 2) / (2 * self.rho))

    def weights(self, c):
        shifted = self.nu + self.rho * c
        on = self.eq | (shifted > 0)
        return np.where(self.eq, shifted, np.maximum(shifted, 0)), np.where(on, self.rho, 0.0)


class _Quadratic(_Merit):
    """Quadratic penalty ρ/2 (c² on equalities, max(0, g)² on inequalities), times ``scale_f`` on f (0: phase 1)."""

    def __init__(self, oracle, eq, rho, scale_f=1.0):
        super().__init__(oracle, eq, scale_f)
        self.rho = rho

    def penalty(self, c):
        return 0.5 * self.rho * np.where(self.eq, c, np.maximum(c, 0)) ** 2

    def weights(self, c):
        on = self.eq | (c > 0)
        return self.rho * np.where(on, c, 0.0), np.where(on, self.rho, 0.0)


def _newton_direction(H: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """−(H + τI)⁻¹ g with the smallest τ ∈ {0, 1e-10·s, 1e-9·s, ...} (s = max(1, max|H_ii|)) that makes the
    shifted Hessian positive definite (Nocedal & Wright Alg. 3.3); returns the step and τ."""
    H = 0.5 * (H + H.T)
    if not np.isfinite(H).all():
        return -g, np.inf
    scale = max(1.0, float(np.abs(np.diag(H)).max()))
    eye = np.eye(len(g))
    tau = 0.0
    for _ in range(30):
        try:
            L = np.linalg.cholesky(H + tau * eye)
            d = -np.linalg.solve(L.T, np.linalg.solve(L, g))
            if np.isfinite(d).all():
                return d, tau
        except np.linalg.LinAlgError:
            pass
        tau = 1e-10 * scale if tau == 0 else tau * 10
    return -g, np.inf


def _newton(phi: _Merit, x: np.ndarray, gtol: float, max_iter: int, big: float):
    """Minimise phi from x. Returns (x, status, iterations); status ``converged`` (‖∇phi‖∞ ≤ gtol), ``stalled``
    (no decrease possible: rounding level, or outside the domain), ``max_iter``, ``diverged`` (phi < −big or
    ‖x‖∞ > big). Where the Hessian needed a shift (not positive definite), an accepted unit step is tried doubled
    while φ keeps falling, so unbounded directions are followed quickly."""
    for it in range(max_iter):
        v, g, H = phi.derivatives(x)
        if not (np.isfinite(v) and np.isfinite(g).all()):
            return x, "stalled", it
        if float(np.abs(g).max()) <= gtol:
            return x, "converged", it
        if v < -big or float(np.abs(x).max()) > big:
            return x, "diverged", it
        d, tau = _newton_direction(H, g)
        slope = float(g @ d)
        if slope >= 0:
            d, slope = -g, -float(g @ g)
        t = 1.0
        while True:
            v_new = phi.value(x + t * d)
            if np.isfinite(v_new) and v_new <= v + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-20:
                return x, "stalled", it
        if v_new >= v:      # accepted only because the decrease is below rounding: no progress possible
            return x, "stalled", it
        if tau > 0 and t == 1.0:
            for _ in range(60):
                if v_new < -big:
                    break
                v_more = phi.value(x + 2 * t * d)
                if not (np.isfinite(v_more) and v_more < v_new):
                    break
                t, v_new = 2 * t, v_more
        x = x + t * d
    return x, "max_iter", max_iter


# --- the three methods ------------------------------------------------------------------------------------------

@dataclass
class _Run:
    x: np.ndarray
    nu: np.ndarray
    status: str                 # converged | max_iter | diverged | stalled
    iterations: int = 0
    inner: int = 0
    penalty: float = 0.0
    path: list = field(default_factory=list)


def _kkt_max(oracle: Oracle, eq: np.ndarray, x: np.ndarray, nu: np.ndarray) -> float:
    """The largest of the four KKT residuals (same definitions as :mod:`.kkt`), from the oracle."""
    _, c = oracle.values(x)
    gf, J = oracle.first(x)
    stat = float(np.abs(gf + J.T @ nu).max())
    if not c.size:
        return stat
    primal = float(np.where(eq, np.abs(c), np.maximum(c, 0)).max())
    ineq = ~eq
    dual = float(np.maximum(-nu[ineq], 0).max()) if ineq.any() else 0.0
    comp = float(np.abs(nu[ineq] * c[ineq]).max()) if ineq.any() else 0.0
    return max(stat, primal, dual, comp)


def _alm(oracle: Oracle, eq: np.ndarray, x: np.ndarray, tol: float, max_iter: int, big: float) -> _Run:
    nu = np.zeros(len(eq))
    run = _Run(x, nu, "max_iter", path=[x])
    rho, v_prev, stuck = 10.0, np.inf, 0
    for k in range(max_iter):
        x_new, status, inner = _newton(_Augmented(oracle, eq, nu, rho), run.x, 0.1 * tol, 100, big)
        run.inner += inner
        run.iterations = k + 1
        if status == "diverged":
            run.x, run.status = x_new, "diverged"
            if _far_and_feasible(oracle, eq, x_new, tol) or rho >= RHO_MAX:
                return run
            rho *= 10
            continue
        _, c = oracle.values(x_new)
        shifted = nu + rho * c
        nu = np.where(eq, shifted, np.maximum(shifted, 0))
        viol = float(np.where(eq, np.abs(c), np.abs(np.minimum(-c, nu / rho))).max()) if c.size else 0.0
        run.x, run.nu, run.penalty = x_new, nu, rho
        run.path.append(x_new)
        if _kkt_max(oracle, eq, x_new, nu) <= tol:
            run.status = "converged"
            return run
        if viol > 0.25 * v_prev:
            if rho >= RHO_MAX:
                stuck += 1
                if stuck >= 2:
                    return run
            rho = min(rho * 10, RHO_MAX)
        v_prev = viol
    return run


def _far_and_feasible(oracle: Oracle, eq: np.ndarray, x: np.ndarray, tol: float) -> bool:
    """Violation ≤ tol · max(1, ‖x‖∞): feasible up to the rounding of coordinates that large."""
    return _violation(oracle, eq, x) <= tol * max(1.0, float(np.abs(x).max()))


def _violation(oracle: Oracle, eq: np.ndarray, x: np.ndarray) -> float:
    _, c = oracle.values(x)
    return float(np.where(eq, np.abs(c), np.maximum(c, 0)).max()) if c.size else 0.0


def _penalty(oracle: Oracle, eq: np.ndarray, x: np.ndarray, tol: float, max_iter: int, big: float) -> _Run:
    run = _Run(x, np.zeros(len(eq)), "max_iter", path=[x])
    rho, best, current = 1.0, np.inf, x
    for k in range(max_iter):
        x_new, status, inner = _newton(_Quadratic(oracle, eq, rho), current, 0.1 * tol, 100, big)
        run.inner += inner
        run.iterations = k + 1
        if status == "diverged" and _far_and_feasible(oracle, eq, x_new, tol):
            run.x, run.status = x_new, "diverged"
            return run
        if status != "diverged":
            _, c = oracle.values(x_new)
            nu = rho * np.where(eq, c, np.maximum(c, 0))
            current = x_new
            run.path.append(x_new)
            score = _kkt_max(oracle, eq, x_new, nu)
            if score <= best:   # keep the best iterate: at very large rho rounding spoils the multipliers
                best, run.x, run.nu, run.penalty = score, x_new, nu, rho
            if score <= tol:
                run.status = "converged"
                return run
        if rho >= RHO_MAX:
            return run
        rho *= 10
    return run


def _projected(oracle: Oracle, S, x: np.ndarray, tol: float, max_iter: int, big: float) -> _Run:
    """Spectral projected gradient (SPG2 of Birgin, Martínez & Raydan 2000), memory 10 for the non-monotone
    search; stops when the projected-gradient residual ‖P(x − ∇f) − x‖∞ ≤ tol/10."""
    proj = lambda z: S.project(torch.from_numpy(z)).numpy()
    x = proj(x)
    run = _Run(x, np.zeros(oracle.m), "max_iter", path=[x])
    v, _ = oracle.values(x)
    g, _ = oracle.first(x)
    alpha = 1.0 / max(1e-12, float(np.abs(g).max()))
    history = [v]
    for k in range(max_iter):
        run.iterations = k
        if float(np.abs(proj(x - g) - x).max()) <= 0.1 * tol:
            run.status = "converged"
            break
        if v < -big or float(np.abs(x).max()) > big:
            run.status = "diverged"
            break
        d = proj(x - alpha * g) - x
        slope = float(g @ d)
        ref, t = max(history[-10:]), 1.0
        while True:
            v_new, _ = oracle.values(x + t * d)
            if np.isfinite(v_new) and v_new <= ref + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-20:
                run.status = "stalled"
                break
        if run.status == "stalled":
            break
        x_new = x + t * d
        g_new, _ = oracle.first(x_new)
        s, y = x_new - x, g_new - g
        sy = float(s @ y)
        alpha = min(1e12, max(1e-12, float(s @ s) / sy)) if sy > 0 else 1e12
        x, g, v = x_new, g_new, v_new
        history.append(v)
        run.path.append(x)
    run.x = x
    return run


# --- feasibility phase and the public entry point ----------------------------------------------------------------

def _smallest_violation(oracle: Oracle, eq: np.ndarray, starts, tol: float, big: float):
    """Minimise ½ Σ h² + ½ Σ max(0, g)² from each start; the point of least violation."""
    best, best_v = None, np.inf
    for x in starts:
        x, _, _ = _newton(_Quadratic(oracle, eq, 1.0, scale_f=0.0), x, 1e-3 * tol, 500, big)
        v = _violation(oracle, eq, x)
        if v < best_v:
            best, best_v = x, v
    return best, best_v


def _constraints_convex(problem: ConstrainedProblem) -> bool:
    """Equalities affine and inequalities convex on the whole space (exact or by the convexity checker)."""
    return all(K._convex_quadratic(c.sympy, problem.symbols, affine_only=True) if c.kind == "eq"
               else K._convex_function(c.expression, 1.0)[0] for c in problem.constraints)


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
        run = _alm(oracle, eq, z0.numpy().copy(), tol, max_iter, big)
    elif method == "penalty":
        run = _penalty(oracle, eq, z0.numpy().copy(), tol, max_iter, big)
    elif lifted is None:
        run = _projected(oracle, S, x0.numpy().copy(), tol, max_iter, big)
    else:       # the projection keeps the user's variables; only f is differentiated
        oracle = Oracle(ConstrainedProblem(problem.names, problem.objective, ()))
        run = _projected(oracle, S, x0.numpy().copy(), tol, max_iter, big)
        work, oracle = oracle.counts, Oracle(smooth)
    if lifted is not None:
        run.x, run.nu = _relift(lifted, run, tol)
    solved = time.perf_counter()
    result = _explain(smooth, oracle, method, run, z0, tol, big, S, refit=lifted is not None)
    if lifted is not None:
        result = _unlift(result, lifted, x0, tol)
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


def _relift(lifted: Lifted, run: _Run, tol: float) -> tuple[np.ndarray, np.ndarray]:
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


def _unlift(result: ConstrainedResult, lifted: Lifted, x0: torch.Tensor, tol: float) -> ConstrainedResult:
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


def _explain(problem, oracle, method, run: _Run, x0, tol, big, S, refit: bool = False) -> ConstrainedResult:
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
    if run.status == "diverged" and _far_and_feasible(oracle, eq, run.x, tol) and value < -big:
        verdict = "unbounded"
        reason = (f"f = {value:.3g} < -{big:.3g} at a feasible point (violation {problem.violation(x):.2g} <= "
                  f"tol * max(1, |x|)) and still decreasing: unbounded below")
        nu = torch.full_like(nu, math.nan)
    elif res.satisfied:
        second = K.second_order(problem, x, nu, active, math.sqrt(tol))
        convex, convexity = K.prove_convex(problem)
        if convex:
            verdict, proved = "optimal", True
            reason = f"KKT point of a convex problem, so a global minimum ({convexity})"
        else:
            verdict = {"sufficient": "local_min", "violated": "not_min"}.get(second.verdict, "kkt_point")
            reason = {"local_min": "KKT point and second-order sufficient condition: a strict local minimum; "
                                   "global optimality not proved",
                      "not_min": f"KKT point, but not a local minimum: {second.reason}",
                      "kkt_point": f"KKT point, optimality not proved ({second.reason})"}[verdict]
    elif res.primal_feasibility > tol:
        xv, v = _smallest_violation(oracle, eq, [run.x, x0.numpy()], tol, big)
        if v > tol:
            x = torch.from_numpy(xv.copy())
            nu = torch.full_like(nu, math.nan)
            with torch.no_grad():
                value = float(problem.f(x))
            res = K.residuals(problem, x, torch.zeros_like(nu), tol)
            where = [round(u, 6) for u in x.tolist()]
            if _constraints_convex(problem):
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
