"""Why a run stopped: the verdict words, their thresholds and the evidence behind them.

Every threshold is relative to the objective's own scale, measured once per run (:func:`measure_scale`):

* ``ℓ`` (length)  the diameter of the *region*: the objective's box, or without one the cube
  ``x0 ± max(1, ‖x0‖∞)`` around the start.
* ``G`` (slope)   the mean gradient norm ``mean ‖∇f‖`` over ``samples`` seeded uniform points of the region
  (non-finite samples skipped and counted). In 1-D this is the average |slope|, the total variation divided by the
  width. When the finite norms span more than ``1/sqrt(eps)`` (largest / median, e.g. ``exp(exp(x))`` on [0, 6]:
  1e177 / 1e10) the mean says nothing about a typical point and would accept any gradient as critical, so ``G`` is
  the *median* instead (``statistic`` says which). A scale that is not a positive finite number makes the verdict
  ``unknown``, never ``converged``.
* ``gtol = tol · G``  (``tol`` = 1e-6 by default): a point with ‖g‖ <= gtol counts as critical.
* ``gslow = slow · G`` (``slow`` = 2e-2): a gradient under 2% of the average slope is *small*.
* ``ζ = sqrt(eps) · max(1, max|λ|)``: a Hessian eigenvalue with |λ| <= ζ counts as zero (as in
  :func:`losslens.classify_point`).

The verdict at the last recorded step ``K`` (first match wins):

============================  ====================================================================================
``diverged``                  a value, gradient or point became non-finite (``step`` is where), or over the last
                              ``w = min(10, K)`` steps both f and ‖g‖ grew at every step and f_K > f_0.
``converged``                 ‖g_K‖ <= gtol, every Hessian eigenvalue > ζ, and the Hessian changes by at most
                              ½λ_min across twice the Newton step (:func:`losslens.classify.curvature_change`: a
                              strict local minimum within reach by Newton–Kantorovich).
``stalled_at_saddle``         ‖g_K‖ <= gtol and some eigenvalue < -ζ (evidence: λ_min and its eigenvector, the
                              escape direction); or ‖g_K‖ < gslow with a negative eigenvalue and the quadratic
                              model's critical point ``x - H⁻¹g`` within ``0.01 ℓ`` (approaching a saddle).
``stalled_at_max``            as above with every eigenvalue < -ζ (and, when critical, the Hessian changing by at
                              most ½ min|λ| across twice the Newton step, as for ``converged``).
``plateau``                   ‖g_K‖ <= gtol with zero eigenvalues and no sign change (flat to second order: the
                              second-order test cannot tell a minimum from a saddle), or with positive ones that
                              vanish ahead (more than ½λ_min of change across twice the Newton step: Newton on x³
                              or exp(x)); or ‖g_K‖ < gslow and the
                              curvature is *flat on the region's scale* (max|λ| · ℓ < G: at this curvature the gradient would
                              not reach the mean slope across the whole region) while approaching the
                              model's critical point (x^3 from 1), or while Newton's iterates on f itself
                              (:func:`follow_newton`, n <= 100) reach a minimum or a point flat to second order
                              within ``0.5 ℓ`` with f no higher (x^4 from 1: the model's point is x/3 away,
                              the minimum x), or no longer decreasing.
``oscillating``               not critical, and at least 80% of the last ``min(20, K-1)`` pairs of consecutive steps
                              point in opposite directions (cos < 0).
``vanishing_gradient``        ‖g_K‖ < gslow yet not critical, f still decreasing, flat on the region's scale
                              (max|λ| · ℓ < G), and no critical point nearby: the quadratic model has none or puts it
                              farther than ``0.01 ℓ``, and Newton's iterates reach no minimum within ``0.5 ℓ``
                              (tanh from x = 4: f'(4) ≈ 0.0013, f''(4) ≈ -0.0027 on a box of size 8 where the mean
                              slope is 0.25; exp(-x), whose infimum is at infinity).
``max_steps``                 the step budget ran out while still making progress: a large gradient, or a small one
                              in a curved valley (max|λ| · ℓ >= G, Rosenbrock), or approaching a minimum of the
                              quadratic model within ``0.01 ℓ``.
``unknown``                   the Hessian is needed (critical, or a small gradient still decreasing) but not
                              available (n > ``DENSE_MAX``) or not finite; or the last point lies on a kink of an
                              ``abs``/``max``/``min``/``relu`` of the formula (:func:`losslens.classify.kinks`), where
                              autograd's derivatives are one branch's (x² − |x| from 0: a maximum with Hessian +2).
============================  ====================================================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..classify import curvature_change, kinks
from ..objective import Box, Objective
from ..results import Result
from ..newton_step import newton_step
from ..tolerances import default_tol, zero_threshold
from .batch import values_and_grads

VERDICTS = ("converged", "stalled_at_saddle", "stalled_at_max", "vanishing_gradient", "plateau", "oscillating",
            "diverged", "max_steps", "unknown")
TOL = 1e-6
SLOW = 2e-2
NEAR = 1e-2
FOLLOW = 0.5            # a minimum reached by Newton's iterates within this fraction of ℓ is "ahead"
FOLLOW_STEPS = 30
FOLLOW_MAX_N = 100
OSCILLATION = 0.8
DENSE_MAX = 2000
SAMPLES = 256


@dataclass(frozen=True)
class Scale(Result):
    """The objective's scale around a run: region diameter ``length`` ℓ, mean gradient norm ``slope`` G over
    ``samples`` points of ``region``, the critical tolerance ``gtol`` and the small-gradient threshold ``gslow``;
    ``nonfinite``: samples whose gradient overflowed (skipped); ``statistic``: ``mean`` or ``median`` (see above)."""

    region: Box
    length: float
    slope: float
    gtol: float
    gslow: float
    samples: int
    tol: float
    slow: float
    nonfinite: int = 0
    statistic: str = "mean"

    @property
    def finite(self) -> bool:
        """Are the thresholds positive finite numbers (usable in a comparison)?"""
        return all(math.isfinite(v) and v > 0 for v in (self.slope, self.gtol, self.gslow))


def scale_region(objective: Objective, start: torch.Tensor) -> Box:
    if objective.box is not None:
        return objective.box
    h = max(1.0, float(start.abs().max()))
    return Box(tuple(float(v) - h for v in start), tuple(float(v) + h for v in start))


def measure_scale(objective: Objective, start: torch.Tensor, tol: float = TOL, slow: float = SLOW, seed: int = 0,
                  samples: int = SAMPLES) -> Scale:
    """ℓ, G, gtol and gslow for a run of ``objective`` from ``start`` (see the module docstring)."""
    region = scale_region(objective, start)
    lo, hi = region.tensors(objective.dtype)
    length = float(torch.linalg.vector_norm(hi - lo))
    _, g = values_and_grads(objective, region.sample(samples, seed=seed, dtype=objective.dtype))
    norms = torch.linalg.vector_norm(g, dim=1)
    finite = torch.isfinite(norms)
    nonfinite = int((~finite).sum())
    norms = norms[finite]
    slope, statistic = (float(norms.mean()) if len(norms) else math.nan), "mean"
    if len(norms):
        median = float(norms.median())
        if float(norms.max()) > median / math.sqrt(torch.finfo(objective.dtype).eps) or not math.isfinite(slope):
            slope, statistic = median, "median"
    if not math.isfinite(slope) or slope == 0.0:
        # constant (or nowhere finite) on the region: fall back to the start's gradient, at least the float tiny
        _, g0 = values_and_grads(objective, start[None])
        slope = max(float(torch.linalg.vector_norm(g0)), torch.finfo(objective.dtype).tiny) \
            if torch.isfinite(g0).all() else 1.0
    return Scale(region, length, slope, tol * slope, slow * slope, samples, tol, slow, nonfinite, statistic)


@dataclass(frozen=True)
class Verdict(Result):
    """What happened, with its evidence.

    ``verdict`` (one of :data:`VERDICTS`), ``reason`` (one line with the numbers), ``step`` (the step the evidence
    is from: the last recorded step, or the first non-finite one), ``value`` and ``gradient_norm`` there,
    ``eigenvalues`` [n] ascending (None when not computed), ``escape_direction`` [n] (unit eigenvector of the most
    negative eigenvalue, None when there is none), ``model_distance`` (‖H⁺g‖, the distance to the critical point of
    the local quadratic model; None when not computed), ``reversals`` (fraction of reversing step pairs in the last
    window).
    """

    verdict: str
    reason: str
    step: int
    value: float
    gradient_norm: float
    eigenvalues: torch.Tensor | None = None
    escape_direction: torch.Tensor | None = None
    model_distance: float | None = None
    reversals: float | None = None


def reversal_fraction(points: torch.Tensor, window: int = 20) -> float | None:
    """Fraction of the last ``window`` consecutive step pairs (d_k, d_{k+1}) with d_k · d_{k+1} < 0."""
    d = points.diff(dim=0)
    if len(d) < 3:
        return None
    d = d[-(window + 1):]
    dots = (d[1:] * d[:-1]).sum(dim=1)
    return float((dots < 0).double().mean())


def _growing(values: torch.Tensor, gnorms: torch.Tensor) -> bool:
    K = len(values) - 1
    if K < 2:
        return False
    w = min(10, K)
    return bool((values[-w - 1:].diff() > 0).all() and (gnorms[-w - 1:].diff() > 0).all()
                and values[-1] > values[0])


def _curvature(objective: Objective, x: torch.Tensor, g: torch.Tensor):
    """Ascending eigenvalues, eigenvectors, ζ and the model distance ‖H⁺g‖ (None when n is too large)."""
    if objective.n > DENSE_MAX:
        return None
    H = objective.hessian(x)
    H = 0.5 * (H + H.T)
    if not torch.isfinite(H).all():
        return None
    lam, V = torch.linalg.eigh(H)
    zeta = float(zero_threshold(lam))
    inv = torch.where(lam.abs() > zeta, 1.0 / torch.where(lam == 0, torch.ones_like(lam), lam), torch.zeros_like(lam))
    singular = bool((lam.abs() <= zeta).any())
    dist = float(torch.linalg.vector_norm(V @ (inv * (V.T @ g))))
    return lam, V, zeta, dist, singular


def follow_newton(objective: Objective, x: torch.Tensor, gtol: float, steps: int = FOLLOW_STEPS):
    """Newton's iterates ``x ← x − H⁺∇f(x)`` on f itself (:func:`~losslens.newton_step.newton_step`, undamped,
    relative eigenvalues below ``default_tol`` dropped) from ``x`` until ‖∇f‖ <= ``gtol``; returns (the point reached,
    its distance from ``x``, its value, its ascending Hessian eigenvalues) or None when no critical point is reached
    within ``steps`` iterations (or a number overflows).

    One quadratic model puts a degenerate minimum too far: on x⁴ at x its critical point is x/3 away while the
    minimum is x away; the iterates (x → 2x/3 each) reach it. A saturated function has no critical point to reach
    (tanh: the iterates climb; exp(−x): they run off, |grad| becoming small only many region sizes away).
    """
    y = x.clone()
    for _ in range(steps + 1):
        f, g = values_and_grads(objective, y[None])
        H = objective.hessian(y)
        H = 0.5 * (H + H.T)
        if not (torch.isfinite(g).all() and torch.isfinite(H).all()):
            return None
        lam, V = torch.linalg.eigh(H)
        if float(torch.linalg.vector_norm(g[0])) <= gtol:
            return y, float(torch.linalg.vector_norm(y - x)), float(f[0]), lam
        y = y + newton_step(lam, V, g[0], drop=default_tol(lam.dtype))
    return None


def judge(objective: Objective, points: torch.Tensor, values: torch.Tensor, gnorms: torch.Tensor,
          scale: Scale, nonfinite_step: int | None = None) -> Verdict:
    """The verdict for a trajectory: ``points`` [K+1, n], ``values`` [K+1], ``gnorms`` [K+1] (see the table above)."""
    K = len(values) - 1
    if nonfinite_step is not None:
        return Verdict("diverged", f"value, gradient or point became non-finite at step {nonfinite_step}",
                       nonfinite_step, float(values[-1]), float(gnorms[-1]))
    fK, gK, x = float(values[-1]), float(gnorms[-1]), points[-1]
    if not scale.finite:
        return Verdict("unknown", f"the objective's scale is not finite (mean slope {scale.slope:.3g}, gtol "
                       f"{scale.gtol:.3g}): no tolerance to compare |grad| = {gK:.3g} with", K, fK, gK)
    if _growing(values, gnorms):
        w = min(10, K)
        rate = float((gnorms[-1] / gnorms[-w - 1]) ** (1.0 / w))
        return Verdict("diverged", f"f and |grad| grew at each of the last {w} steps (|grad| x{rate:.3g} per step), "
                       f"f {float(values[0]):.4g} -> {fK:.4g}", K, fK, gK)
    on = kinks(objective, x, default_tol(x.dtype))
    if on:
        return Verdict("unknown", f"stopped on a kink of {', '.join(on)}: autograd's gradient (|grad| = {gK:.3g}) "
                       "and Hessian there are one branch's, so no derivative test applies", K, fK, gK)
    _, g = values_and_grads(objective, x[None])
    curv = _curvature(objective, x, g[0])
    rev = reversal_fraction(points)
    base = dict(step=K, value=fK, gradient_norm=gK, reversals=rev)
    if curv is not None:
        lam, V, zeta, dist, singular = curv
        esc = V[:, 0] if lam[0] < -zeta else None
        base.update(eigenvalues=lam, escape_direction=esc, model_distance=dist)
        pos, neg = int((lam > zeta).sum()), int((lam < -zeta).sum())
    eig = "" if curv is None else f", eigenvalues {[float(f'{v:.4g}') for v in lam]}"
    if gK <= scale.gtol:
        crit = f"|grad| = {gK:.3g} <= gtol = {scale.gtol:.3g}"
        if curv is None:
            return Verdict("unknown", f"{crit}, but the Hessian is not available (n > {DENSE_MAX} or not finite)",
                           **base)
        if neg and pos:
            return Verdict("stalled_at_saddle", f"{crit}{eig}: a saddle, escape along the eigenvector of "
                           f"{float(lam[0]):.4g}", **base)
        vanishing = (f"{crit}{eig}, but across twice the Newton step (|H^-1 g| = {dist:.3g}) the Hessian changes "
                     "by {change:.3g} > half its smallest |eigenvalue|: the curvature vanishes ahead, so no strict "
                     "{what} is shown (one flat to second order, an inflection, or none)")
        if neg and neg == len(lam):
            change = curvature_change(objective, x, g[0], lam, V)
            if change <= 0.5 * float(lam.abs().min()):
                return Verdict("stalled_at_max", f"{crit}{eig}: a local maximum", **base)
            return Verdict("plateau", vanishing.format(change=change, what="maximum"), **base)
        if neg:
            return Verdict("stalled_at_saddle", f"{crit}{eig}: negative curvature, escape along the eigenvector of "
                           f"{float(lam[0]):.4g}", **base)
        if pos == len(lam):
            change = curvature_change(objective, x, g[0], lam, V)
            if change <= 0.5 * float(lam[0]):
                return Verdict("converged", f"{crit}{eig}: a strict local minimum", **base)
            return Verdict("plateau", vanishing.format(change=change, what="minimum"), **base)
        return Verdict("plateau", f"{crit}{eig}: flat to second order (zero eigenvalues within {zeta:.3g}); the "
                       "second-order test cannot tell a minimum from a saddle", **base)
    if rev is not None and rev >= OSCILLATION:
        return Verdict("oscillating", f"{rev:.0%} of the last step pairs reverse direction; |grad| = {gK:.3g} "
                       f"> gtol = {scale.gtol:.3g}", **base)
    if gK < scale.gslow:
        small = f"|grad| = {gK:.3g} < {scale.slow:g} x mean slope {scale.slope:.3g}"
        near = curv is not None and not singular and dist <= NEAR * scale.length
        flat = curv is not None and float(lam.abs().max()) * scale.length < scale.slope
        curv_txt = "" if curv is None else (
            f"; max|λ| x region size = {float(lam.abs().max()) * scale.length:.3g} "
            f"{'<' if flat else '>='} mean slope")
        w = min(10, K)
        decreasing = K > 0 and float(values[-1]) < float(values[-w - 1])
        if flat and not near and objective.n <= FOLLOW_MAX_N:
            reached = follow_newton(objective, x, scale.gtol)
            if reached is not None:
                _, ahead, f_ahead, lam_ahead = reached
                if (ahead <= FOLLOW * scale.length and f_ahead <= fK
                        and bool((lam_ahead >= -zero_threshold(lam_ahead)).all())):
                    base.update(model_distance=ahead)
                    return Verdict("plateau", f"{small}{eig}{curv_txt}; Newton's iterates from here reach a "
                                   f"minimum, or a point flat to second order, {ahead:.3g} away (<= {FOLLOW:g} x "
                                   f"region size {scale.length:.3g}) with f no higher: approaching a minimum that "
                                   "is flat to second order", **base)
        if near:
            where = f"the quadratic model's critical point is {dist:.3g} away (<= {NEAR:g} x region size " \
                    f"{scale.length:.3g})"
            if neg and neg < len(lam):
                return Verdict("stalled_at_saddle", f"{small}{eig}; {where}: approaching a saddle", **base)
            if neg:
                return Verdict("stalled_at_max", f"{small}{eig}; {where}: approaching a maximum", **base)
            if flat:
                return Verdict("plateau", f"{small}{eig}{curv_txt}; {where}: approaching a critical point that "
                               "is flat to second order", **base)
            return Verdict("max_steps", f"budget of {K} steps used; {small}; {where}, a minimum of the model", **base)
        far = ("the Hessian is not available" if curv is None else
               "the quadratic model has no critical point (singular Hessian)" if singular else
               f"the quadratic model's critical point is {dist:.3g} away (> {NEAR:g} x region size "
               f"{scale.length:.3g})")
        if flat and decreasing:
            return Verdict("vanishing_gradient", f"{small} and f still decreasing, yet not critical; {far}"
                           f"{curv_txt}: saturated, flat to second order", **base)
        if flat or (curv is None and not decreasing):
            return Verdict("plateau", f"{small}; f {'still' if decreasing else 'no longer'} decreasing over the "
                           f"last {w} steps; {far}{curv_txt}", **base)
        if curv is None:
            return Verdict("unknown", f"{small} and f still decreasing, not critical; the Hessian is not available "
                           "to tell a saturated region from a narrow valley", **base)
        return Verdict("max_steps", f"budget of {K} steps used; {small}{eig}{curv_txt}: a narrow curved valley "
                       f"(condition number {float(lam.abs().max() / lam.abs().min().clamp(min=zeta)):.3g})", **base)
    return Verdict("max_steps", f"budget of {K} steps used while still moving: |grad| = {gK:.3g} "
                   f"(mean slope {scale.slope:.3g}){eig}", **base)
