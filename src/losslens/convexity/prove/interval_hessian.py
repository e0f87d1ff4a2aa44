"""3. The interval Hessian on a box, bisected where a bound fails (see :mod:`losslens.convexity.prove`)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy
from mpmath import iv

from .. import _interval as I
from ..region import Region
from .proof import Proof


def interval_hessian(H: sympy.Matrix, region: Region, lo, hi):
    env = region.env(lo, hi)
    n = H.rows
    M = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            M[i][j] = M[j][i] = I.evaluate(H[i, j], env)
    return M


def lambda_min_lower(M) -> float:
    """Rigorous lower bound of λ_min over every symmetric matrix in the interval matrix ``M`` (-inf if none)."""
    n = len(M)
    if not all(I.is_finite(M[i][j]) for i in range(n) for j in range(n)):
        return -mpmath.inf
    g = None
    for i in range(n):
        row = iv.mpf(M[i][i].a)
        for j in range(n):
            if j != i:
                row = row - iv.mpf(max(abs(M[i][j].a), abs(M[i][j].b)))
        g = row.a if g is None else min(g, row.a)
    if n == 1:
        return float(g)
    w = _weyl_bound(M)   # often tighter than Gershgorin, so it is tried even when Gershgorin already proves PSD
    return float(max(g, w))


def _weyl_bound(M) -> float:
    n = len(M)
    Hc = np.array([[float(M[i][j].mid) for j in range(n)] for i in range(n)])
    Hc = (Hc + Hc.T) / 2
    ev = np.linalg.eigvalsh(Hc)
    L = float(ev[0] - 1e-9 * (1 + abs(ev).max()))
    if not _interval_cholesky_pd([[iv.mpf(Hc[i, j]) - (iv.mpf(L) if i == j else 0) for j in range(n)]
                                  for i in range(n)]):
        return -mpmath.inf
    r2 = iv.mpf(0)
    for i in range(n):
        for j in range(n):
            r = max(abs(M[i][j].a - Hc[i, j]), abs(M[i][j].b - Hc[i, j]))
            r2 = r2 + iv.mpf(r) ** 2
    return float((iv.mpf(L) - iv.sqrt(r2)).a)


def _interval_cholesky_pd(A) -> bool:
    """Interval Cholesky: success (all pivots > 0) proves every matrix in ``A`` positive definite."""
    n = len(A)
    Lm = [[iv.mpf(0)] * n for _ in range(n)]
    for j in range(n):
        d = A[j][j] - sum((Lm[j][k] ** 2 for k in range(j)), iv.mpf(0))
        if not d.a > 0:
            return False
        Lm[j][j] = iv.sqrt(d)
        for i in range(j + 1, n):
            Lm[i][j] = (A[i][j] - sum((Lm[i][k] * Lm[j][k] for k in range(j)), iv.mpf(0))) / Lm[j][j]
    return True


@dataclass(frozen=True)
class IntervalOutcome:
    proof: Proof | None
    reason: str
    negative_point: tuple[float, ...] | None = None


def prove_interval_hessian(H: sympy.Matrix, region: Region, lo, hi, *, deadline=None, max_boxes: int = 3000,
                           keep_leaves: int = 2000) -> IntervalOutcome:
    """Cover ``[lo, hi]`` by sub-boxes on each of which ``λ_min(∇²f) >= bound >= 0`` is proved.

    Sub-boxes proved outside the natural domain are dropped. Stops (no proof) at ``max_boxes`` evaluations, at the
    deadline, or when the float Hessian at a small sub-box centre has a clearly negative eigenvalue (that point is
    returned as ``negative_point`` for the refuter).
    """
    n = H.rows
    lo, hi = list(map(float, lo)), list(map(float, hi))
    width0 = [b - a for a, b in zip(lo, hi)]
    queue = [(lo, hi)]
    leaves, mu, count = [], mpmath.inf, 0
    Hf = sympy.lambdify(region.symbols, H, "numpy")
    while queue:
        if deadline is not None and time.monotonic() > deadline:
            return IntervalOutcome(None, f"time budget reached after {count} boxes")
        if count >= max_boxes:
            return IntervalOutcome(None, f"not proved within {max_boxes} boxes")
        a, b = queue.pop()
        count += 1
        env = region.env(a, b)
        if any(c.holds(env) is False for c in region.conditions):
            continue
        bound = lambda_min_lower(interval_hessian(H, region, a, b))
        if bound >= 0:
            mu = min(mu, bound)
            if len(leaves) < keep_leaves:
                leaves.append({"lo": a, "hi": b, "lambda_min_lower": bound})
            continue
        c = [(u + v) / 2 for u, v in zip(a, b)]
        try:
            with np.errstate(all="ignore"):
                Hc = np.array(Hf(*c), dtype=float).reshape(n, n)
            if np.isfinite(Hc).all():
                ev = np.linalg.eigvalsh(Hc)
                if ev[0] < -1e-9 * max(1.0, abs(ev).max()) and region.contains(c, strict=True):
                    return IntervalOutcome(None, f"negative Hessian eigenvalue {ev[0]:.3g} at {c}", tuple(c))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            pass
        k = max(range(n), key=lambda i: (b[i] - a[i]) / width0[i])
        m = (a[k] + b[k]) / 2
        a2, b1 = list(a), list(b)
        b1[k] = m
        a2[k] = m
        queue.append((a2, b))
        queue.append((a, b1))
    if not leaves and count:
        return IntervalOutcome(None, "the box lies outside the natural domain")
    strength = "strongly_convex" if mu > 0 else "convex"
    trace = (f"{len(leaves) if len(leaves) < keep_leaves else 'many'} sub-boxes of [{lo}, {hi}], each with a proved "
             f"λ_min(∇²f) >= bound >= 0 (interval Hessian, Gershgorin / Weyl + interval Cholesky, outward rounding)",)
    return IntervalOutcome(Proof("interval_hessian", strength, float(mu) if mu > 0 else None, trace, tuple(leaves),
                                 len(leaves)), "proved")


def prove_interval_whole(H: sympy.Matrix, region: Region) -> Proof | None:
    """One interval evaluation of ∇²f over the whole region (infinite endpoints allowed): a bound >= 0 proves it."""
    bound = lambda_min_lower(interval_hessian(H, region, None, None) if region.box is None
                             else interval_hessian(H, region, region.box.lo, region.box.hi))
    if not bound >= 0:
        return None
    strength = "strongly_convex" if bound > 0 else "convex"
    return Proof("interval_hessian", strength, bound if bound > 0 else None,
                 (f"one interval enclosure of ∇²f over {region.describe()}: λ_min >= {bound:.6g}",))
