"""KKT conditions of ``minimize f(x) s.t. h_j(x) = 0, g_i(x) ≤ 0`` at a point, with multipliers.

Lagrangian  L(x, λ, μ) = f(x) + Σ_j λ_j h_j(x) + Σ_i μ_i g_i(x).  At (x, λ, μ), with one multiplier ν_k per
constraint in input order (ν = λ on equalities, μ on inequalities), the four residuals are (absolute, ∞-norm):

* stationarity             ‖∇f(x) + Σ_k ν_k ∇c_k(x)‖∞
* primal feasibility       max(max_j |h_j(x)|, max_i max(g_i(x), 0))
* dual feasibility         max_i max(−μ_i, 0)
* complementary slackness  max_k |ν_k c_k(x)|   (every term of L − f: μ_i g_i, and λ_j h_j on equalities)

A KKT point has all four ≤ ``tol``. The equality terms |λ_j h_j| count too: at an exact KKT point they vanish
with h_j, and at an approximate one they bound how far f is from the Lagrangian. Without them a point where a
constraint's gradient nearly vanishes passes with a huge multiplier (``x`` s.t. ``x² = 0`` at x = −6e-5, λ = 8350:
|h| = 3.6e-9, |λ h| = 3e-5). When f and every g_i are convex and every h_j is affine, a KKT point is a
global minimiser. Convexity is proved exactly: affine equalities by sympy; f and g_i either as quadratics with a
constant PSD Hessian (sympy) or by :func:`losslens.convexity.check_convexity` with a verdict on the whole space. Otherwise the second-order test on the Lagrangian's Hessian,
restricted to the null space of the active constraints' gradients, tells a strict local minimum (positive
definite there, every active inequality with μ_i > 0) from a point that is not a local minimum (a negative
eigenvalue, under linear independence of the active gradients).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy
import torch
from torch.autograd import functional as AF

from .. import budget
from ..results import Result
from .constraints import ConstrainedProblem

CONDITIONS = ("stationarity", "primal feasibility", "dual feasibility", "complementary slackness")
FORMULAS = ("‖∇f + Σ ν_k ∇c_k‖∞", "max(|h|, g⁺)", "max(−μ)⁺", "max |ν_k c_k|")


@dataclass(frozen=True)
class KKTResiduals(Result):
    """The four KKT residuals (floats), the tolerance they are held to, and whether all pass."""

    stationarity: float
    primal_feasibility: float
    dual_feasibility: float
    complementary_slackness: float
    tol: float

    @property
    def max(self) -> float:
        return max(self.stationarity, self.primal_feasibility, self.dual_feasibility, self.complementary_slackness)

    @property
    def satisfied(self) -> bool:
        return self.max <= self.tol

    def rows(self) -> list[tuple[str, str, float, bool]]:
        vals = (self.stationarity, self.primal_feasibility, self.dual_feasibility, self.complementary_slackness)
        return [(c, f, v, v <= self.tol) for c, f, v in zip(CONDITIONS, FORMULAS, vals)]

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(max=self.max, satisfied=self.satisfied)
        return d


def jacobian(fn, x: torch.Tensor) -> torch.Tensor:
    """∂fn/∂x at ``x`` [n] by reverse-mode autograd: [n] for a scalar fn, [m, n] for fn -> [m] (m may be 0).

    ``torch.autograd.functional`` rather than ``torch.func``: the same products, but the first ``torch.func`` call
    imports ``torch._dynamo`` (seconds), which a one-off KKT check should not pay."""
    out = fn(x)
    if out.dim() and not out.numel():
        return x.new_zeros(0, x.numel())
    return AF.jacobian(fn, x)


def lagrangian_gradient(problem: ConstrainedProblem, x: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    """∇_x L(x, ν) = ∇f(x) + J_c(x)ᵀ ν, shape [n]."""
    return jacobian(lambda z: problem.f(z) + (problem.c(z) * nu).sum(), x)


def residuals(problem: ConstrainedProblem, x: torch.Tensor, nu: torch.Tensor, tol: float) -> KKTResiduals:
    """The four KKT residuals at (x, ν); ν [m] in constraint order."""
    c = problem.c(x)
    eq = problem.eq_mask
    stat = float(lagrangian_gradient(problem, x, nu).abs().max())
    if not c.numel():
        return KKTResiduals(stat, 0.0, 0.0, 0.0, tol)
    primal = float(torch.where(eq, c.abs(), c.clamp_min(0)).max())
    mu = nu[~eq]
    dual = float((-mu).clamp_min(0).max()) + 0.0 if mu.numel() else 0.0   # + 0.0: no -0
    comp = float((nu * c).abs().max())
    return KKTResiduals(stat, primal, dual, comp, tol)


def active_mask(problem: ConstrainedProblem, x: torch.Tensor, nu: torch.Tensor, tol: float) -> torch.Tensor:
    """Equalities, and inequalities with g_i(x) ≥ −tol or μ_i > tol: [m] bool."""
    c = problem.c(x)
    return problem.eq_mask | (c >= -tol) | (nu > tol)


def estimate_multipliers(problem: ConstrainedProblem, x: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """ν minimising ‖∇f(x) + Σ_{k active} ν_k ∇c_k(x)‖₂ with μ_i ≥ 0 on inequalities, 0 off the active set.

    A bounded linear least-squares problem (scipy ``lsq_linear``, exact for this convex quadratic)."""
    from scipy.optimize import lsq_linear

    nu = torch.zeros(problem.m, dtype=torch.float64)
    idx = torch.nonzero(active).reshape(-1)
    if not idx.numel():
        return nu
    J = jacobian(problem.c, x)[idx]
    gf = jacobian(problem.f, x)
    eq = problem.eq_mask[idx]
    lo = [-float("inf") if e else 0.0 for e in eq.tolist()]
    sol = lsq_linear(J.T.numpy(), (-gf).numpy(), bounds=(lo, [float("inf")] * len(lo)), method="bvls",
                     tol=1e-15, lsmr_tol=None)
    nu[idx] = torch.as_tensor(sol.x, dtype=torch.float64)
    return nu


@dataclass(frozen=True)
class SecondOrder(Result):
    """Second-order test of the Lagrangian at a KKT point: ``verdict`` ``sufficient`` (strict local minimum),
    ``violated`` (not a local minimum), ``unknown``; ``eigenvalues`` of the reduced Hessian Zᵀ∇²L Z (ascending,
    Z an orthonormal basis [n, d] of the null space of the active gradients) and why."""

    verdict: str
    eigenvalues: torch.Tensor
    reason: str


def reduced_lagrangian(problem: ConstrainedProblem, x: torch.Tensor, nu: torch.Tensor, active: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """(∇²L [n, n] symmetrised, Z [n, d] an orthonormal basis of the null space of the active gradients, whether
    those gradients are linearly independent)."""
    H = AF.hessian(lambda z: problem.f(z) + (problem.c(z) * nu).sum(), x)
    H = 0.5 * (H + H.T)
    idx = torch.nonzero(active).reshape(-1)
    if idx.numel():
        J = jacobian(problem.c, x)[idx]
        U, S, Vh = torch.linalg.svd(J, full_matrices=True)
        rank = int((S > 1e-10 * max(1.0, float(S.max()) if S.numel() else 1.0)).sum())
        return H, Vh[rank:].T, rank == idx.numel()
    return H, torch.eye(problem.n, dtype=torch.float64), True


def decrement_gap(problem: ConstrainedProblem, x: torch.Tensor, nu: torch.Tensor, active: torch.Tensor) -> float:
    """How much f may still fall from x along the active constraints, by the Newton decrement of L.

    With r = Zᵀ∇L(x) and Zᵀ∇²L Z = V diag(w) Vᵀ (Z from :func:`reduced_lagrangian`), c = Vᵀr:

        gap = ½ Σ_{w_i > ω} c_i² / w_i  +  Σ_{w_i <= ω} |c_i| · max(1, ‖x‖∞),      ω = n·ε·max(1, max|w|)

    the first sum is the decrease the quadratic model predicts (½λ², λ the Newton decrement; f(x) − p* <= λ² for
    self-concordant f, Boyd & Vandenberghe §9.5), the second a linear model's over the problem's scale where the
    curvature is zero to rounding. An approximate KKT point where the gradient is small only because f flattens
    out has a large gap: √(1+x²) − x at x = 23099 has f' = −9.4e-10 but f'' = 8e-14, gap 5.5e-6 (f − inf f = 2.2e-5).
    """
    H, Z, _ = reduced_lagrangian(problem, x, nu, active)
    if Z.shape[1] == 0:
        return 0.0
    r = Z.T @ lagrangian_gradient(problem, x, nu)
    w, V = torch.linalg.eigh(Z.T @ H @ Z)
    c = V.T @ r
    omega = Z.shape[1] * torch.finfo(torch.float64).eps * max(1.0, float(w.abs().max()))
    curved = w > omega
    model = 0.5 * float((c[curved] ** 2 / w[curved]).sum())
    flat = float(c[~curved].abs().sum()) * max(1.0, float(x.abs().max()))
    return model + flat


def second_order(problem: ConstrainedProblem, x: torch.Tensor, nu: torch.Tensor, active: torch.Tensor,
                 tol: float) -> SecondOrder:
    """Reduced-Hessian test (Nocedal & Wright, Thms 12.5 and 12.6)."""
    H, Z, independent = reduced_lagrangian(problem, x, nu, active)
    idx = torch.nonzero(active).reshape(-1)
    eq = problem.eq_mask
    degenerate = bool(((~eq[idx]) & (nu[idx].abs() <= tol)).any())
    if Z.shape[1] == 0:
        # an active inequality with μ = 0 does not fix x: the critical cone keeps the directions into its interior
        # (−x² s.t. x ≥ 0 at 0), which the null space of the active gradients leaves out
        if degenerate:
            return SecondOrder("unknown", torch.zeros(0, dtype=torch.float64),
                               "an active inequality has a zero multiplier (degenerate): the directions into it "
                               "are not tested")
        return SecondOrder("sufficient" if independent else "unknown", torch.zeros(0, dtype=torch.float64),
                           "the active constraints fix x (no feasible direction to curve along)" if independent
                           else "active gradients are dependent")
    eig = torch.linalg.eigvalsh(Z.T @ H @ Z)
    zero = tol * max(1.0, float(eig.abs().max()))
    if float(eig.min()) < -zero:
        if independent:
            return SecondOrder("violated", eig, "the Lagrangian's Hessian has negative curvature along the "
                                                "active constraints: not a local minimum")
        return SecondOrder("unknown", eig, "negative reduced curvature, but the active gradients are dependent")
    if float(eig.min()) > zero and not degenerate:
        return SecondOrder("sufficient", eig, "reduced Hessian positive definite, active multipliers positive")
    why = ("an active inequality has a zero multiplier (degenerate)" if degenerate
           else f"a reduced-Hessian eigenvalue is within {zero:.2g} of zero")
    return SecondOrder("unknown", eig, why)


def lagrangian(problem: ConstrainedProblem) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
    """L(x, λ, μ) = f + Σ λ_j h_j + Σ μ_i g_i as a sympy expression, with its multiplier symbols in constraint
    order (λ1, λ2, ... for equalities, μ1, μ2, ... for inequalities)."""
    syms, L = [], problem.objective.sympy
    counts = {"eq": 0, "ineq": 0}
    for c in problem.constraints:
        counts[c.kind] += 1
        s = sympy.Symbol(f"{'lambda' if c.kind == 'eq' else 'mu'}{counts[c.kind]}", real=True)
        syms.append(s)
        L = L + s * c.sympy
    return L, tuple(syms)


def _convex_quadratic(expr: sympy.Expr, symbols, affine_only: bool = False) -> bool:
    """Exactly: a polynomial of degree ≤ 1 (or ≤ 2 with a constant PSD Hessian, unless ``affine_only``)."""
    if expr.has(sympy.Abs, sympy.Max, sympy.Min):
        return False
    try:
        poly = budget.poly(expr, *symbols)      # PolynomialError past the work budget too
    except sympy.PolynomialError:
        return False
    if not all(c.is_number and c.is_real for c in poly.coeffs()):
        return False
    if poly.total_degree() <= 1:
        return True
    if affine_only or poly.total_degree() > 2:
        return False
    H = sympy.hessian(poly.as_expr(), symbols)
    return bool(H.is_positive_semidefinite)


CONVEX_WORDS = ("convex", "strictly_convex", "strongly_convex")


def _convex_function(expr, time_budget: float) -> tuple[bool, str]:
    """Convex on the whole space (``expr`` an :class:`~losslens.expr.Expression`): the exact quadratic check, else
    :func:`losslens.convexity.check_convexity` (composition rules, symbolic and interval Hessians) when its verdict
    holds on the whole space."""
    if _convex_quadratic(expr.sympy, expr.symbols):
        return True, "a quadratic with constant PSD Hessian (or affine)"
    from ..convexity import check_convexity

    verdict = check_convexity(expr, time_budget=time_budget)
    if verdict.verdict in CONVEX_WORDS and verdict.domain.get("kind") == "whole_space":
        return True, f"{verdict.verdict} on the whole space (convexity checker)"
    return False, f"convexity checker: {verdict.verdict} on the whole space"


def prove_convex(problem: ConstrainedProblem, time_budget: float = 1.0) -> tuple[bool, str]:
    """(True, why) when the problem is proved convex: f and every g_i convex on the whole space, every h_j affine
    (exact sympy check); (False, what could not be shown) otherwise. ``time_budget`` seconds per function for the
    convexity checker."""
    syms = problem.symbols
    ok, why = _convex_function(problem.objective.expression, time_budget)
    if not ok:
        return False, f"convexity of f not proved ({why})"
    reasons = [f"f: {why}"]
    for c in problem.constraints:
        if c.kind == "eq":
            if not _convex_quadratic(c.sympy, syms, affine_only=True):
                return False, f"equality {c.text!r} is not affine, so the feasible set need not be convex"
            continue
        ok, why_c = _convex_function(c.expression, time_budget)
        if not ok:
            return False, f"convexity of inequality {c.text!r} not proved ({why_c})"
        reasons.append(f"{c.text}: {why_c}")
    reasons.append("equalities affine")
    return True, "; ".join(reasons)
