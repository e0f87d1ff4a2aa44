"""1. Composition rules with ranges (see :mod:`losslens.convexity.prove`)."""
from __future__ import annotations

import time

import sympy
from mpmath import iv

from ... import budget
from .. import _interval as I
from ..region import Region, positive_by
from .proof import AFFINE, CONCAVE, CONVEX, UNKNOWN, Proof, exact_psd


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
    def __init__(self, symbols, env, deadline, positive=()):
        self.symbols, self.env, self.deadline = tuple(symbols), env, deadline
        self.positive = list(positive)     # expressions g with a region condition g > 0
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
            odd = _odd_power_of_abs(rest)
            if odd is not None:               # |g|^(2k+1), which sympy writes g^(2k)·|g|
                rest = [odd]
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
            split = self._log_of_product(e.args[0])
            if split is not None:
                return split
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

    def _log_of_product(self, arg):
        """``log(g_1·…·g_k) = Σ log(g_i)`` and ``log(g^p) = p·log(g)`` when every ``g_i`` (``g``) is proved > 0 on
        the region (``−log(x·y)`` on x, y > 0 is ``−log x − log y``); None when a factor's sign is not proved."""
        if isinstance(arg, sympy.Mul):
            parts = arg.args
        elif isinstance(arg, sympy.Pow) and not arg.args[1].free_symbols:
            parts = (arg.args[0],)
        else:
            return None
        if not all(positive_by(g, self.positive, self.env) for g in parts):
            return None
        if isinstance(arg, sympy.Pow):
            split = arg.args[1] * sympy.log(arg.args[0])
        else:
            split = sympy.Add(*[sympy.log(g) for g in parts])
        c = self.curv(split)
        if c != UNKNOWN:
            self.trace.append(f"log of a product of factors > 0: log({arg}) = {split}")
        return c

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


def _odd_power_of_abs(factors) -> sympy.Expr | None:
    """``Pow(Abs(g), 2k + 1, evaluate=False)`` for the factors ``[g^(2k), |g|]`` (in any order), else None."""
    if len(factors) != 2:
        return None
    pw = next((a for a in factors if isinstance(a, sympy.Pow)), None)
    ab = next((a for a in factors if isinstance(a, sympy.Abs)), None)
    if pw is None or ab is None or pw.args[0] != ab.args[0] or not (pw.args[1].is_integer and pw.args[1].is_even):
        return None
    return sympy.Pow(ab, pw.args[1] + 1, evaluate=False)


def _show(x) -> str:
    return f"[{float(x.a):.4g}, {float(x.b):.4g}]"


def composition_curvature(f: sympy.Expr, region: Region, deadline=None) -> tuple[str, tuple[str, ...]]:
    """Curvature of ``f`` on ``region`` by the composition rules, with the rule trace."""
    c = _Composer(region.symbols, region.env(), deadline, [d.g for d in region.conditions if d.op == ">"])
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
