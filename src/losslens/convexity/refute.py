"""Refuting convexity: a Jensen violation, re-verified with interval arithmetic before it is reported.

A function ``f`` is convex on a convex region ``D`` iff for all ``a, b ∈ D`` and ``λ ∈ [0, 1]``

    f(λ a + (1 − λ) b) <= λ f(a) + (1 − λ) f(b)          (Jensen's inequality, D2L 11.2).

A witness is a triple ``(a, b, λ)`` with ``gap = f(λa + (1−λ)b) − λ f(a) − (1−λ) f(b) > 0``. Candidates come from a
float64 search in torch (random pairs, pairs ``x ± t v`` along an eigenvector ``v`` of a negative Hessian
eigenvalue at ``x``, and pairs across the kinks of ``abs``, ``max``, ``min`` and ``relu``); each is then re-evaluated
from the exact sympy expression in outward-rounded interval arithmetic (``mpmath.iv``, 113-bit) at the exact binary
values of ``a``, ``b`` and ``λ``. Only a gap whose *lower* enclosure is positive, with the whole segment proved inside
the region, is reported; ``gap`` is that proved lower bound.

Shapes: points are tuples of ``n`` floats; the search works on tensors ``[m, n]`` (float64).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import sympy
import torch
from mpmath import iv
from torch.func import hessian, vmap

from ..results import Result
from . import _interval as I
from .region import Region

VERIFY_PREC = 113


@dataclass(frozen=True)
class JensenWitness(Result):
    """A proved violation of Jensen's inequality for ``sign * f`` (sign -1: a violation of concavity).

    ``a``, ``b``: points [n]; ``lam``: λ; ``f_a``, ``f_b``, ``f_mix``: f at a, b and λa+(1−λ)b (interval midpoints);
    ``gap``: proved lower bound of ``sign*(f(λa+(1−λ)b) − λf(a) − (1−λ)f(b))`` (> 0); ``origin``: ``random_pairs``,
    ``negative_curvature`` (then ``point`` and ``curvature`` = vᵀ∇²f(point)v for the unit eigenvector v, float64) or
    ``kink`` (a pair across a kink of ``abs``/``max``/``min``/``relu``; ``point`` on the kink).
    """

    a: tuple[float, ...]
    b: tuple[float, ...]
    lam: float
    f_a: float
    f_b: float
    f_mix: float
    gap: float
    sign: int
    origin: str
    point: tuple[float, ...] | None = None
    curvature: float | None = None

    def describe(self) -> str:
        what = "convexity" if self.sign > 0 else "concavity"
        return (f"Jensen violation of {what}: f({self.lam:g}·a + {1 - self.lam:g}·b) − chord >= {self.gap:.3g} "
                f"at a = {list(self.a)}, b = {list(self.b)} (checked in interval arithmetic)")


def verify_jensen(f: sympy.Expr, region: Region, a, b, lam: float, sign: int = 1) -> float | None:
    """Proved lower bound of the Jensen gap of ``sign*f`` at (a, b, λ), or None when not proved positive."""
    a = tuple(float(u) for u in a)
    b = tuple(float(u) for u in b)
    if not (0.0 < lam < 1.0) or not region.contains_segment(a, b):
        return None
    with I.precision(VERIFY_PREC):
        L = iv.mpf(lam)
        fa = I.evaluate(f, region.point_env(a))
        fb = I.evaluate(f, region.point_env(b))
        env = {s: L * iv.mpf(u) + (1 - L) * iv.mpf(v) for s, u, v in zip(region.symbols, a, b)}
        fm = I.evaluate(f, env)
        gap = (fm - (L * fa + (1 - L) * fb)) * sign
        if not (I.is_finite(gap) and gap.a > 0):
            return None
        return float(gap.a), float(fa.mid), float(fb.mid), float(fm.mid)


def verify_negative_curvature(H: sympy.Matrix, region: Region, x, v) -> float | None:
    """Proved upper bound (< 0) of vᵀ∇²f(x)v / |v|², or None: a proof that ∇²f(x) is not PSD at x."""
    with I.precision(VERIFY_PREC):
        env = region.point_env(x)
        n = len(x)
        q = iv.mpf(0)
        for i in range(n):
            for j in range(n):
                if H[i, j] != 0 and v[i] != 0 and v[j] != 0:
                    q = q + iv.mpf(float(v[i])) * iv.mpf(float(v[j])) * I.evaluate(H[i, j], env)
        nv = sum(iv.mpf(float(u)) ** 2 for u in v)
        r = q / nv
        return float(r.b) if I.is_finite(r) and r.b < 0 else None


def _finite_rows(obj, X: torch.Tensor, sign: int) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        fx = obj.values(X) * sign
    ok = torch.isfinite(fx)
    return X[ok], fx[ok]


def search_jensen(obj, f: sympy.Expr, region: Region, *, sign: int = 1, seed: int = 0, samples: int = 2048,
                  deadline: float | None = None) -> JensenWitness | None:
    """Search for a Jensen violation of ``sign*f`` on ``region`` and return it only once proved.

    ``obj``: the objective (torch values and Hessians); ``f``: its sympy form over ``region.symbols``.
    """
    g = torch.Generator().manual_seed(seed)
    for k, box in enumerate(region.sampling_boxes()):
        if deadline is not None and time.monotonic() > deadline:
            return None
        X = box.sample(samples, seed=seed + k)
        # the centre first (the origin of the whole-space cubes): symmetric functions are often degenerate there
        X = torch.cat([(torch.tensor(box.lo, dtype=X.dtype) + torch.tensor(box.hi, dtype=X.dtype))[None] / 2, X])
        if region.conditions:
            X = X[region.mask(X)]
        X, fx = _finite_rows(obj, X, sign)
        if len(X) < 2:
            continue
        width = float(torch.tensor(box.hi, dtype=torch.float64).sub(torch.tensor(box.lo, dtype=torch.float64)).max())
        w = _along_negative_curvature(obj, f, region, X, sign, width, deadline)
        if w is not None:
            return w
        w = _random_pairs(obj, f, region, X, fx, sign, g, width)
        if w is not None:
            return w
        w = _across_kinks(obj, f, region, X, sign, width, deadline)
        if w is not None:
            return w
    return None


def _candidates(obj, f, region, A, B, lam, sign, origin, points=None, curvatures=None, keep=8):
    with torch.no_grad():
        M = lam[:, None] * A + (1 - lam[:, None]) * B
        gap = sign * (obj.values(M) - lam * obj.values(A) - (1 - lam) * obj.values(B))
    gap = torch.where(torch.isfinite(gap), gap, torch.full_like(gap, -1.0))
    order = torch.argsort(gap, descending=True)[:keep]
    for i in order.tolist():
        if gap[i] <= 0:
            break
        res = verify_jensen(f, region, A[i].tolist(), B[i].tolist(), float(lam[i]), sign)
        if res is not None:
            lb, fa, fb, fm = res
            return JensenWitness(tuple(A[i].tolist()), tuple(B[i].tolist()), float(lam[i]), fa, fb, fm, lb, sign,
                                 origin, None if points is None else tuple(points[i].tolist()),
                                 None if curvatures is None else float(curvatures[i]))
    return None


def _random_pairs(obj, f, region, X, fx, sign, g, width):
    m = len(X)
    i = torch.randint(m, (m,), generator=g)
    j = torch.randint(m, (m,), generator=g)
    lam = 0.1 + 0.8 * torch.rand(m, generator=g, dtype=X.dtype)
    w = _candidates(obj, f, region, X[i], X[j], lam, sign, "random_pairs")
    if w is not None:
        return w
    # near pairs catch non-convexity that only shows at small scales
    B = X[i] + 0.01 * width * torch.randn(X[i].shape, generator=g, dtype=X.dtype)
    return _candidates(obj, f, region, X[i], B, lam, sign, "random_pairs")


def _along_negative_curvature(obj, f, region, X, sign, width, deadline):
    Xh = X[:512]
    with torch.no_grad():
        H = vmap(hessian(obj.f))(Xh) * sign
    ok = torch.isfinite(H).flatten(1).all(1)
    Xh, H = Xh[ok], H[ok]
    if not len(Xh):
        return None
    evals, evecs = torch.linalg.eigh(H)
    lam_min = evals[:, 0]
    scale = evals.abs().amax(1).clamp_min(1.0)
    order = torch.argsort(lam_min / scale)[:8]
    # float noise of a Hessian is ~1e-15 relative; candidates are proved before use, so a small curvature is tried
    # (x² + y² − 1e-9 z² bends down by 2e-9 against a scale of 2)
    order = order[lam_min[order] < -1e-12 * scale[order]]
    if not len(order):
        return None
    P, V, C = Xh[order], evecs[order, :, 0], lam_min[order]
    for t in (0.3, 0.1, 0.03, 0.01, 1e-3, 1e-4):
        if deadline is not None and time.monotonic() > deadline:
            return None
        A, B = P - t * width * V, P + t * width * V
        half = torch.full((len(P),), 0.5, dtype=X.dtype)
        w = _candidates(obj, f, region, A, B, half, sign, "negative_curvature", P, sign * C)
        if w is not None:
            return w
    return None


def along_constant_hessian(H: sympy.Matrix, f: sympy.Expr, region: Region, sign: int = 1) -> JensenWitness | None:
    """A witness for a constant Hessian ``H`` of ``sign*f`` that is not PSD: ``sign*f`` is a quadratic ``q`` plus an
    affine part, and along an eigenvector ``v`` of ``λ_min(H) < 0`` every pair ``p ± t·v`` has the exact Jensen gap
    ``−t² vᵀHv / 2 > 0`` (any ``p``, any ``t``). ``p``: the centre of the first sampling box, if in the region;
    ``v`` from a float64 eigendecomposition of ``H``; the pair is proved by :func:`verify_jensen` as every witness
    (x² + y² − 1e-13 z²: a curvature far below the float noise a Hessian search allows). None when no pair is
    proved (H not constant, PSD, or the region too thin)."""
    if any(h.free_symbols for h in H):
        return None
    import numpy as np

    ev, V = np.linalg.eigh(np.array(H.evalf(30).tolist(), dtype=float))
    if not ev[0] < 0:
        return None
    box = region.sampling_boxes()[0]
    p = torch.tensor([(a + b) / 2 for a, b in zip(box.lo, box.hi)], dtype=torch.float64)
    if not region.contains(p.tolist()):
        return None
    width = max(b - a for a, b in zip(box.lo, box.hi))
    v = torch.tensor(V[:, 0], dtype=torch.float64)
    for t in (0.25, 1e-2, 1e-4):
        A, B = p - t * width * v, p + t * width * v
        res = verify_jensen(f, region, A.tolist(), B.tolist(), 0.5, sign)
        if res is not None:
            lb, fa, fb, fm = res
            return JensenWitness(tuple(A.tolist()), tuple(B.tolist()), 0.5, fa, fb, fm, lb, sign,
                                 "negative_curvature", tuple(p.tolist()), float(ev[0]))
    return None


def in_polynomial_dip(f: sympy.Expr, region: Region, sign: int = 1) -> JensenWitness | None:
    """One variable and ``(sign*f)''`` a polynomial with rational coefficients: where it is negative, a witness.

    The real roots of ``P = (sign*f)''`` are isolated exactly (disjoint rational intervals, sympy); between two
    consecutive isolating intervals, and beyond the outer ones, ``P`` has one sign, read exactly at the midpoint
    ``q``. Where ``P(q) < 0``, ``sign*f`` is strictly concave on the root-free gap, so the pair ``q ± δ`` (``δ`` a
    quarter of the gap, within the region's box) has a positive Jensen gap, proved by
    :func:`verify_jensen` (x⁶ − 10⁻⁶x⁴ dips only for 0 < |x| < 6.4·10⁻⁴, too thin for random samples)."""
    from .. import budget

    if region.n != 1:
        return None
    x = region.symbols[0]
    d2 = sympy.diff(sign * f, x, 2)
    if not budget.polynomial_ok(d2, (x,)):
        return None
    try:
        P = budget.poly(d2, x)
        if P.is_zero or not all(c.is_Rational for c in P.all_coeffs()):
            return None
        cells = []
        for k in (1, 4, 8, 16, 32):       # refined until neighbouring intervals leave a gap between them
            cells = sorted(c for c, _ in P.sqf_part().intervals(eps=sympy.Rational(1, 10 ** k))) \
                if P.degree() > 0 else []
            if all(cells[i][1] < cells[i + 1][0] for i in range(len(cells) - 1)):
                break
        else:
            return None
    except (sympy.PolynomialError, NotImplementedError):
        return None
    ends = [e for a, b in sorted(cells) for e in (a, b)]
    gaps = [(ends[i], ends[i + 1]) for i in range(1, len(ends) - 1, 2)]
    if ends:
        gaps += [(ends[0] - 2, ends[0]), (ends[-1], ends[-1] + 2)]
    else:
        gaps = [(sympy.Integer(-1), sympy.Integer(1))]
    box = region.box
    lo, hi = (-sympy.oo, sympy.oo) if box is None else (sympy.Rational(box.lo[0]), sympy.Rational(box.hi[0]))
    for a, b in gaps:
        a, b = max(a, lo), min(b, hi)
        if not a < b:
            continue
        q, d = (a + b) / 2, (b - a) / 4
        if P.eval(q) < 0:
            res = verify_jensen(f, region, (float(q - d),), (float(q + d),), 0.5, sign)
            if res is not None:
                lb, fa, fb, fm = res
                return JensenWitness((float(q - d),), (float(q + d),), 0.5, fa, fb, fm, lb, sign,
                                     "negative_curvature", (float(q),), float(P.eval(q)))
    return None


def switching_functions(f: sympy.Expr, most: int = 8) -> list[sympy.Expr]:
    """Where a non-smooth term of ``f`` switches branch: ``a`` for ``|a|``, ``a_i − a_j`` for each pair of arguments of
    a ``max``/``min`` (``relu(a) = max(0, a)``: ``a``); at most ``most``, in a fixed order."""
    out = []
    for atom in sorted(f.atoms(sympy.Abs, sympy.Max, sympy.Min), key=sympy.default_sort_key):
        args = atom.args
        out += [args[0]] if atom.func is sympy.Abs else [args[i] - args[j] for i in range(len(args))
                                                          for j in range(i + 1, len(args))]
    return out[:most]


def _across_kinks(obj, f, region, X, sign, width, deadline, points: int = 16):
    """Pairs ``p ± t·width·u`` across the kink sets of ``f``: ``p`` is a sample moved onto ``a(p) = 0`` by Newton's
    steps along ``∇a`` for a switching function ``a`` (:func:`switching_functions`), ``u = ∇a/‖∇a‖``, t down to
    1e-8: a concave kink shows only at the scale where it beats the smooth part (x² − 10⁻⁶|x|: |t·width| < 10⁻⁶)."""
    for a in switching_functions(f):
        if deadline is not None and time.monotonic() > deadline:
            return None
        P, U = onto_zero_set(a, region.symbols, X[:points], steps=3)
        if not len(P):
            continue
        half = torch.full((len(P),), 0.5, dtype=P.dtype)
        for t in (1e-2, 1e-4, 1e-6, 1e-8):
            w = _candidates(obj, f, region, P - t * width * U, P + t * width * U, half, sign, "kink", P)
            if w is not None:
                return w
    return None


def onto_zero_set(a: sympy.Expr, symbols, X: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows of ``X`` [m, n] moved towards ``a(x) = 0`` by ``steps`` Newton steps along ``∇a``
    (``x ← x − a(x) ∇a / ‖∇a‖²``; one step for an affine ``a``), and the unit normals ``∇a/‖∇a‖`` there; rows where
    ``a`` or ``∇a`` stopped being finite or ``∇a`` vanished are dropped. Float64 arithmetic, a search, not a proof."""
    import numpy as np

    a_fn = sympy.lambdify(symbols, a, "numpy")
    g_fn = sympy.lambdify(symbols, [sympy.diff(a, s) for s in symbols], "numpy")
    P = X.numpy().astype(float, copy=True)
    m = len(P)
    ok = np.ones(m, dtype=bool)
    with np.errstate(all="ignore"):
        for step in range(steps + 1):       # the last pass only measures the normal at the final point
            cols = [P[:, i] for i in range(P.shape[1])]
            v = np.broadcast_to(np.asarray(a_fn(*cols), dtype=float), (m,))
            G = np.stack([np.broadcast_to(np.asarray(c, dtype=float), (m,)) for c in g_fn(*cols)], 1)
            norm2 = (G ** 2).sum(1)
            ok = np.isfinite(v) & np.isfinite(norm2) & (norm2 > 0) & np.isfinite(P).all(1)
            if step < steps:
                P[ok] -= (v[ok] / norm2[ok])[:, None] * G[ok]
    return torch.from_numpy(P[ok]), torch.from_numpy(G[ok] / np.sqrt(norm2[ok])[:, None])
