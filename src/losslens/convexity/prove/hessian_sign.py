"""2. The symbolic Hessian: constant and PSD, univariate root counting, principal minors of provable sign (see
:mod:`losslens.convexity.prove`)."""
from __future__ import annotations

import itertools
import time

import mpmath
import sympy

from ... import budget
from .. import _interval as I
from ..region import Region
from .proof import Proof, exact_modulus, exact_psd


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


def _poly_zero(p: sympy.Expr, x: sympy.Symbol) -> bool:
    """Is the polynomial ``p`` identically 0 once expanded (``(x+1)^2 - x^2 - 2x - 1``)? False past the budget."""
    try:
        return budget.poly(p, x).is_zero
    except sympy.PolynomialError:
        return False


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
                if _poly_zero(d2, x):       # (x+1)^4 - x^4 - 4x^3 - 6x^2 is 4x + 1: affine, not strictly convex
                    return Proof("univariate_polynomial", "convex", None,
                                 (f"f'' = {d2} is identically 0 (exact expansion): f is affine, convex but not "
                                  f"strictly",))
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
                trace.append("f'' = 0 only at finitely many points of the region (sympy solveset): strictly convex")
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
