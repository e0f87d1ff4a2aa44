"""Proving convexity, cheapest first. Every proof carries its certificate (a rule trace, or boxes and bounds).

1. **Composition rules** (:func:`prove_composition`), DCP-like but with ranges: sums of convex terms; a positive
   multiple; the quadratic part of a sum checked exactly (constant Hessian ``Q``, ``Q ⪰ 0`` by exact rational
   arithmetic); ``h(g)`` for a scalar atom ``h`` (exp, log, powers, tanh, sin, cos, ...) where the curvature and the
   monotonicity of ``h`` are proved *on the range U of g* by interval enclosures of ``h''`` and ``h'`` on ``U``:
   ``h`` convex and (``g`` affine, or ``h`` nondecreasing and ``g`` convex, or ``h`` nonincreasing and ``g``
   concave) gives a convex ``h(g)``; log-sum-exp ``log Σ exp(g_i)``; the Euclidean norm ``sqrt(Σ (affine)^2)``;
   ``|g|``, ``max``, ``min``.
2. **Symbolic Hessian** (:func:`prove_symbolic_hessian`): ``H = ∇²f`` constant and ``H ⪰ 0`` exactly (strong
   convexity modulus μ: a rational with ``H − μI ⪰ 0`` checked exactly); one variable: ``f''`` a polynomial with
   no real root of odd multiplicity (exact root counting), or ``f''`` of provable sign; several variables: every
   principal minor of ``H`` of provable sign (``H ⪰ 0`` iff all principal minors ``>= 0``).
3. **Interval Hessian on a box** (:func:`prove_interval_hessian`): enclosures of every entry of ``H`` over a sub-box
   (outward rounding, ``mpmath.iv``); ``λ_min >= min_i (H_ii − Σ_{j≠i} |H_ij|)`` (Gershgorin) or, failing that,
   ``λ_min >= λ_min(H_c) − ‖R‖_F`` (Weyl; ``H_c`` the midpoint matrix with its ``λ_min`` bound checked by an
   interval Cholesky factorisation of ``H_c − L·I``, ``R`` the radii). Sub-boxes that fail are bisected.

``sign = -1`` proves concavity (convexity of ``-f``). Shapes: ``H`` is an ``n x n`` sympy Matrix; boxes are lists of
``n`` floats.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy
from mpmath import iv

from .. import budget
from ..results import Result
from . import _interval as I
from .region import Region

AFFINE, CONVEX, CONCAVE, UNKNOWN = "affine", "convex", "concave", "unknown"


@dataclass(frozen=True)
class Proof(Result):
    """A certificate that ``sign*f`` is convex on a region.

    ``method``: composition | constant_hessian | univariate_polynomial | hessian_sign | hessian_minors |
    interval_hessian; ``strength``: convex | strictly_convex | strongly_convex; ``modulus``: proved μ with
    ``∇²f ⪰ μI`` (strongly convex) or None; ``trace``: the rule steps, readable; ``boxes``: for interval proofs, each
    leaf as ``{"lo": [n], "hi": [n], "lambda_min_lower": float}``.
    """

    method: str
    strength: str
    modulus: float | None = None
    trace: tuple[str, ...] = ()
    boxes: tuple[dict, ...] = field(default_factory=tuple)
    boxes_total: int = 0


# --------------------------------------------------------------------------------------------------------------
# exact matrix checks

def exact_psd(M: sympy.Matrix) -> bool | None:
    """``M ⪰ 0`` decided exactly for a constant symmetric matrix (None when sympy cannot decide)."""
    try:
        r = M.is_positive_semidefinite
    except (TypeError, ValueError, NotImplementedError):
        return None
    return None if r is None else bool(r)


def exact_modulus(M: sympy.Matrix) -> sympy.Rational | None:
    """A rational ``μ > 0`` with ``M − μI ⪰ 0`` (proved exactly), just below ``λ_min(M)``; None if M is not PD."""
    try:
        lam = float(np.linalg.eigvalsh(np.array(M.evalf(30).tolist(), dtype=float)).min())
    except (TypeError, ValueError):
        return None
    if not lam > 0:
        return None
    nice = sympy.Rational(lam).limit_denominator(1000)     # the exact λ_min when it is a simple fraction
    candidates = [nice] if abs(float(nice) - lam) <= 1e-12 * abs(lam) else []
    candidates += [sympy.Rational(lam * s).limit_denominator(10 ** 12) for s in (1 - 1e-9, 0.999, 0.9, 0.5)]
    for mu in candidates:
        if mu > 0 and exact_psd(M - mu * sympy.eye(M.rows)):
            return mu
    return None


# --------------------------------------------------------------------------------------------------------------
# 1. composition rules

def _combine(curvs) -> str:
    cs = set(curvs) - {AFFINE}
    if not cs:
        return AFFINE
    if cs == {CONVEX}:
        return CONVEX
    if cs == {CONCAVE}:
        return CONCAVE
    return UNKNOWN


def _flip(c: str) -> str:
    return {CONVEX: CONCAVE, CONCAVE: CONVEX}.get(c, c)


class _Composer:
    def __init__(self, symbols, env, deadline):
        self.symbols, self.env, self.deadline = tuple(symbols), env, deadline
        self.trace: list[str] = []

    def range(self, e):
        return I.evaluate(e, self.env)

    def is_quadratic(self, e) -> bool:
        # a degree bound on the unexpanded tree first: (x+y+z)^1000 must not be expanded to find its degree
        d = budget.degree_bound(e, self.symbols)
        if d is None or not budget.polynomial_ok(e, self.symbols):
            return False
        if d <= 2:
            return True
        try:
            return e.is_polynomial(*self.symbols) and sympy.Poly(e, *self.symbols).total_degree() <= 2
        except (sympy.PolynomialError, sympy.GeneratorsNeeded):
            return False

    def quadratic(self, q) -> str:
        H = sympy.hessian(q, self.symbols)
        if H.is_zero_matrix:
            return AFFINE
        if exact_psd(H):
            self.trace.append(f"quadratic part {q}: constant Hessian {H.tolist()} is PSD (exact)")
            return CONVEX
        if exact_psd(-H):
            self.trace.append(f"quadratic part {q}: constant Hessian {H.tolist()} is NSD (exact)")
            return CONCAVE
        return UNKNOWN

    def curv(self, e) -> str:
        if self.deadline is not None and time.monotonic() > self.deadline:
            return UNKNOWN
        if not (e.free_symbols & set(self.symbols)):
            return AFFINE
        if e.is_Symbol:
            return AFFINE
        if isinstance(e, sympy.Add):
            quad = [t for t in e.args if self.is_quadratic(t)]
            rest = [t for t in e.args if not self.is_quadratic(t)]
            curvs = [self.quadratic(sympy.Add(*quad))] if quad else []
            curvs += [self.curv(t) for t in rest]
            c = _combine(curvs)
            if c in (CONVEX, CONCAVE):
                self.trace.append(f"sum of {c}/affine terms: {e}")
            return c
        if isinstance(e, sympy.Mul):
            const = [a for a in e.args if not (a.free_symbols & set(self.symbols))]
            rest = [a for a in e.args if a.free_symbols & set(self.symbols)]
            if len(rest) == 1:
                k = self.range(sympy.Mul(*const)) if const else iv.mpf(1)
                c = self.curv(rest[0])
                if k.a > 0:
                    return c
                if k.b < 0:
                    return _flip(c)
                return UNKNOWN
            if self.is_quadratic(e):
                return self.quadratic(e)
            return UNKNOWN
        if isinstance(e, sympy.Pow):
            base, p = e.args
            if p.free_symbols:
                return UNKNOWN
            if self.is_quadratic(e):
                return self.quadratic(e)
            if p == sympy.Rational(1, 2) and self._is_norm(base):
                self.trace.append(f"Euclidean norm of affine maps or of convex >= 0 / concave <= 0 functions: "
                                  f"sqrt({base})")
                return CONVEX
            u = sympy.Dummy("u", real=True)
            lo = 0 if (not p.is_integer) else None
            return self.scalar(u ** p, u, base, f"u^{p}", domain_lo=lo)
        if isinstance(e, sympy.exp):
            u = sympy.Dummy("u", real=True)
            return self.scalar(sympy.exp(u), u, e.args[0], "exp")
        if isinstance(e, sympy.log):
            lse = self._log_sum_exp(e.args[0])
            if lse is not None:
                return lse
            u = sympy.Dummy("u", real=True)
            return self.scalar(sympy.log(u), u, e.args[0], "log", domain_lo=0)
        if isinstance(e, (sympy.sin, sympy.cos, sympy.tan, sympy.tanh)):
            u = sympy.Dummy("u", real=True)
            return self.scalar(e.func(u), u, e.args[0], e.func.__name__)
        if isinstance(e, sympy.Abs):
            g = e.args[0]
            c, U = self.curv(g), self.range(g)
            if c == AFFINE or (c == CONVEX and U.a >= 0) or (c == CONCAVE and U.b <= 0):
                self.trace.append(f"|g| with g {c} and range {U}: convex")
                return CONVEX
            return UNKNOWN
        if isinstance(e, (sympy.Max, sympy.Min)):
            cs = [self.curv(a) for a in e.args]
            want = CONVEX if isinstance(e, sympy.Max) else CONCAVE
            if all(c in (AFFINE, want) for c in cs):
                self.trace.append(f"{e.func.__name__} of {want}/affine arguments: {want}")
                return want
            return UNKNOWN
        return UNKNOWN

    def _is_norm(self, base) -> bool:
        terms = base.args if isinstance(base, sympy.Add) else (base,)
        for t in terms:
            if not (t.free_symbols & set(self.symbols)):
                if not self.range(t).a >= 0:
                    return False
                continue
            c, sq = t.as_coeff_Mul()
            if not (c > 0 and isinstance(sq, sympy.Pow) and sq.args[1].is_Integer and sq.args[1] % 2 == 0):
                return False
            g = sq.args[0] ** (sq.args[1] // 2)      # g**4 is (g**2)**2
            # ‖(g_1, ..., g_k)‖ is convex when each g_i is affine, or convex and >= 0, or concave and <= 0 (the norm
            # is nondecreasing in |g_i|)
            cg = self.curv(g)
            if cg == AFFINE:
                continue
            U = self.range(g)
            if not ((cg == CONVEX and U.a >= 0) or (cg == CONCAVE and U.b <= 0)):
                return False
        return True

    def _log_sum_exp(self, arg):
        terms = arg.args if isinstance(arg, sympy.Add) else (arg,)
        inner = []
        for t in terms:
            c, rest = t.as_coeff_Mul()
            if not (t.free_symbols & set(self.symbols)):
                if not self.range(t).a > 0:
                    return None
                continue
            if not (c > 0 and isinstance(rest, sympy.exp)):
                return None
            inner.append(rest.args[0])
        if len(terms) < 2 or not inner:
            return None
        cs = [self.curv(g) for g in inner]
        if all(c in (AFFINE, CONVEX) for c in cs):
            self.trace.append(f"log-sum-exp of convex/affine arguments: log({arg}) is convex")
            return CONVEX
        return None

    def scalar(self, h, u, g, name, domain_lo=None) -> str:
        """Curvature of h(g): h's curvature and monotonicity proved on the range of g by interval enclosures."""
        c = self.curv(g)
        if c == UNKNOWN:
            return UNKNOWN
        U = self.range(g)
        if domain_lo is not None:   # the atom's natural domain (u >= 0 or u > 0): the expression is defined there only
            if U.b < domain_lo:
                return UNKNOWN
            U = iv.mpf([max(U.a, domain_lo), U.b])
        d1 = I.evaluate(sympy.diff(h, u), {u: U})
        d2 = I.evaluate(sympy.diff(h, u, 2), {u: U})
        convex_h, concave_h = d2.a >= 0, d2.b <= 0
        inc, dec = d1.a >= 0, d1.b <= 0
        out = UNKNOWN
        if convex_h and (c == AFFINE or (inc and c == CONVEX) or (dec and c == CONCAVE)):
            out = CONVEX
        elif concave_h and (c == AFFINE or (inc and c == CONCAVE) or (dec and c == CONVEX)):
            out = CONCAVE
        if out != UNKNOWN:
            mono = "nondecreasing" if inc else ("nonincreasing" if dec else "not monotone")
            self.trace.append(f"{name}(g), g = {g} {c} with range {_show(U)}: {name} is "
                              f"{'convex' if convex_h else 'concave'} and {mono} there "
                              f"(h'' in {_show(d2)}, h' in {_show(d1)}) => {out}")
        return out


def _show(x) -> str:
    return f"[{float(x.a):.4g}, {float(x.b):.4g}]"


def composition_curvature(f: sympy.Expr, region: Region, deadline=None) -> tuple[str, tuple[str, ...]]:
    """Curvature of ``f`` on ``region`` by the composition rules, with the rule trace."""
    c = _Composer(region.symbols, region.env(), deadline)
    out = c.curv(f)
    return out, tuple(c.trace)


def prove_composition(f, region, sign=1, deadline=None) -> Proof | None:
    curv, trace = composition_curvature(f, region, deadline)
    want = CONVEX if sign > 0 else CONCAVE
    if curv in (AFFINE, want):
        if curv == AFFINE:
            trace = trace + (f"{f} is affine",)
        return Proof("composition", "convex", None, trace)
    return None


# --------------------------------------------------------------------------------------------------------------
# 2. symbolic Hessian

POS, NONNEG, NEG, NONPOS = "+", "0+", "-", "0-"


def sign_of(e: sympy.Expr, env=None) -> str | None:
    """A proved sign of ``e`` on ``env`` (symbol -> interval; None: the whole space): '+', '0+', '-', '0-' or None."""
    for form in _forms(e):
        s = _sign(form, env)
        if s is not None:
            return s
    return None


def _forms(e):
    yield e
    if not budget.rewrite_ok(e):      # rewriting large expressions costs more than it usually proves
        return
    for fn in (sympy.factor, sympy.expand, sympy.cancel):
        try:
            yield fn(e)
        except (sympy.PolynomialError, TypeError, ValueError, RecursionError):
            continue


def _sign(e, env):
    if e.is_Number:
        return POS if e > 0 else (NEG if e < 0 else NONNEG)
    s = _structural(e, env)
    if s is not None:
        return s
    if env is None:
        env = {s: I.WHOLE for s in e.free_symbols}
    v = I.evaluate(e, env)
    if v.a > 0:
        return POS
    if v.a >= 0:
        return NONNEG
    if v.b < 0:
        return NEG
    if v.b <= 0:
        return NONPOS
    return None


def _structural(e, env):
    if isinstance(e, sympy.exp):
        return POS
    if isinstance(e, sympy.Abs):
        return NONNEG
    if isinstance(e, sympy.Pow):
        b, p = e.args
        if p.is_integer and p.is_even:
            sb = _sign(b, env)
            return POS if sb in (POS, NEG) else NONNEG
        sb = _sign(b, env)
        if sb == POS:
            return POS
        if sb == NONNEG and p.is_positive:
            return NONNEG
        if p.is_integer and sb in (NEG, NONPOS):
            return sb if p.is_positive or sb == NEG else None
        return None
    if isinstance(e, sympy.Add):
        ss = [_sign(a, env) for a in e.args]
        if all(s in (POS, NONNEG) for s in ss):
            return POS if POS in ss else NONNEG
        if all(s in (NEG, NONPOS) for s in ss):
            return NEG if NEG in ss else NONPOS
        return None
    if isinstance(e, sympy.Mul):
        ss = [_sign(a, env) for a in e.args]
        if any(s is None for s in ss):
            return None
        neg = sum(s in (NEG, NONPOS) for s in ss) % 2 == 1
        strict = all(s in (POS, NEG) for s in ss)
        return (NEG if strict else NONPOS) if neg else (POS if strict else NONNEG)
    return None


def _poly_nonneg(p: sympy.Expr, x: sympy.Symbol, box=None) -> bool | None:
    """Exact: is the univariate polynomial ``p`` >= 0 on R (or on [lo, hi])? Via real roots of odd multiplicity."""
    if not budget.polynomial_ok(p, (x,)):      # Sturm sequences of high degree: past the work budget
        return None
    try:
        P = sympy.Poly(p, x)
        if not all(c.is_Rational for c in P.all_coeffs()):
            return None
        if P.is_zero:
            return True
        _, factors = P.sqf_list()
        odd = [q for q, k in factors if k % 2 == 1]
        if box is None:
            crossing = sum(q.count_roots() for q in odd if q.degree() > 0)
            probe = sympy.Rational(0)
            # no sign change: the sign everywhere is the sign at any non-root point
            while P.eval(probe) == 0:
                probe += 1
            return bool(crossing == 0 and P.eval(probe) > 0)
        lo, hi = sympy.Rational(box[0]), sympy.Rational(box[1])
        # a root of odd multiplicity strictly inside (lo, hi) is a sign change: P < 0 next to it
        crossing = sum(q.count_roots(lo, hi) - (q.eval(lo) == 0) - (q.eval(hi) == 0) for q in odd if q.degree() > 0)
        if crossing:
            return False
        probe = (lo + hi) / 2
        k = 2
        while P.eval(probe) == 0:
            probe = lo + (hi - lo) / (k + 1)
            k += 1
        return bool(P.eval(probe) > 0)
    except (sympy.PolynomialError, sympy.GeneratorsNeeded, TypeError, ValueError, NotImplementedError):
        return None


def _isolated_zeros(d2, x, X) -> bool:
    """The zeros of f'' in the interval X form a finite set (then f'' >= 0 gives strict convexity)."""
    lo = sympy.Rational(float(X.a)) if mpmath.isfinite(X.a) else -sympy.oo
    hi = sympy.Rational(float(X.b)) if mpmath.isfinite(X.b) else sympy.oo
    if not budget.rewrite_ok(d2) or budget.degree_bound(d2, (x,)) not in (None, *range(budget.MAX_DEGREE + 1)):
        return False                  # solving is past the work budget: strictness not claimed
    try:
        zeros = sympy.solveset(d2, x, sympy.Interval(lo, hi))
    except (NotImplementedError, TypeError, ValueError, RecursionError):
        return False
    return isinstance(zeros, sympy.FiniteSet) or zeros is sympy.S.EmptySet


def prove_symbolic_hessian(H: sympy.Matrix, region: Region, deadline=None) -> Proof | None:
    """``H ⪰ 0`` proved symbolically on ``region`` (exactly for constant H and univariate polynomials)."""
    n = H.rows
    syms = region.symbols
    env = region.env()
    if all(not (h.free_symbols & set(syms)) for h in H):
        psd = exact_psd(H)
        if not psd:
            return None
        mu = exact_modulus(H)
        trace = (f"Hessian is constant: {H.tolist()}", "H ⪰ 0 (exact rational arithmetic)")
        if mu is not None:
            return Proof("constant_hessian", "strongly_convex", float(mu),
                         trace + (f"H − {mu}·I ⪰ 0 (exact): strongly convex with μ = {mu}",))
        return Proof("constant_hessian", "convex", None, trace)
    if n == 1:
        d2 = H[0, 0]
        x = syms[0]
        if d2.is_polynomial(x):
            box = None if region.box is None else (region.box.lo[0], region.box.hi[0])
            if not region.conditions and _poly_nonneg(d2, x, box):
                return Proof("univariate_polynomial", "strictly_convex", None,
                             (f"f'' = {d2} is a polynomial, not identically 0, with no real root of odd "
                              f"multiplicity in {region.describe()} (exact Sturm root count): f'' >= 0 with finitely "
                              f"many zeros => strictly convex",))
        s = sign_of(d2, env)
        if s in (POS, NONNEG):
            trace = [f"f'' = {d2} is {'> 0' if s == POS else '>= 0'} on {region.describe()} (sign rules)"]
            strength = "strictly_convex" if s == POS else "convex"
            if s == NONNEG and _isolated_zeros(d2, x, env[x]):
                strength = "strictly_convex"
                trace.append(f"f'' = 0 only at finitely many points of the region (sympy solveset): strictly convex")
            return Proof("hessian_sign", strength, None, tuple(trace))
        return None
    if n > 4:
        return None
    trace = []
    leading_pos = True
    for k in range(1, n + 1):
        for idx in itertools.combinations(range(n), k):
            if deadline is not None and time.monotonic() > deadline:
                return None
            m = _minor(H, idx)
            s = sign_of(m, env)
            if s not in (POS, NONNEG):
                return None
            if idx == tuple(range(k)) and s != POS:
                leading_pos = False
            shown = sympy.factor(m) if budget.rewrite_ok(m) else m
            trace.append(f"principal minor {idx}: {shown} is {'> 0' if s == POS else '>= 0'}")
    strength = "strictly_convex" if leading_pos else "convex"
    if leading_pos:
        trace.append("leading principal minors > 0 everywhere: H ≻ 0 (Sylvester) => strictly convex")
    return Proof("hessian_minors", strength, None, tuple(trace))


def _minor(H: sympy.Matrix, idx: tuple[int, ...]) -> sympy.Expr:
    """The principal minor ``det H[idx, idx]``: sympy's Berkowitz determinant (it simplifies products) when the
    entries are small, else the Leibniz sum over permutations left unexpanded (k! terms, k <= 4), size-checked."""
    sub = H.extract(list(idx), list(idx))
    if sum(budget.nodes(e, budget.MAX_REWRITE_NODES) for e in sub) <= budget.MAX_REWRITE_NODES:
        return sub.det(method="berkowitz")
    k = len(idx)
    terms = []
    for perm in itertools.permutations(range(k)):
        inversions = sum(perm[i] > perm[j] for i in range(k) for j in range(i + 1, k))
        terms.append((-1) ** inversions * sympy.Mul(*[sub[i, perm[i]] for i in range(k)]))
    return budget.check_nodes(sympy.Add(*terms), f"principal minor {idx}")


# --------------------------------------------------------------------------------------------------------------
# 3. interval Hessian on a box

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
