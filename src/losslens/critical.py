"""Every critical point of ``f`` in a box, what each one is, and which minimum is the global one (D2L 11.1).

A critical point is a zero of the gradient, ``g(x) = ∇f(x) = 0`` (``x``: [n]). The pipeline:

1. **Starts.** ``m`` scrambled Sobol points in the box ``B = [lo, hi]`` (``torch.quasirandom.SobolEngine``, seeded).
2. **Batched damped Newton on g.** All starts at once (``vmap`` of ``torch.func`` gradient and Hessian ``H``); the
   step is Levenberg–Marquardt on ``g = 0``, ``d = -(H² + μI)⁻¹ H g`` (``H`` symmetric, so ``Hᵀ = H``), which stays
   defined where ``H`` is singular, with a backtracking line search on ``‖g‖²`` (step sizes 1, 1/2, ..., 1/32).
   Newton on ``g`` converges to minima, maxima and saddles alike.
3. **Merge** the converged starts (distance ≤ ``merge_radius`` · diameter of ``B``) into candidates.
4. **Refine** each candidate in ``mpmath`` (50 digits) by Newton on the exact (sympy) gradient, so a reported point
   is a zero of ``g`` to far below float64 rounding (``residual`` = ``‖g‖`` there).
5. **Classify** with :func:`losslens.classify.classify_points` (second-order test, one batched Hessian). For points the second-order test
   cannot decide (``degenerate``): in 1-D the first non-zero derivative ``f⁽ᵏ⁾(x*)``, ``k >= 3``, decides (``k``
   even: min if ``f⁽ᵏ⁾ > 0``, max if ``< 0``; ``k`` odd: an inflection, a saddle); in n-D nearby witnesses of lower
   and higher values are reported, and the kind stays ``degenerate``.
6. **Existence certificate** (Krawczyk): on a small box ``X`` around ``x*`` with ``c = mid(X)``, ``Y ≈ H(c)⁻¹``,
   ``K(X) = c - Y g(c) + (I - Y J(X))(X - c)`` where ``J(X)`` encloses ``H`` over ``X`` (:mod:`losslens.interval`).
   ``K(X) ⊂ int X`` proves that ``X`` holds exactly one zero of ``g``; ``K(X) ∩ X = ∅`` proves it holds none.
7. **Completeness** (``n <= 3``): interval branch-and-bound over ``B``: a sub-box is discarded when an enclosure of
   some ``g_i`` excludes 0 or ``K(X) ∩ X = ∅``; it is accounted for when ``K(X) ⊂ int X`` and the one zero is a
   reported point (a zero not yet reported is refined and added); else it is bisected. ``complete`` is true only
   when every sub-box was settled this way within the time budget.
8. **Global minimum on B** (interior or boundary): interval branch-and-bound on ``f`` with lower bounds
   ``max(F(X), f(c) + G(X)·(X - c))`` (natural and mean-value forms, outward rounded) and upper bounds from values
   at points of ``B``. Certified when ``best value - lower bound <= epsilon``.

Parts of ``B`` where ``f`` is undefined (``log``, ``sqrt``) are skipped and reported: starts where ``f`` is not
finite, and sub-boxes wholly outside the natural domain.
"""
from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath
import numpy as np
import sympy
import torch
from mpmath import iv
from torch.func import grad as _grad, hessian as _hessian, vmap

from . import budget
from . import interval as I
from .budget import BudgetExceeded
from .classify import classify_points
from .objective import Box, Objective
from .results import Result
from .validation import InputError, check_float, check_int

KINDS = ("min", "max", "saddle", "degenerate")
MAX_COMPLETE_N = 3
MP_DIGITS = 50
MAX_BOXES = 4_000           # default work budget of each interval branch-and-bound, in sub-boxes
MAX_BOXES_LIMIT = 10_000_000
MAX_POINTS = 128           # distinct critical points refined, classified and certified (work budget)
HIGHER_ORDER_POINTS = 32   # degenerate points (1-D) examined by the higher-order derivative test (work budget)
HIGHER_ORDER_SECONDS = 5.0  # safety net of the higher-order derivative test of one point (its work: MAX_DIFF_NODES)


@dataclass(frozen=True)
class CriticalPoint(Result):
    """One zero of ∇f in the box.

    ``point`` [n] and ``value``; ``gradient_norm`` = ‖∇f‖ at the float64 point; ``residual`` = ‖∇f‖ at the
    50-digit refined point (None when no symbolic form); ``eigenvalues`` [n] of the Hessian, ascending;
    ``kind`` in :data:`KINDS` (after higher-order evidence), ``second_order`` the plain second-order verdict,
    ``reason`` and ``evidence`` (higher-order test or witnesses); ``certified`` when a Krawczyk certificate proves
    one zero in ``certificate["box"]``; ``starts`` how many starts converged here.
    """

    point: tuple[float, ...]
    value: float
    gradient_norm: float
    residual: float | None
    eigenvalues: tuple[float, ...]
    kind: str
    second_order: str
    reason: str
    evidence: dict | None
    certified: bool
    certificate: dict
    starts: int


@dataclass(frozen=True)
class GlobalMinimum(Result):
    """The best point of ``f`` on the closed box and an interval lower bound over the whole box.

    ``where`` is ``interior`` (a reported critical point) or ``boundary``; ``certified`` when
    ``value - lower_bound <= epsilon``; ``boxes`` sub-boxes examined.
    """

    point: tuple[float, ...]
    value: float
    where: str
    lower_bound: float | None
    gap: float | None
    epsilon: float
    certified: bool
    reason: str
    boxes: int
    seconds: float


@dataclass(frozen=True)
class CriticalPoints(Result):
    """All critical points found in ``box`` (sorted by value), the completeness claim and the global minimum.

    ``counts``: kind -> number; ``complete`` only when proved (``completeness`` gives the reason and the cost:
    boxes, seconds); ``undefined``: what was skipped because ``f`` is undefined there.
    """

    expression: str
    names: tuple[str, ...]
    box: dict
    points: tuple[CriticalPoint, ...]
    counts: dict
    complete: bool
    completeness: dict
    global_minimum: GlobalMinimum | None
    undefined: dict
    starts: int
    seed: int
    seconds: float

    @property
    def verdict(self) -> str:
        """``complete`` when every critical point of the box is proved listed, else ``partial``."""
        return "complete" if self.complete else "partial"

    @property
    def reason(self) -> str:
        return f"{len(self.points)} critical point(s); {self.completeness['reason']}"

    def of_kind(self, kind: str) -> list[CriticalPoint]:
        return [p for p in self.points if p.kind == kind]


# ---------------------------------------------------------------------------------------------------------------
# symbolic pieces (only for objectives with a sympy form)

@dataclass
class _Symbolic:
    symbols: tuple
    f: sympy.Expr
    grad: list
    hess: list                                   # n x n entries (symmetric, shared objects)
    mp_grad: Callable | None = None
    mp_hess: Callable | None = None
    mp_f: Callable | None = None
    env_cache: dict = field(default_factory=dict)
    derivatives: list = field(default_factory=list)   # f, f', f'', ... (1-D), filled on demand
    higher_order_left: int = 0                        # degenerate points the higher-order test may still examine

    def env(self, X) -> dict:
        return dict(zip(self.symbols, X))


def _symbolic(objective: Objective) -> _Symbolic | None:
    expr = getattr(objective, "sympy", None)
    if expr is None:
        return None
    syms = tuple(objective.symbols)
    g = [budget.diff(expr, s, what="symbolic gradient") for s in syms]
    h = [[None] * len(syms) for _ in syms]
    for i in range(len(syms)):
        for j in range(i, len(syms)):
            h[i][j] = h[j][i] = budget.diff(g[i], syms[j], what="symbolic Hessian")
    out = _Symbolic(syms, expr, g, h, higher_order_left=HIGHER_ORDER_POINTS)
    try:
        out.mp_f = sympy.lambdify(syms, expr, modules="mpmath")
        out.mp_grad = sympy.lambdify(syms, g, modules="mpmath")
        out.mp_hess = sympy.lambdify(syms, h, modules="mpmath")
    except Exception:  # noqa: BLE001 - a node mpmath cannot evaluate: refinement is skipped, not the analysis
        out.mp_f = out.mp_grad = out.mp_hess = None
    return out


# ---------------------------------------------------------------------------------------------------------------
# checks

def _check_box(objective: Objective, box) -> Box:
    box = Box.coerce(box if box is not None else objective.box, objective.n)
    if box is None:
        raise InputError("box is missing: critical points are searched in a box, e.g. --box=-2:2,-1:3")
    return box


# ---------------------------------------------------------------------------------------------------------------
# 1-2: starts and batched damped Newton on the gradient

def sobol_starts(box: Box, m: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    """``m`` scrambled Sobol points in ``box``, shape [m, n] (the same seed gives the same points)."""
    eng = torch.quasirandom.SobolEngine(box.n, scramble=True, seed=seed)
    u = eng.draw(m, dtype=dtype)
    lo, hi = box.tensors(dtype)
    return lo + (hi - lo) * u


def batched_newton(objective: Objective, X: torch.Tensor, iters: int = 80, gtol: float = 1e-13):
    """Damped Newton (Levenberg–Marquardt) on ∇f(x) = 0 for every row of X [m, n] at once.

    Returns (X [m, n], ‖g‖ [m], finite [m] bool). Rows whose f, g or H become non-finite are frozen.
    """
    g_fn = vmap(_grad(objective.f))
    h_fn = vmap(_hessian(objective.f))
    X = X.clone()
    alphas = torch.tensor([1.0, 0.5, 0.25, 0.125, 1 / 16, 1 / 32], dtype=X.dtype)
    with torch.no_grad():
        G = g_fn(X)
        finite = torch.isfinite(G).all(1) & torch.isfinite(objective.values(X))
        active = finite.clone()
        gn = torch.linalg.vector_norm(G, dim=1)
        scale = 1.0 + float(gn[finite].median()) if bool(finite.any()) else 1.0
        prev = torch.full_like(gn, math.inf)
        for _ in range(iters):
            active &= gn > gtol * scale
            if not bool(active.any()):
                break
            idx = active.nonzero().squeeze(1)
            Xa, Ga = X[idx], G[idx]
            H = h_fn(Xa)
            H = 0.5 * (H + H.transpose(1, 2))
            ok = torch.isfinite(H).all(2).all(1)
            H = torch.where(ok[:, None, None], H, torch.zeros_like(H))
            lam, Q = torch.linalg.eigh(H)
            mu = (1e-10 * lam.abs().amax(1, keepdim=True).clamp_min(1e-300)) ** 2
            coef = lam / (lam ** 2 + mu)
            D = -(Q * coef[:, None, :]) @ (Q.transpose(1, 2) @ Ga[:, :, None])
            D = D.squeeze(2)
            # at a zero with a singular Hessian of multiplicity m Newton contracts by (m-1)/m per step; the ratio
            # of successive step lengths estimates m, and the step m·d is tried first (modified Newton)
            dn = torch.linalg.vector_norm(D, dim=1)
            rho = dn / prev[idx]
            mult = torch.where((rho > 0.3) & (rho < 0.99), 1 / (1 - rho), torch.ones_like(rho)).clamp(max=50)
            prev[idx] = dn
            A = torch.cat([mult[None], alphas[:, None].expand(len(alphas), len(idx))])    # [a, k]
            trial = Xa[None] + A[:, :, None] * D[None]            # [a, k, n]
            Gt = g_fn(trial.reshape(-1, X.shape[1])).reshape(trial.shape)
            nt = torch.linalg.vector_norm(Gt, dim=2)
            nt = torch.where(torch.isfinite(nt), nt, torch.full_like(nt, math.inf))
            better = nt < gn[idx][None]
            first = torch.where(better.any(0), better.float().argmax(0), torch.full_like(idx, len(alphas)))
            pick = torch.arange(len(idx))
            newX, newG, newn = trial[first, pick], Gt[first, pick], nt[first, pick]
            moved = better.any(0) & ok
            X[idx] = torch.where(moved[:, None], newX, Xa)
            G[idx] = torch.where(moved[:, None], newG, Ga)
            gn[idx] = torch.where(moved, newn, gn[idx])
            stuck = idx[~moved]
            active[stuck] = False
    return X, gn, finite, scale


def _merge(points: torch.Tensor, radius: float, max_clusters: int | None = None):
    """Greedy clustering: each cluster is (first member, size); members lie within ``radius`` of its first.

    At most ``max_clusters`` clusters are formed (a work budget: a constant function makes every start its own
    critical point); returns (clusters, number of points left outside every cluster)."""
    reps: list[torch.Tensor] = []
    sizes: list[int] = []
    left = 0
    for p in points:
        if reps:
            d = torch.linalg.vector_norm(torch.stack(reps) - p, dim=1)
            near = torch.nonzero(d <= radius)
            if len(near):
                sizes[int(near[0])] += 1
                continue
        if max_clusters is not None and len(reps) >= max_clusters:
            left += 1
            continue
        reps.append(p)
        sizes.append(1)
    return list(zip(reps, sizes)), left


# ---------------------------------------------------------------------------------------------------------------
# 4: high-precision refinement

def _mp_vec(fn, x):
    return mpmath.matrix([mpmath.mpf(v) for v in fn(*x)])


def refine(sym: _Symbolic, x: Sequence[float], iters: int = 400) -> tuple[list, float] | None:
    """Newton on the exact gradient in 50-digit arithmetic from ``x``. Returns (point, ‖g‖) or None on failure."""
    if sym.mp_grad is None:
        return None
    with mpmath.workdps(MP_DIGITS):
        try:
            p = mpmath.matrix([mpmath.mpf(float(v)) for v in x])
            g = _mp_vec(sym.mp_grad, p)
            best = (p, mpmath.norm(g))
            tiny = mpmath.mpf(10) ** (5 - MP_DIGITS)
            prev_dn, stalled = None, 0
            for _ in range(iters):
                if best[1] == 0:
                    break
                H = mpmath.matrix(sym.mp_hess(*p))
                try:
                    d = mpmath.lu_solve(H, g)
                except ZeroDivisionError:
                    break
                dn = mpmath.norm(d)
                mult = 1
                if prev_dn is not None and 0.3 < dn / prev_dn < 0.99:
                    mult = int(mpmath.nint(1 / (1 - dn / prev_dn)))     # multiplicity estimate (see batched_newton)
                prev_dn = dn
                if mult > 1:
                    q = p - mult * d
                    gq = _mp_vec(sym.mp_grad, q)
                    if mpmath.norm(gq) < best[1]:
                        d = mult * d
                p = p - d
                # stop on a step below the working precision, or when ‖g‖ no longer falls (rounding noise)
                if mpmath.norm(d) <= tiny * (1 + mpmath.norm(p)) or stalled >= 3:
                    break
                g = _mp_vec(sym.mp_grad, p)
                r = mpmath.norm(g)
                if not mpmath.isfinite(r):
                    break
                if r < best[1]:
                    best, stalled = (p, r), 0
                else:
                    stalled += 1
            p, r = best
            return [p[i] for i in range(len(x))], float(r)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
            return None


# ---------------------------------------------------------------------------------------------------------------
# 6: Krawczyk operator

def krawczyk(sym: _Symbolic, X: list) -> str:
    """``"unique"`` (exactly one zero of ∇f in X), ``"none"`` (no zero in X) or ``"unknown"``; X: n intervals."""
    n = len(X)
    c = [mpmath.mpf(I.mid(x)) for x in X]
    J = I.enclose_many([sym.hess[i][j] for i in range(n) for j in range(n)], sym.env(X))
    gc = I.enclose_many(sym.grad, sym.env([iv.mpf(v) for v in c]))
    if any(v is None or not I.is_finite(v) for v in J + gc):
        return "unknown"
    Jm = np.array([[I.mid(J[i * n + j]) for j in range(n)] for i in range(n)])
    try:
        Y = np.linalg.inv(Jm)
    except np.linalg.LinAlgError:
        return "unknown"
    if not np.isfinite(Y).all():
        return "unknown"
    Yi = [[iv.mpf(float(Y[i, j])) for j in range(n)] for i in range(n)]
    inside = True
    for i in range(n):
        k = iv.mpf(c[i])
        for j in range(n):
            k -= Yi[i][j] * gc[j]
            m = iv.mpf(1 if i == j else 0)
            for l in range(n):
                m -= Yi[i][l] * J[l * n + j]
            k += m * (X[j] - iv.mpf(c[j]))
        if k.b < X[i].a or k.a > X[i].b:
            return "none"
        inside &= I.inside(k, X[i])
    return "unique" if inside else "unknown"


def certify(sym: _Symbolic, x: Sequence, scale: Sequence[float]) -> dict:
    """Krawczyk on boxes ``x ± r·scale`` for a few radii; the certificate (box) of the first that proves uniqueness."""
    for r in (1e-7, 1e-9, 1e-5, 1e-11):
        X = [iv.mpf([mpmath.mpf(float(v)) - r * s, mpmath.mpf(float(v)) + r * s]) for v, s in zip(x, scale)]
        if krawczyk(sym, X) == "unique":
            return {"method": "krawczyk", "box": [[float(v.a), float(v.b)] for v in X],
                    "statement": "exactly one zero of the gradient in this box"}
    return {"method": "krawczyk", "box": None,
            "statement": "not certified: K(X) is not inside X (singular or ill-conditioned Hessian at the point)"}


# ---------------------------------------------------------------------------------------------------------------
# 5: higher-order evidence for degenerate points

def _derivative(sym: _Symbolic, k: int):
    """f^(k) of a 1-D objective, computed once and kept; None when f^(k-1) is past the work budget."""
    ds = sym.derivatives
    if not ds:
        ds.append(sym.f)
    while len(ds) <= k:
        if ds[-1] is None or budget.nodes(ds[-1], budget.MAX_DIFF_NODES) > budget.MAX_DIFF_NODES:
            ds.append(None)
        else:
            ds.append(sympy.diff(ds[-1], sym.symbols[0]))
    return ds[k]


def _derivative_order_1d(sym: _Symbolic, x, max_order: int = budget.MAX_DERIVATIVE_ORDER) -> dict | None:
    s = sym.symbols[0]
    with mpmath.workdps(MP_DIGITS):
        for k in range(1, max_order + 1):
            d = _derivative(sym, k)
            if d is None:
                return {"test": "first non-zero derivative", "order": None, "kind": "degenerate",
                        "statement": f"f^({k}) not computed: f^({k - 1}) has more than {budget.MAX_DIFF_NODES} "
                                     f"nodes (work budget); no verdict"}
            if k < 2:
                continue
            try:
                v = mpmath.mpf(d.evalf(MP_DIGITS, subs={s: sympy.Float(mpmath.nstr(x, MP_DIGITS), MP_DIGITS)}))
            except (TypeError, ValueError):
                return None
            if abs(v) > mpmath.mpf(10) ** -20 * max(1, k ** k):
                if k % 2 == 0:
                    kind = "min" if v > 0 else "max"
                    what = f"order {k} (even), f^({k}) {'>' if v > 0 else '<'} 0: a strict local {kind}imum"
                else:
                    kind = "saddle"
                    what = f"order {k} (odd): an inflection point, f rises on one side and falls on the other"
                return {"test": "first non-zero derivative", "order": k, "derivative": float(v), "kind": kind,
                        "statement": f"f^(2..{k - 1}) vanish to 1e-20, f^({k})(x*) = {float(v):.6g}: {what}"}
    return {"test": "first non-zero derivative", "order": None, "kind": "degenerate",
            "statement": f"the first {max_order} derivatives all vanish to 1e-20: no verdict"}


def _witnesses(objective: Objective, x: torch.Tensor, value: float, box: Box, seed: int) -> dict:
    """Points near ``x`` with lower and with higher f, on spheres of shrinking radius (n-D degenerate points)."""
    lo, hi = box.tensors(x.dtype)
    diam = float(torch.linalg.vector_norm(hi - lo))
    g = torch.Generator().manual_seed(seed)
    rows = []
    for rel in (1e-2, 1e-3, 1e-4):
        r = rel * diam
        U = torch.randn(512, objective.n, generator=g, dtype=x.dtype)
        P = x + r * U / torch.linalg.vector_norm(U, dim=1, keepdim=True)
        with torch.no_grad():
            v = objective.values(P)
        v = torch.where(torch.isfinite(v), v, torch.full_like(v, math.nan))
        slack = 1e-12 * max(1.0, abs(value))
        low = int(torch.nan_to_num(v, nan=math.inf).argmin())
        high = int(torch.nan_to_num(v, nan=-math.inf).argmax())
        rows.append({"radius": r,
                     "lower": P[low].tolist() if float(v[low]) < value - slack else None,
                     "lower_value": float(v[low]),
                     "higher": P[high].tolist() if float(v[high]) > value + slack else None,
                     "higher_value": float(v[high])})
    both = all(r["lower"] is not None and r["higher"] is not None for r in rows)
    only_up = all(r["lower"] is None for r in rows)
    only_down = all(r["higher"] is None for r in rows)
    like = "saddle" if both else "min" if only_up else "max" if only_down else "unclear"
    text = {"saddle": "lower and higher values at every radius tried: behaves like a saddle",
            "min": "no lower value found at any radius tried: behaves like a minimum",
            "max": "no higher value found at any radius tried: behaves like a maximum",
            "unclear": "witnesses differ between radii"}[like]
    return {"test": "nearby witnesses", "behaves_like": like, "radii": rows,
            "statement": text + " (sampled evidence, not a proof; the kind stays degenerate)"}


# ---------------------------------------------------------------------------------------------------------------
# 7: completeness by interval branch-and-bound

def _ibox(lo: Sequence[float], hi: Sequence[float]) -> list:
    return [iv.mpf([a, b]) for a, b in zip(lo, hi)]


def _volume(X: list) -> float:
    return float(np.prod([I.width(x) for x in X]))


def _in_box(p: Sequence[float], X: list) -> bool:
    return all(x.a <= v <= x.b for v, x in zip(p, X))


def _cert_inside(cert_box, X) -> bool:
    return cert_box is not None and all(x.a <= a and b <= x.b for (a, b), x in zip(cert_box, X))


def _meets(cert_box, X) -> bool:
    return all(a <= x.b and x.a <= b for (a, b), x in zip(cert_box, X))


def _hull(cert_box, X) -> list:
    return [iv.mpf([min(mpmath.mpf(a), x.a), max(mpmath.mpf(b), x.b)]) for (a, b), x in zip(cert_box, X)]


def prove_complete(sym: _Symbolic, box: Box, known: list, deadline: float, on_new: Callable,
                   min_width: float = 1e-10, max_boxes: int = None):
    """Branch-and-bound showing that ∇f has no zero in ``box`` besides the certified points ``known``.

    ``known``: list of (point, certificate box or None). ``on_new(x)`` is called with the midpoint of a sub-box
    proved to hold exactly one zero that no known certificate covers; it returns (point, certificate box) or None.
    Returns a dict: proved, reason, boxes, unresolved (list of boxes), undefined_volume, stopped_by (None, "work":
    ``max_boxes`` sub-boxes examined, or "time": the ``deadline`` safety net).
    """
    max_boxes = MAX_BOXES if max_boxes is None else max_boxes
    start = time.perf_counter()
    total = _volume(_ibox(box.lo, box.hi))
    stack = [_ibox(box.lo, box.hi)]
    widths = np.array(box.hi) - np.array(box.lo)
    boxes, undefined, unresolved = 0, 0.0, []
    while stack:
        over_work, over_time = boxes >= max_boxes, time.perf_counter() > deadline
        if over_work or over_time:
            left = sum(_volume(X) for X in stack) / total
            which = (f"work budget of {max_boxes} sub-boxes used" if over_work else
                     f"time budget ran out (safety net) after {boxes} sub-boxes")
            return {"proved": False, "boxes": boxes, "seconds": time.perf_counter() - start,
                    "reason": f"{which}, {100 * left:.3g}% of the box unsettled", "stopped_by":
                        "work" if over_work else "time", "unresolved": [], "undefined_fraction": undefined / total}
        X = stack.pop()
        boxes += 1
        F, *G = I.enclose_many([sym.f] + sym.grad, sym.env(X))
        if F is None or any(v is None for v in G):
            undefined += _volume(X)
            continue
        if any(v.a > 0 or v.b < 0 for v in G):
            continue
        inside_known = [k for k in known if _in_box(k[0], X)]
        # a certified zero whose certificate box C meets X (it may sit on X's edge, where Krawczyk on X alone cannot
        # succeed): exactly one zero in hull(X, C) means every zero in X is that one
        if any(k[1] is not None and _meets(k[1], X) and not _cert_inside(k[1], X)
               and krawczyk(sym, _hull(k[1], X)) == "unique" for k in known):
            continue
        verdict = krawczyk(sym, X)
        if verdict == "none":
            continue
        if verdict == "unique":
            if any(_cert_inside(k[1], X) for k in inside_known):
                continue
            if not inside_known:
                new = on_new([I.mid(x) for x in X])
                if new is not None and _cert_inside(new[1], X):
                    known.append(new)
                    continue
        rel = [I.width(x) / w for x, w in zip(X, widths)]
        axis = int(np.argmax(rel))
        if rel[axis] < min_width:
            unresolved.append([[float(x.a), float(x.b)] for x in X])
            continue
        a, b = I.bisect(X, axis)
        stack += [b, a]
    if unresolved:
        where = sorted({tuple(round(I.mid(iv.mpf(list(u))), 6) for u in r) for r in unresolved[:1]})
        return {"proved": False, "boxes": boxes, "seconds": time.perf_counter() - start,
                "reason": (f"{len(unresolved)} tiny sub-box(es) could not be settled (a zero of the gradient with a "
                           f"singular Hessian cannot be isolated by interval Newton), e.g. near {list(where[0])}; "
                           "everywhere else no critical point besides those reported"),
                "unresolved": unresolved[:20], "undefined_fraction": undefined / total, "stopped_by": None}
    return {"proved": True, "stopped_by": None, "boxes": boxes, "seconds": time.perf_counter() - start,
            "reason": f"interval branch-and-bound over {boxes} sub-boxes: every zero of the gradient in the box is "
                      "one of the reported points", "unresolved": [], "undefined_fraction": undefined / total}


# ---------------------------------------------------------------------------------------------------------------
# 8: certified global minimum on the box

def _project_descent(objective: Objective, X: torch.Tensor, box: Box, iters: int = 200) -> torch.Tensor:
    """Projected gradient descent with backtracking, batched: polishes upper bounds (minima may sit on the boundary)."""
    lo, hi = box.tensors(X.dtype)
    g_fn = vmap(_grad(objective.f))
    step = torch.full((len(X),), float((hi - lo).max()) / 10, dtype=X.dtype)
    with torch.no_grad():
        v = objective.values(X)
        for _ in range(iters):
            G = torch.nan_to_num(g_fn(X), nan=0.0)
            T = torch.minimum(torch.maximum(X - step[:, None] * G, lo), hi)
            vt = objective.values(T)
            ok = torch.isfinite(vt) & (vt < v)
            X = torch.where(ok[:, None], T, X)
            v = torch.where(ok, vt, v)
            step = torch.where(ok, step * 1.5, step * 0.3)
            if bool((step < 1e-14).all()):
                break
    return X


def global_minimum(objective: Objective, sym: _Symbolic | None, box: Box, candidates: torch.Tensor,
                   interior: list, epsilon: float, deadline: float, max_boxes: int = None) -> GlobalMinimum | None:
    """Best point on the closed box, and (with a symbolic form) a certified interval lower bound over the box."""
    t0 = time.perf_counter()
    with torch.no_grad():
        v = objective.values(candidates)
    keep = torch.isfinite(v)
    if not bool(keep.any()):
        return None
    C, v = candidates[keep], v[keep]
    top = torch.argsort(v)[:16]
    P = _project_descent(objective, C[top], box)
    with torch.no_grad():
        pv = objective.values(P)
    pool = [(float(a), tuple(map(float, p))) for a, p in zip(pv, P) if math.isfinite(float(a))]
    pool += [(float(objective.value(torch.tensor(p, dtype=objective.dtype))), tuple(p)) for p in interior]
    best_v, best_x = min(pool)
    lb, boxes, reason = None, 0, "no symbolic form: no interval lower bound"
    if sym is not None:
        best_v, best_x, lb, boxes, reason = _branch_and_bound_min(sym, box, best_v, best_x, epsilon, deadline,
                                                                  MAX_BOXES if max_boxes is None else max_boxes)
    where = "interior" if any(max(abs(a - b) for a, b in zip(best_x, p)) < 1e-8 * (1 + max(map(abs, p)))
                              for p in interior) else "boundary" if _on_boundary(best_x, box) else "interior"
    gap = None if lb is None else best_v - lb
    certified = gap is not None and gap <= epsilon
    if certified:
        reason = (f"global minimum on this box, certified to within {epsilon:g}: interval lower bound {lb:.12g} "
                  f"over {boxes} sub-boxes, best value {best_v:.12g}")
    return GlobalMinimum(tuple(best_x), best_v, where, lb, gap, epsilon, certified, reason, boxes,
                         time.perf_counter() - t0)


def _on_boundary(x, box: Box) -> bool:
    return any(min(abs(v - a), abs(v - b)) <= 1e-9 * (b - a) for v, a, b in zip(x, box.lo, box.hi))


def _lower(sym: _Symbolic, X: list):
    """Lower bound of f over X: the larger of the natural and the mean-value enclosure's lower ends (None: undefined)."""
    out = I.enclose_many([sym.f] + sym.grad, sym.env(X))
    F, G = out[0], out[1:]
    if F is None:
        return None, None
    c = [iv.mpf(mpmath.mpf(I.mid(x))) for x in X]
    fc = I.enclose(sym.f, sym.env(c))
    low = F.a
    if fc is not None and all(g is not None and I.is_finite(g) for g in G) and I.is_finite(fc):
        mv = fc
        for g, x, ci in zip(G, X, c):
            mv = mv + g * (x - ci)
        low = max(low, mv.a)
    mid_value = float(fc.b) if fc is not None and I.is_finite(fc) else None     # upper end: a true value is <= it
    return low, mid_value


def _branch_and_bound_min(sym, box, best_v, best_x, epsilon, deadline, max_boxes):
    widths = np.array(box.hi) - np.array(box.lo)
    X0 = _ibox(box.lo, box.hi)
    low, _ = _lower(sym, X0)
    if low is None:
        return best_v, best_x, None, 1, "f is undefined on the whole box"
    heap = [(float(low), 0, X0)]
    counter, boxes = 1, 1
    while heap:
        lb = heap[0][0]
        if best_v - lb <= epsilon:
            return best_v, best_x, lb, boxes, ""
        if boxes >= max_boxes:
            return best_v, best_x, lb, boxes, (f"not certified: work budget of {max_boxes} sub-boxes used, gap "
                                               f"{best_v - lb:.3g} > epsilon {epsilon:g}")
        if time.perf_counter() > deadline:
            return best_v, best_x, lb, boxes, (f"not certified: time budget ran out (safety net) after {boxes} "
                                               f"sub-boxes with gap {best_v - lb:.3g} > epsilon {epsilon:g}")
        _, _, X = heapq.heappop(heap)
        axis = int(np.argmax([I.width(x) / w for x, w in zip(X, widths)]))
        for half in I.bisect(X, axis):
            boxes += 1
            low, mid_value = _lower(sym, half)
            if low is None:
                continue
            if mid_value is not None and mid_value < best_v:
                best_v, best_x = mid_value, tuple(I.mid(x) for x in half)
            if float(low) <= best_v - 0.0:
                heapq.heappush(heap, (float(low), counter, half))
                counter += 1
            if I.width(half[axis]) / widths[axis] < 1e-13:
                return best_v, best_x, heap[0][0] if heap else best_v, boxes, "not certified: sub-boxes too small"
    return best_v, best_x, best_v, boxes, ""


# ---------------------------------------------------------------------------------------------------------------
# the entry point

def find_critical_points(objective: Objective, box=None, *, starts: int | None = None, seed: int = 0,
                         time_budget: float = 10.0, epsilon: float = 1e-6, merge_radius: float = 1e-6,
                         prove: bool = True, max_boxes: int = None) -> CriticalPoints:
    """Find, refine, certify and classify every critical point of ``objective`` in ``box``; the global minimum.

    ``box``: a :class:`Box`, text ``"-1:2,0:3"`` or None (the objective's own box); ``starts``: number of Sobol
    starts (default 256·n, at most 4096); ``time_budget``: seconds for the interval proofs (completeness and
    global minimum; finding points is not cut short); ``epsilon``: tolerance of the global-minimum certificate;
    ``prove``: run the interval proofs at all; ``max_boxes``: work budget of each interval branch-and-bound
    (completeness, global minimum), in sub-boxes (default :data:`MAX_BOXES`). The box counts decide; the time
    budget is an outer safety net, and ``completeness["stopped_by"]`` says which one stopped a proof. The symbolic
    gradient and Hessian are built within the node budget of :mod:`losslens.budget`; past it the proofs are skipped
    with that reason.

    >>> from losslens import parse
    >>> r = find_critical_points(parse("himmelblau"), time_budget=30)
    >>> r.counts, r.complete
    ({'min': 4, 'max': 1, 'saddle': 4, 'degenerate': 0}, True)
    """
    t0 = time.perf_counter()
    if not isinstance(objective, Objective):
        raise InputError(f"objective == {objective!r}, must be a losslens Objective (an expression or catalog name "
                         "via losslens.parse)")
    box = _check_box(objective, box)
    n = objective.n
    m = check_int("starts", starts if starts is not None else min(4096, 256 * n), lo=1, hi=1 << 20)
    seed = check_int("seed", seed, lo=0)
    time_budget = check_float("time_budget", time_budget, lo=0, lo_open=True)
    epsilon = check_float("epsilon", epsilon, lo=0, lo_open=True)
    merge_radius = check_float("merge_radius", merge_radius, lo=0, lo_open=True)
    max_boxes = check_int("max_boxes", max_boxes if max_boxes is not None else MAX_BOXES, lo=1, hi=MAX_BOXES_LIMIT)
    no_symbolic = "no symbolic form: interval branch-and-bound needs the expression"
    try:
        with budget.safety_net(time_budget + 1.0, "symbolic gradient and Hessian"):
            sym = _symbolic(objective)
    except BudgetExceeded as err:
        sym, no_symbolic = None, f"no symbolic form within budget ({err}): interval proofs skipped"
    lo, hi = box.tensors(objective.dtype)
    width = (hi - lo)
    diam = float(torch.linalg.vector_norm(width))

    X0 = sobol_starts(box, m, seed, objective.dtype)
    X, gn, finite, gscale = batched_newton(objective, X0)
    undefined = {"starts_not_finite": int((~finite).sum()), "starts": m}
    slack = 1e-9 * width
    conv = finite & (gn <= 1e-6 * gscale) & ((X >= lo - slack) & (X <= hi + slack)).all(1)
    clusters, left_out = _merge(X[conv], merge_radius * diam, MAX_POINTS)

    points: list[CriticalPoint] = []
    known: list = []

    def build_many(xs_float: list, counts: list) -> list:
        """Refine each candidate, classify all in one batch, then evidence and certificate per point."""
        refined = []
        for x_float in xs_float:
            residual, xs, mp_point = None, x_float.tolist(), None
            if sym is not None:
                ref = refine(sym, xs)
                if ref is not None:
                    cand = [float(v) for v in ref[0]]
                    if all(a - s <= v <= b + s for v, a, b, s in zip(cand, box.lo, box.hi, slack.tolist())) and \
                            math.dist(cand, xs) <= 1e-3 * diam:
                        mp_point, residual, xs = ref[0], ref[1], cand
            refined.append((xs, residual, mp_point))
        if not refined:
            return []
        reports = classify_points(objective, torch.tensor([r[0] for r in refined], dtype=objective.dtype))
        return [finish(rep, *r, count) for rep, r, count in zip(reports, refined, counts)]

    def finish(rep, xs, residual, mp_point, count) -> CriticalPoint | None:
        if rep.kind in ("not_critical", "not_finite"):
            return None
        kind, evidence, reason = rep.kind, None, rep.reason
        if kind == "degenerate":
            if n == 1 and sym is not None and sym.higher_order_left <= 0:
                evidence = {"test": "first non-zero derivative", "order": None, "kind": "degenerate",
                            "statement": f"not attempted: the higher-order test ran at {HIGHER_ORDER_POINTS} "
                                         f"degenerate points already (work budget); no verdict"}
            elif n == 1 and sym is not None:
                sym.higher_order_left -= 1
                try:
                    with budget.safety_net(HIGHER_ORDER_SECONDS, "higher-order derivative test"):
                        evidence = _derivative_order_1d(sym, mp_point[0] if mp_point else mpmath.mpf(xs[0]))
                except BudgetExceeded as err:
                    evidence = {"test": "first non-zero derivative", "order": None, "kind": "degenerate",
                                "statement": f"stopped by the time safety net: {err}; no verdict"}
                if evidence is not None and evidence["kind"] != "degenerate":
                    kind = evidence["kind"]
                    reason = f"second-order test undecided; {evidence['statement']}"
            else:
                evidence = _witnesses(objective, rep.point, rep.value, box, seed)
        cert = {"method": "krawczyk", "box": None, "statement": "not attempted: no symbolic form"}
        if sym is not None:
            cert = certify(sym, xs, width.tolist())
        return CriticalPoint(tuple(xs), rep.value, rep.gradient_norm, residual, tuple(rep.eigenvalues.tolist()),
                             kind, rep.kind, reason, evidence, cert["box"] is not None, cert, count)

    for p in build_many([x for x, _ in clusters], [k for _, k in clusters]):
        if p is None or any(math.dist(p.point, q.point) <= merge_radius * diam for q in points):
            continue
        points.append(p)
        known.append((list(p.point), p.certificate["box"]))

    # completeness: half of the time budget (the rest, and what it leaves, goes to the global minimum)
    t_proofs = time.perf_counter()
    proof_deadline = t_proofs + 0.5 * time_budget
    if not prove:
        completeness = {"proved": False, "reason": "interval proofs switched off (prove=False)", "boxes": 0}
    elif left_out:
        completeness = {"proved": False, "boxes": 0, "stopped_by": "work",
                        "reason": f"{left_out} converged starts lie outside the first {MAX_POINTS} distinct critical "
                                  f"points examined (work budget; a continuum of critical points, e.g. a constant "
                                  f"function?): no completeness proof"}
    elif sym is None:
        completeness = {"proved": False, "reason": no_symbolic, "boxes": 0}
    elif n > MAX_COMPLETE_N:
        completeness = {"proved": False, "boxes": 0,
                        "reason": f"completeness proofs are limited to n <= {MAX_COMPLETE_N} variables (n = {n}); "
                                  "the points found are still refined, certified and classified"}
    else:
        def on_new(mid):
            p = build_many([torch.tensor(mid, dtype=objective.dtype)], [0])[0]
            if p is None or any(math.dist(p.point, q.point) <= merge_radius * diam for q in points):
                return None
            points.append(p)
            return (list(p.point), p.certificate["box"])

        completeness = prove_complete(sym, box, known, proof_deadline, on_new, max_boxes=max_boxes)
    undefined["box_fraction_undefined"] = completeness.pop("undefined_fraction", None)

    # global minimum on the box
    interior = [list(p.point) for p in points if p.kind in ("min", "degenerate")]
    gm = None
    if prove or sym is None:
        inbox = torch.minimum(torch.maximum(torch.nan_to_num(X, nan=0.0), lo), hi)
        gm = global_minimum(objective, sym if prove else None, box, torch.cat([X0, inbox]), interior, epsilon,
                            t_proofs + time_budget, max_boxes)
    points.sort(key=lambda p: (p.value, p.point))
    counts = {k: sum(p.kind == k for p in points) for k in KINDS}
    text = getattr(objective, "expression", None)
    return CriticalPoints(str(text) if text is not None else objective.label, objective.names, box.to_dict(),
                          tuple(points), counts, bool(completeness["proved"]), completeness, gm, undefined, m, seed,
                          time.perf_counter() - t0)
