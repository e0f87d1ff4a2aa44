"""Interval evaluation of sympy expression trees with outward rounding (mpmath's ``iv`` context).

``evaluate(expr, env)`` returns an interval that encloses every value ``expr`` takes when each symbol ranges over its
interval in ``env`` (inclusion isotony: ``x ∈ X  =>  f(x) ∈ F(X)``). Endpoints are rounded outward by ``mpmath.iv``,
so the enclosure is rigorous, not approximate. Infinite endpoints are allowed (``[-inf, inf]`` is the whole line).

Where an enclosure cannot be computed (a pole inside the box, an unknown node) the result is ``[-inf, inf]``: the
callers then fail to prove anything, which is the safe direction. Over a box that lies wholly outside the natural
domain of some sub-expression (``log`` of a box with ``hi <= 0``, ``sqrt`` of a negative box) there is no value to
enclose: :func:`enclose` returns ``None`` there (``evaluate`` keeps the safe ``[-inf, inf]``). On a box that meets the
domain only in part, the enclosure covers the defined points (natural-domain semantics).

Public pieces: :func:`interval`, :func:`evaluate`, :func:`enclose`, :func:`enclose_many` (several expressions over one
box, sharing sub-expressions), small box helpers (:func:`box`, :func:`volume`, :func:`mid`, :func:`width`,
:func:`inside`, :func:`bisect`) and :func:`precision`.

**Precision.** Nothing is set at import: mpmath's ``iv.prec`` stays what the user has. The enclosures run at
``max(iv.prec, PREC)`` bits (``PREC = 53``, float64's mantissa), and the analyses that chain interval operations
(critical points, convexity) run inside ``with precision():`` (exactly ``PREC`` bits, restored afterwards), so one
input gives one answer whatever the caller's mpmath settings; higher-precision checks nest their own
``with precision(113):``.
Used by ``losslens.convexity`` (Hessian certificates) and ``losslens.critical`` (zero exclusion, Krawczyk existence
certificates, lower bounds for global minima).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import mpmath
import sympy
from mpmath import iv

PREC = 53       # bits of the interval arithmetic (float64's mantissa)
WHOLE = iv.mpf(["-inf", "inf"])


@contextmanager
def precision(bits: int = PREC) -> Iterator[None]:
    """Run the block with ``iv.prec = bits``; the previous precision is restored on exit.

    >>> before = iv.prec
    >>> with precision(113):
    ...     iv.prec
    113
    >>> iv.prec == before
    True
    """
    old = iv.prec
    iv.prec = bits
    try:
        yield
    finally:
        iv.prec = old


def box(lo: Sequence[float], hi: Sequence[float]) -> list:
    """The box ``[lo_i, hi_i]`` as a list of intervals."""
    return [iv.mpf([a, b]) for a, b in zip(lo, hi)]


def volume(X: Sequence) -> float:
    """Product of the widths of the box ``X`` (a list of intervals)."""
    out = 1.0
    for x in X:
        out *= width(x)
    return out


def interval(lo, hi=None):
    """An interval ``[lo, hi]`` (``hi = lo`` by default); floats and ``±inf`` accepted."""
    if hi is None:
        hi = lo
    return iv.mpf([_endpoint(lo), _endpoint(hi)])


def _endpoint(v):
    if isinstance(v, (int, float)):
        return mpmath.mpf(v)
    return v


def lo(x) -> float:
    return float(x.a)


def hi(x) -> float:
    return float(x.b)


def is_finite(x) -> bool:
    return bool(mpmath.isfinite(x.a) and mpmath.isfinite(x.b))


def rational(q: sympy.Rational):
    """Outward-rounded enclosure of an exact rational."""
    return iv.mpf(int(q.p)) / iv.mpf(int(q.q))


def evaluate(expr: sympy.Basic, env: Mapping[sympy.Symbol, object]):
    """Interval enclosure of ``expr`` over the box ``env`` (symbol -> interval)."""
    try:
        with precision(max(iv.prec, PREC)):
            out = _eval(expr, env, {})
    except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError):
        return WHOLE
    if mpmath.isnan(out.a) or mpmath.isnan(out.b):
        return WHOLE
    return out


class DomainError(ValueError):
    """The whole box lies outside the natural domain of a sub-expression: there is no value to enclose."""


def enclose(expr: sympy.Basic, env: Mapping[sympy.Symbol, object]):
    """Like :func:`evaluate`, but ``None`` when the box lies wholly outside ``expr``'s natural domain.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> enclose(sympy.log(x), {x: interval(-2, -1)}) is None
    True
    """
    return enclose_many([expr], env)[0]


def enclose_many(exprs: Sequence[sympy.Basic], env: Mapping[sympy.Symbol, object]) -> list:
    """Enclosures of several expressions over one box (shared sub-expressions are evaluated once).

    Each entry is an interval, or ``None`` when the box lies wholly outside that expression's natural domain.
    """
    cache: dict = {}
    out = []
    for e in exprs:
        try:
            with precision(max(iv.prec, PREC)):
                v = _eval(sympy.sympify(e), env, cache)
        except DomainError:
            out.append(None)
            continue
        except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError):
            v = WHOLE
        if mpmath.isnan(v.a) or mpmath.isnan(v.b):
            v = WHOLE
        out.append(v)
    return out


def mid(x) -> float:
    """Midpoint of a finite interval as a float."""
    return 0.5 * float(x.a) + 0.5 * float(x.b)


def width(x) -> float:
    return float(x.b) - float(x.a)


def inside(inner, outer) -> bool:
    """``inner`` lies in the interior of ``outer`` (strictly, both ends)."""
    return bool(outer.a < inner.a and inner.b < outer.b)


def bisect(box: Sequence, axis: int) -> tuple[list, list]:
    """Split a box (a list of intervals) at the midpoint of coordinate ``axis``."""
    x = box[axis]
    m = mpmath.mpf(mid(x))
    left, right = list(box), list(box)
    left[axis] = iv.mpf([x.a, m])
    right[axis] = iv.mpf([m, x.b])
    return left, right


def _contains_zero(x) -> bool:
    return x.a <= 0 <= x.b


def _pow_int(x, k: int):
    """x**k with the tight enclosure for even k (x**2 over [-1, 2] is [0, 4], not [-2, 4])."""
    if k == 0:
        return iv.mpf(1)
    if k < 0:
        base = _pow_int(x, -k)
        # u**-k is undefined at u = 0, so the enclosure covers the defined points only
        if base.a == 0 and base.b > 0:
            return iv.mpf([(1 / iv.mpf(base.b)).a if mpmath.isfinite(base.b) else 0, mpmath.inf])
        if base.b == 0 and base.a < 0:
            return iv.mpf([-mpmath.inf, (1 / iv.mpf(base.a)).b if mpmath.isfinite(base.a) else 0])
        if _contains_zero(base):
            return WHOLE
        return 1 / base
    a, b = x.a, x.b
    if k % 2 == 0:
        m = iv.mpf(max(abs(a), abs(b))) if mpmath.isfinite(a) and mpmath.isfinite(b) else iv.mpf("inf")
        top = (m ** k).b if mpmath.isfinite(m.b) else mpmath.inf
        if a >= 0:
            return iv.mpf([(iv.mpf(a) ** k).a, (iv.mpf(b) ** k).b if mpmath.isfinite(b) else mpmath.inf])
        if b <= 0:
            return iv.mpf([(iv.mpf(b) ** k).a, (iv.mpf(a) ** k).b if mpmath.isfinite(a) else mpmath.inf])
        return iv.mpf([0, top])
    # odd powers are increasing
    low = (iv.mpf(a) ** k).a if mpmath.isfinite(a) else -mpmath.inf
    high = (iv.mpf(b) ** k).b if mpmath.isfinite(b) else mpmath.inf
    return iv.mpf([low, high])


def _monotone(fn, x, increasing=True):
    """Enclosure of a monotone function from its endpoint enclosures."""
    a = fn(iv.mpf(x.a)) if mpmath.isfinite(x.a) else None
    b = fn(iv.mpf(x.b)) if mpmath.isfinite(x.b) else None
    if increasing:
        return iv.mpf([a.a if a is not None else -mpmath.inf, b.b if b is not None else mpmath.inf])
    return iv.mpf([b.a if b is not None else -mpmath.inf, a.b if a is not None else mpmath.inf])


def _tanh_point(p):
    return 1 - 2 / (iv.exp(2 * p) + 1)


def _periodic(fn, x):
    if not is_finite(x) or x.b - x.a > 7:
        return iv.mpf([-1, 1])
    return fn(x)


def _eval(e, env, cache):
    if e in cache:
        return cache[e]
    out = _eval_node(e, env, cache)
    cache[e] = out
    return out


def _eval_node(e, env, cache):
    if e.is_Symbol:
        if e not in env:
            raise ValueError(f"no interval for {e}")
        return env[e]
    if e.is_Rational:
        return rational(e)
    if e is sympy.pi:
        return iv.pi
    if e is sympy.E:
        return iv.e
    if e.is_Number:   # a Float that slipped in: enclose its decimal value
        return iv.mpf(str(e))
    if isinstance(e, sympy.Add):
        out = iv.mpf(0)
        for a in e.args:
            out = out + _eval(a, env, cache)
        return out
    if isinstance(e, sympy.Mul):
        out = iv.mpf(1)
        for a in e.args:
            v = _eval(a, env, cache)
            out = _mul(out, v)
        return out
    if isinstance(e, sympy.Pow):
        base, p = e.args
        x = _eval(base, env, cache)
        if p.is_Integer:
            return _pow_int(x, int(p))
        if p.is_Rational or p.is_Number:
            if x.b < 0:
                raise DomainError("fractional power of a negative number")
            x = iv.mpf([max(x.a, 0), x.b])       # the natural domain: base >= 0
            pv = rational(p) if p.is_Rational else iv.mpf(str(p))
            if x.a == 0:
                if x.b == 0:
                    if pv.a > 0:
                        return iv.mpf(0)
                    raise DomainError("0 to a non-positive power")
                top = iv.exp(pv * iv.log(iv.mpf(x.b))) if mpmath.isfinite(x.b) else None
                if pv.a > 0:     # increasing on [0, b]
                    return iv.mpf([0, top.b if top is not None else mpmath.inf])
                if pv.b < 0:     # decreasing on (0, b]; u = 0 is outside the natural domain
                    return iv.mpf([top.a if top is not None else 0, mpmath.inf])
                return WHOLE
            return iv.exp(pv * iv.log(x))
        y = _eval(p, env, cache)
        if x.a <= 0:
            return WHOLE
        return iv.exp(_mul(y, iv.log(x)))
    if not e.args:
        raise ValueError(f"unknown atom {e}")
    fn = e.func
    if fn is sympy.Max or fn is sympy.Min:
        vals = [_eval(a, env, cache) for a in e.args]
        pick = max if fn is sympy.Max else min
        return iv.mpf([pick(v.a for v in vals), pick(v.b for v in vals)])
    x = _eval(e.args[0], env, cache)
    if fn is sympy.exp:
        return iv.exp(x) if x.b < mpmath.inf else iv.mpf([iv.exp(iv.mpf(x.a)).a if mpmath.isfinite(x.a) else 0,
                                                          mpmath.inf])
    if fn is sympy.log:
        if x.b <= 0:
            raise DomainError("log of a non-positive number")
        x = iv.mpf([max(x.a, 0), x.b])
        return _monotone(iv.log, x) if x.a > 0 else iv.mpf([-mpmath.inf, iv.log(iv.mpf(x.b)).b
                                                             if mpmath.isfinite(x.b) else mpmath.inf])
    if fn is sympy.Abs:
        if x.a >= 0:
            return x
        if x.b <= 0:
            return -x
        return iv.mpf([0, max(-x.a, x.b)])
    if fn is sympy.sin:
        return _periodic(iv.sin, x)
    if fn is sympy.cos:
        return _periodic(iv.cos, x)
    if fn is sympy.tanh:
        t = _monotone(_tanh_point, x)
        return iv.mpf([max(t.a, -1), min(t.b, 1)])
    if fn is sympy.tan:
        if not is_finite(x):
            return WHOLE
        # tan is increasing between poles π/2 + kπ; refuse when a pole may lie in x: the enclosures of
        # (a − π/2)/π and (b − π/2)/π must lie strictly inside one cell (k, k + 1)
        cells = [(iv.mpf(t) - iv.pi / 2) / iv.pi for t in (x.a, x.b)]
        ends = [mpmath.mpf(e) for c in cells for e in (c.a, c.b)]
        if len({mpmath.floor(e) for e in ends}) != 1 or mpmath.floor(ends[0]) == ends[0]:
            return WHOLE
        return _monotone(iv.tan, x)
    if fn is sympy.sign:
        if x.a > 0:
            return iv.mpf(1)
        if x.b < 0:
            return iv.mpf(-1)
        return iv.mpf([-1 if x.a < 0 else 0, 1 if x.b > 0 else 0])
    if fn is sympy.Heaviside:
        if x.a > 0:
            return iv.mpf(1)
        if x.b < 0:
            return iv.mpf(0)
        return iv.mpf([0, 1])
    if fn is sympy.DiracDelta:
        if x.a > 0 or x.b < 0:
            return iv.mpf(0)
        return iv.mpf([0, mpmath.inf])
    raise ValueError(f"no interval rule for {fn}")


def _mul(a, b):
    """Product that treats 0 * inf as 0 (a zero factor times an unbounded one is exactly zero here)."""
    if a.a == 0 and a.b == 0:
        return iv.mpf(0)
    if b.a == 0 and b.b == 0:
        return iv.mpf(0)
    out = a * b
    if mpmath.isnan(out.a) or mpmath.isnan(out.b):
        return WHOLE
    return out
