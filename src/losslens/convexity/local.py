"""Local convexity: a non-convex loss is still convex near its minima.

``local_convexity(f, p)`` finds the largest cube ``B_r(p) = {x : |x − p|_∞ <= r}`` (intersected with the natural
domain) on which ``∇²f ⪰ 0`` is proved by interval arithmetic (:func:`~losslens.convexity.prove.
prove_interval_hessian`), by bisection on ``r`` between a proved radius and a failed one. Just outside, it reports
the point of ``B_{r_fail}(p)`` nearest to ``p`` where the Hessian is proved not PSD: ``vᵀ∇²f(x)v / |v|² <= c < 0``
for an eigenvector ``v``, ``c`` checked in interval arithmetic.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import sympy
import torch
from torch.func import hessian, vmap

from .. import budget
from ..budget import BudgetExceeded
from ..objective import Box
from ..results import Result, VariablesAlias
from ..validation import InputError, check_float, check_int
from .check import as_objective, domain_convexity
from .prove import IntervalOutcome, Proof, prove_interval_hessian
from .refute import verify_negative_curvature
from .region import Region

MAX_BOXES_PER_RADIUS = 400     # interval sub-boxes tried for one radius of the bisection (work budget)


@dataclass(frozen=True)
class LocalConvexity(VariablesAlias, Result):
    """Around ``point`` [n]: ``radius`` (half-width of the largest cube proved convex; 0 if none), its ``proof``;
    ``failed_radius``: the smallest half-width tried where the proof failed (None if every radius up to
    ``max_radius`` was proved); ``failure_point`` [n] and ``failure_curvature`` (proved upper bound < 0 of
    vᵀ∇²f v/|v|² there) when a non-convex point was found inside that cube; ``reason``: one line."""

    expression: str
    names: tuple[str, ...]
    point: tuple[float, ...]
    radius: float
    proof: Proof | None
    failed_radius: float | None
    failure_point: tuple[float, ...] | None
    failure_curvature: float | None
    reason: str
    seconds: float

    @property
    def verdict(self) -> str:
        """``convex_near_point`` when a cube of positive half-width is proved convex, else ``unknown``."""
        return "convex_near_point" if self.radius > 0 else "unknown"

    @property
    def box(self) -> Box | None:
        if self.radius <= 0:
            return None
        return Box(tuple(p - self.radius for p in self.point), tuple(p + self.radius for p in self.point))


def local_convexity(objective, around, *, vars=None, max_radius: float | None = None, steps: int = 14,
                    time_budget: float = 10.0, seed: int = 0) -> LocalConvexity:
    """Largest cube around ``around`` on which ``f`` is proved convex, and the nearest proved failure outside it.

    ``around``: the point (text ``"1,2"`` or [n] numbers); ``max_radius``: largest half-width tried (default
    ``1 + |p|_∞``); ``steps``: bisection steps on the radius; ``time_budget``: seconds, a safety net only: each
    radius is decided by at most :data:`MAX_BOXES_PER_RADIUS` interval sub-boxes (a work budget).

    >>> r = local_convexity("x^4 - x^2", "1")      # f'' = 12x² − 2 >= 0 iff |x| >= 1/sqrt(6) ≈ 0.408
    >>> 0.55 < r.radius <= 1 - 6 ** -0.5
    True
    """
    t0 = time.monotonic()
    obj = as_objective(objective, vars)
    p = obj.point(around, "around").tolist()
    steps = check_int("steps", steps, lo=1, hi=60)
    time_budget = check_float("time_budget", time_budget, lo=0, lo_open=True)
    if max_radius is None:
        max_radius = 1.0 + max(abs(v) for v in p)
    max_radius = check_float("max_radius", max_radius, lo=0, lo_open=True)
    if not all(math.isfinite(v - max_radius) and math.isfinite(v + max_radius) for v in p):
        raise InputError(f"around == {p}: the cube of half-width {max_radius:g} around it leaves the float64 range; "
                         f"give a point nearer the origin or a smaller max_radius")
    deadline = t0 + time_budget
    expr = obj.expression
    whole = Region.of(expr, None)
    if not whole.contains(p, strict=True):
        raise InputError(f"around == {p}: the point is not inside the natural domain of {expr.text} "
                         f"({', '.join(str(c) for c in whole.conditions)})")
    if expr.sympy.has(sympy.Abs, sympy.Max, sympy.Min, sympy.sign, sympy.Heaviside):
        raise InputError(f"expression {expr.text!r} is not smooth (abs, max, min, relu): local convexity needs a "
                         f"Hessian; give a box instead (losslens convex EXPR --box ..., or check_convexity(f, box))")
    try:
        H = budget.hessian(expr.sympy, expr.symbols)
    except BudgetExceeded as err:
        raise InputError(f"expression {expr.text[:40]!r} is too large for a local convexity proof: {err}") from None

    def attempt(r):
        cube = Box(tuple(v - r for v in p), tuple(v + r for v in p))
        env = Region(whole.symbols, cube, ()).env()
        region = Region(whole.symbols, cube, tuple(c for c in whole.conditions if c.holds(env) is not True))
        if not domain_convexity(region, deadline)[0]:
            return IntervalOutcome(None, "the cube meets a part of the domain that is not proved convex"), region
        # the box count decides each attempt (same answer on any machine); the deadline is only the safety net
        return prove_interval_hessian(H, region, region.box.lo, region.box.hi, deadline=deadline,
                                      max_boxes=MAX_BOXES_PER_RADIUS), region

    good, good_proof, bad = 0.0, None, None
    out, _ = attempt(max_radius)
    if out.proof is not None:
        good, good_proof = max_radius, out.proof
    else:
        bad = max_radius
        lo_r, hi_r = 0.0, max_radius
        for _ in range(steps):
            if time.monotonic() > deadline:
                break
            r = (lo_r + hi_r) / 2
            out, _ = attempt(r)
            if out.proof is not None:
                lo_r, good, good_proof = r, r, out.proof
            else:
                hi_r = bad = r
    timed_out = time.monotonic() > deadline
    fp, fc = (None, None) if bad is None else _nearest_failure(obj, H, whole, p, bad, seed)
    if good_proof is None:
        reason = (f"no convex cube proved around {p} (down to half-width {bad:.3g})"
                  + (f"; ∇²f is not PSD at {list(fp)}" if fp else ""))
    elif bad is None:
        reason = f"convex on the whole cube of half-width {good:.6g} around {p} (the largest tried)"
    else:
        reason = (f"convex on the cube of half-width {good:.6g} around {p}; not proved at half-width {bad:.6g}"
                  + (f"; ∇²f is not PSD at {[round(v, 6) for v in fp]} (vᵀHv/|v|² <= {fc:.3g})" if fp else ""))
    if timed_out:
        reason += f"; stopped by the time safety net ({time_budget:g} s), the radius may be larger"
    return LocalConvexity(expr.text, expr.variables, tuple(p), good, good_proof, bad, fp, fc, reason,
                          time.monotonic() - t0)


def _nearest_failure(obj, H, region, p, r, seed, m: int = 4096):
    """The sampled point of the cube B_r(p) nearest to p (∞-norm) where ∇²f is proved not PSD."""
    box = Box(tuple(v - r for v in p), tuple(v + r for v in p))
    X = box.sample(m, seed=seed)
    # half of the samples on the faces of the cube: the failure is often a thin shell just outside the proved cube
    g = torch.Generator().manual_seed(seed + 1)
    k = torch.randint(len(p), (m // 2,), generator=g)
    side = torch.randint(2, (m // 2,), generator=g).to(X.dtype) * 2 - 1
    X[: m // 2, :][torch.arange(m // 2), k] = torch.tensor(p, dtype=X.dtype)[k] + side * r
    with torch.no_grad():
        Hs = vmap(hessian(obj.f))(X)
    ok = torch.isfinite(Hs).flatten(1).all(1)
    X, Hs = X[ok], Hs[ok]
    if not len(X):
        return None, None
    evals, evecs = torch.linalg.eigh(Hs)
    neg = evals[:, 0] < -1e-12 * evals.abs().amax(1).clamp_min(1.0)
    P = torch.tensor(p, dtype=X.dtype)
    dist = (X - P).abs().amax(1)
    dist = torch.where(neg, dist, torch.full_like(dist, math.inf))
    for i in torch.argsort(dist)[:16].tolist():
        if not math.isfinite(float(dist[i])):
            break
        x, v = X[i].tolist(), evecs[i, :, 0].tolist()
        if not region.contains(x, strict=True):
            continue
        c = verify_negative_curvature(H, region, x, v)
        if c is not None:
            return tuple(x), c
    return None, None
