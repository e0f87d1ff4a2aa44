"""The solvers of :func:`losslens.optimize.constrained.solve_constrained`: ``minimize f(x) s.t. h_j(x) = 0, g_i(x) ≤ 0``.

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

Each solver returns a :class:`SolverRun` (end point, multiplier estimates ν, status, iteration counts, penalty weight and
the path of iterates); :mod:`.explain` turns it into the verdict and the KKT explanation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .oracle import Oracle

METHODS = ("alm", "penalty", "projected")
RHO_MAX = 1e12


# --- Newton on a penalised function with a shift and Armijo search ----------------------------------------------

class Merit:
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


class Augmented(Merit):
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


class Quadratic(Merit):
    """Quadratic penalty ρ/2 (c² on equalities, max(0, g)² on inequalities), times ``scale_f`` on f (0: phase 1)."""

    def __init__(self, oracle, eq, rho, scale_f=1.0):
        super().__init__(oracle, eq, scale_f)
        self.rho = rho

    def penalty(self, c):
        return 0.5 * self.rho * np.where(self.eq, c, np.maximum(c, 0)) ** 2

    def weights(self, c):
        on = self.eq | (c > 0)
        return self.rho * np.where(on, c, 0.0), np.where(on, self.rho, 0.0)


def newton_direction(H: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
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


def below_rounding(v_new: float, v: float) -> bool:
    """φ changed by no more than its rounding, 16·ε·max(1, |φ|): near a minimum the decrease ½gᵀH⁻¹g of a Newton
    step (g = 1e-8, H = 10: 5e-18) is below what φ ≈ −2 can show."""
    return bool(np.isfinite(v_new)) and abs(v_new - v) <= 16 * np.finfo(np.float64).eps * max(1.0, abs(v))


def gradient_halves(phi: Merit, y: np.ndarray, g: np.ndarray) -> bool:
    """‖∇φ(y)‖∞ ≤ ½‖g‖∞: the step made clear progress towards a stationary point."""
    _, g_new, _ = phi.derivatives(y)
    return bool(np.isfinite(g_new).all()) and float(np.abs(g_new).max()) <= 0.5 * float(np.abs(g).max())


def newton(phi: Merit, x: np.ndarray, gtol: float, max_iter: int, big: float):
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
        d, tau = newton_direction(H, g)
        slope = float(g @ d)
        if slope >= 0:
            d, slope = -g, -float(g @ g)
        t, by_gradient = 1.0, False
        while True:
            v_new = phi.value(x + t * d)
            if t == 1.0 and tau == 0 and below_rounding(v_new, v) and gradient_halves(phi, x + d, g):
                by_gradient = True      # a pure Newton step whose decrease φ cannot show: ‖∇φ‖ decides
                break
            if np.isfinite(v_new) and v_new <= v + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-20:
                return x, "stalled", it
        if v_new >= v and not by_gradient:  # accepted only because the decrease is below rounding: no progress
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
class SolverRun:
    """One solver run: end point ``x`` [n], multipliers ``nu`` [m], why it stopped, outer and inner iterations,
    the final penalty weight and the outer iterates ``path`` (list of [n])."""

    x: np.ndarray
    nu: np.ndarray
    status: str                 # converged | max_iter | diverged | stalled
    iterations: int = 0
    inner: int = 0
    penalty: float = 0.0
    path: list = field(default_factory=list)


def kkt_max(oracle: Oracle, eq: np.ndarray, x: np.ndarray, nu: np.ndarray) -> float:
    """The largest of the four KKT residuals (same definitions as :mod:`.kkt`), from the oracle."""
    _, c = oracle.values(x)
    gf, J = oracle.first(x)
    stat = float(np.abs(gf + J.T @ nu).max())
    if not c.size:
        return stat
    primal = float(np.where(eq, np.abs(c), np.maximum(c, 0)).max())
    ineq = ~eq
    dual = float(np.maximum(-nu[ineq], 0).max()) if ineq.any() else 0.0
    comp = float(np.abs(nu * c).max())
    return max(stat, primal, dual, comp)


def alm(oracle: Oracle, eq: np.ndarray, x: np.ndarray, tol: float, max_iter: int, big: float) -> SolverRun:
    nu = np.zeros(len(eq))
    run = SolverRun(x, nu, "max_iter", path=[x])
    rho, v_prev, stuck = 10.0, np.inf, 0
    for k in range(max_iter):
        x_new, status, inner = newton(Augmented(oracle, eq, nu, rho), run.x, 0.1 * tol, 100, big)
        run.inner += inner
        run.iterations = k + 1
        if status == "diverged":
            run.x, run.status = x_new, "diverged"
            if far_and_feasible(oracle, eq, x_new, tol) or rho >= RHO_MAX:
                return run
            rho *= 10
            continue
        _, c = oracle.values(x_new)
        shifted = nu + rho * c
        nu = np.where(eq, shifted, np.maximum(shifted, 0))
        viol = float(np.where(eq, np.abs(c), np.abs(np.minimum(-c, nu / rho))).max()) if c.size else 0.0
        run.x, run.nu, run.penalty = x_new, nu, rho
        run.path.append(x_new)
        if kkt_max(oracle, eq, x_new, nu) <= tol:
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


def far_and_feasible(oracle: Oracle, eq: np.ndarray, x: np.ndarray, tol: float) -> bool:
    """Each constraint's violation ≤ tol · max(1, Σ_j |∂c_i/∂x_j · x_j|): feasible up to the rounding of the terms
    *that constraint* is made of at x. A far point's large coordinates loosen only the constraints that involve them
    (``x·y >= 1`` at y = −1e12), never one they do not enter (``x >= 0`` violated by 0.1 stays violated)."""
    _, c = oracle.values(x)
    if not c.size:
        return True
    _, J = oracle.first(x)
    with np.errstate(all="ignore"):
        scale = np.maximum(1.0, np.abs(J * x).sum(1))
    v = np.where(eq, np.abs(c), np.maximum(c, 0))
    return bool(np.all(np.isfinite(v)) and np.all(v <= tol * scale))


def violation(oracle: Oracle, eq: np.ndarray, x: np.ndarray) -> float:
    _, c = oracle.values(x)
    return float(np.where(eq, np.abs(c), np.maximum(c, 0)).max()) if c.size else 0.0


def penalty_method(oracle: Oracle, eq: np.ndarray, x: np.ndarray, tol: float, max_iter: int, big: float) -> SolverRun:
    run = SolverRun(x, np.zeros(len(eq)), "max_iter", path=[x])
    rho, best, current = 1.0, np.inf, x
    for k in range(max_iter):
        x_new, status, inner = newton(Quadratic(oracle, eq, rho), current, 0.1 * tol, 100, big)
        run.inner += inner
        run.iterations = k + 1
        if status == "diverged" and far_and_feasible(oracle, eq, x_new, tol):
            run.x, run.status = x_new, "diverged"
            return run
        if status != "diverged":
            _, c = oracle.values(x_new)
            nu = rho * np.where(eq, c, np.maximum(c, 0))
            current = x_new
            run.path.append(x_new)
            score = kkt_max(oracle, eq, x_new, nu)
            if score <= best:   # keep the best iterate: at very large rho rounding spoils the multipliers
                best, run.x, run.nu, run.penalty = score, x_new, nu, rho
            if score <= tol:
                run.status = "converged"
                return run
        if rho >= RHO_MAX:
            return run
        rho *= 10
    return run


def projected(oracle: Oracle, S, x: np.ndarray, tol: float, max_iter: int, big: float) -> SolverRun:
    """Spectral projected gradient (SPG2 of Birgin, Martínez & Raydan 2000), memory 10 for the non-monotone
    search; stops when the projected-gradient residual ‖P(x − ∇f) − x‖∞ ≤ tol/10."""
    proj = lambda z: S.project(torch.from_numpy(z)).numpy()
    x = proj(x)
    run = SolverRun(x, np.zeros(oracle.m), "max_iter", path=[x])
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


def smallest_violation(oracle: Oracle, eq: np.ndarray, starts, tol: float, big: float):
    """Minimise ½ Σ h² + ½ Σ max(0, g)² from each start; the point of least violation."""
    best, best_v = None, np.inf
    for x in starts:
        x, _, _ = newton(Quadratic(oracle, eq, 1.0, scale_f=0.0), x, 1e-3 * tol, 500, big)
        v = violation(oracle, eq, x)
        if v < best_v:
            best, best_v = x, v
    return best, best_v
