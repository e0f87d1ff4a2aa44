"""Where a convexity verdict holds: the whole space, a box, the natural domain of the expression, or box ∩ domain.

The natural domain is the set where every recorded condition of the expression holds (``log`` argument > 0,
denominator != 0, ...). Each condition is brought to one of the forms ``g > 0``, ``g >= 0`` or ``g != 0`` and checked
with interval arithmetic, so membership answers are proofs or "undecided", never guesses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import sympy

from .. import budget
from ..objective import Box
from ..validation import InputError
from . import _interval as I

WHOLE_SPACE, BOX, NATURAL, BOX_NATURAL = "whole_space", "box", "natural_domain", "box_and_natural_domain"


@dataclass(frozen=True)
class Condition:
    """``g > 0`` (op ``>``), ``g >= 0`` (op ``>=``) or ``g != 0`` (op ``!=``), with the label it came from."""

    label: str
    g: sympy.Expr
    op: str

    def holds(self, env) -> bool | None:
        """True if proved on all of ``env`` (symbol -> interval), False if proved violated on all, else None."""
        v = I.evaluate(self.g, env)
        if self.op == ">":
            return True if v.a > 0 else (False if v.b <= 0 else None)
        if self.op == ">=":
            return True if v.a >= 0 else (False if v.b < 0 else None)
        return True if (v.a > 0 or v.b < 0) else (False if v.a == v.b == 0 else None)

    def __str__(self) -> str:
        return f"{self.g} {self.op} 0"


def _expanded(g: sympy.Expr) -> sympy.Expr:
    """``expand(g)`` within the work budget, else ``g`` as it is (an equivalent form, only less normalised)."""
    return sympy.expand(g) if budget.rewrite_ok(g) else g


def _condition(label: str, cond: sympy.Basic) -> Condition:
    if cond is sympy.false:           # sympy decided it: log(-x^2 - 1) needs -x^2 - 1 > 0, which never holds
        raise InputError(f"expression is defined nowhere ({label} never holds)")
    if isinstance(cond, sympy.Ne):
        return Condition(label, _expanded(cond.lhs - cond.rhs), "!=")
    if isinstance(cond, (sympy.StrictGreaterThan, sympy.StrictLessThan)):
        g = cond.gts - cond.lts
        return Condition(label, g, ">")
    if isinstance(cond, (sympy.GreaterThan, sympy.LessThan)):
        return Condition(label, cond.gts - cond.lts, ">=")
    raise InputError(f"domain condition {cond} is not an inequality")


@dataclass(frozen=True)
class Region:
    """A box (or the whole space) intersected with natural-domain conditions, over ``symbols``."""

    symbols: tuple[sympy.Symbol, ...]
    box: Box | None
    conditions: tuple[Condition, ...]

    @classmethod
    def of(cls, expression, box: Box | None, where: tuple[Condition, ...] = ()) -> "Region":
        """The region of ``expression`` on ``box`` (None: the whole space), further restricted by ``where``."""
        conds = tuple(_condition(label, c) for label, c in expression.domain) + tuple(where)
        region = cls(tuple(expression.symbols), box, ())
        env = region.env()
        # conditions that hold on the whole box (or space) say nothing: drop them, fail on ones that never hold
        kept = []
        for c in conds:
            h = c.holds(env)
            if h is False:
                where = f"box {box}" if box is not None else "the whole space"
                if c.label.startswith("where "):
                    raise InputError(f"the region is empty: {c.label} holds nowhere on {where}")
                raise InputError(f"box == {box}: the expression is undefined on all of {where} ({c.label})"
                                 if box is not None else f"expression is defined nowhere ({c.label})")
            if h is None:
                kept.append(c)
        empty = empty_because(kept, box, tuple(expression.symbols))
        if empty is not None:
            raise InputError(f"the region is empty: {empty}")
        # drop a condition implied by the others (y != 0 given y > 0; x > 0 given x >= 1), one at a time
        for c in list(kept):
            others = [d for d in kept if d is not c]
            implied = c.op == "!=" and any(d.op == ">" and (_expanded(d.g - c.g) == 0 or
                                                             _expanded(d.g + c.g) == 0) for d in others)
            env = cls(tuple(expression.symbols), box, tuple(others)).env()
            if implied or c.holds(env) is True or (c.op in (">", ">=", "!=") and
                                                   positive_by(c.g, [d.g for d in others if d.op == ">"], env)):
                kept = others
        return cls(tuple(expression.symbols), box, tuple(kept))

    @property
    def kind(self) -> str:
        """whole_space | box | natural_domain | box_and_natural_domain (``where`` conditions count as domain)."""
        if self.box is None:
            return NATURAL if self.conditions else WHOLE_SPACE
        return BOX_NATURAL if self.conditions else BOX

    @property
    def n(self) -> int:
        return len(self.symbols)

    def env(self, lo=None, hi=None) -> dict:
        """symbol -> interval for the box (``lo``/``hi`` override it), or the whole line for each variable."""
        if lo is None:
            if self.box is None:
                lo, hi = [-math.inf] * self.n, [math.inf] * self.n
            else:
                lo, hi = self.box.lo, self.box.hi
        lo, hi = list(lo), list(hi)
        for c in self.conditions:     # a condition k*s + c0 > 0 (or >= 0) on one variable bounds that variable
            bound = _single_variable_bound(c, self.symbols)
            if bound is not None:
                i, side, v = bound
                if side == "lo":
                    lo[i] = max(lo[i], v)
                else:
                    hi[i] = min(hi[i], v)
        return {s: I.interval(a, b) if a <= b else I.interval(b, a) for s, a, b in zip(self.symbols, lo, hi)}

    def mask(self, X):
        """Float check of every condition on the rows of ``X`` [m, n] (a filter for searches, not a proof)."""
        import numpy as np
        import torch

        ok = torch.ones(len(X), dtype=torch.bool)
        cols = [X[:, i].numpy() for i in range(self.n)]
        for c in self.conditions:
            fn = sympy.lambdify(self.symbols, c.g, "numpy")
            with np.errstate(all="ignore"):
                v = torch.as_tensor(np.broadcast_to(np.asarray(fn(*cols), dtype=float), (len(X),)).copy())
            ok &= (v > 0) if c.op == ">" else ((v >= 0) if c.op == ">=" else (v != 0))
        return ok

    def point_env(self, x) -> dict:
        return {s: I.interval(float(v)) for s, v in zip(self.symbols, x)}

    def contains(self, x, strict: bool = False) -> bool:
        """Proved membership of the point ``x`` (floats): in the box and every condition proved."""
        if self.box is not None:
            for v, a, b in zip(x, self.box.lo, self.box.hi):
                if not (a < v < b if strict else a <= v <= b):
                    return False
        env = self.point_env(x)
        return all(c.holds(env) is True for c in self.conditions)

    def contains_segment(self, a, b) -> bool:
        """Proved: the whole segment [a, b] lies in the region (box is convex; conditions checked on the hull)."""
        if not (self.contains(a) and self.contains(b)):
            return False
        lo = [min(u, v) for u, v in zip(a, b)]
        hi = [max(u, v) for u, v in zip(a, b)]
        env = self.env(lo, hi)
        return all(c.holds(env) is True for c in self.conditions)

    def sampling_boxes(self) -> list[Box]:
        """Finite boxes to search for witnesses: the box itself, or growing cubes around the origin."""
        if self.box is not None:
            return [self.box]
        return [Box.cube(-s, s, self.n) for s in (1.0, 4.0, 20.0)]

    def describe(self) -> str:
        parts = []
        if self.box is not None:
            parts.append(f"the box {self.box}")
        natural = [str(c) for c in self.conditions if not c.label.startswith("where ")]
        where = [c.label[len("where "):] for c in self.conditions if c.label.startswith("where ")]
        if natural:
            parts.append("the natural domain (" + ", ".join(natural) + ")")
        if where:
            parts.append("{" + ", ".join(where) + "}")
        return " ∩ ".join(parts) if parts else "the whole space"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "box": None if self.box is None else self.box.to_dict(),
                "conditions": [{"label": c.label, "condition": str(c)} for c in self.conditions],
                "text": self.describe()}


def positive_by(g: sympy.Expr, positive: list, env) -> bool:
    """Proved ``g > 0`` wherever every expression in ``positive`` is > 0 and the variables lie in ``env``: g is one
    of them, a number > 0, ``exp(·)``, or a product, sum or constant power of such factors, or its enclosure on
    ``env`` is > 0 (``x·y > 0`` given ``x > 0`` and ``y > 0``, which intervals on the closed ``[0, ∞)`` miss)."""
    if g.is_Number:
        return bool(g > 0)
    if isinstance(g, sympy.exp) or any(_expanded(g - d) == 0 for d in positive):
        return True
    if isinstance(g, (sympy.Mul, sympy.Add)):
        return all(positive_by(a, positive, env) for a in g.args)
    if isinstance(g, sympy.Pow) and g.args[1].is_Number:
        return positive_by(g.args[0], positive, env)
    return bool(I.evaluate(g, env).a > 0)


def _exact_bound(c: Condition, symbols):
    """``k*s + c0 > 0`` (or ``>= 0``) -> (index of s, "lo" or "hi", the exact rational -c0/k, strict?); else None."""
    if c.op == "!=" or len(c.g.free_symbols) != 1:
        return None
    (s,) = c.g.free_symbols
    if s not in symbols:
        return None
    if budget.degree_bound(c.g, (s,)) != 1:     # x^1000 > 0 is not a bound on x; and it is not expanded to see that
        return None
    try:
        p = sympy.Poly(c.g, s)
    except sympy.PolynomialError:
        return None
    if p.degree() != 1 or not all(q.is_Rational for q in p.all_coeffs()):
        return None
    k, c0 = p.all_coeffs()
    return symbols.index(s), "lo" if k > 0 else "hi", -c0 / k, c.op == ">"


def _single_variable_bound(c: Condition, symbols):
    """``k*s + c0 > 0`` -> (index of s, "lo" or "hi", -c0/k) as a float rounded outward; else None."""
    bound = _exact_bound(c, symbols)
    if bound is None:
        return None
    i, side, v, _ = bound
    fv = float(v)
    if side == "lo":   # s > v: a lower bound, rounded down
        return i, "lo", fv if sympy.Rational(fv) <= v else math.nextafter(fv, -math.inf)
    return i, "hi", fv if sympy.Rational(fv) >= v else math.nextafter(fv, math.inf)


def empty_because(conditions, box: Box | None, symbols) -> str | None:
    """Why ``box ∩ {conditions}`` is empty, when bounds on one variable contradict each other (exact rationals,
    strictness kept: ``x > 1`` and ``x <= 1`` leave nothing); None when no such contradiction is found.

    >>> x = sympy.Symbol("x", real=True)
    >>> empty_because([Condition("where x > 1", x - 1, ">"), Condition("where x <= 1", 1 - x, ">=")], None, (x,))
    'where x > 1 and where x <= 1 leave no value of x'
    """
    n = len(symbols)
    lo = [None if box is None else (sympy.Rational(box.lo[i]), False, f"box {box}") for i in range(n)]
    hi = [None if box is None else (sympy.Rational(box.hi[i]), False, f"box {box}") for i in range(n)]
    for c in conditions:
        bound = _exact_bound(c, symbols)
        if bound is None:
            continue
        i, side, v, strict = bound
        ends = lo if side == "lo" else hi
        old = ends[i]
        tighter = old is None or (v > old[0] if side == "lo" else v < old[0]) or (v == old[0] and strict)
        if tighter:
            ends[i] = (v, strict, c.label)
    for i in range(n):
        if lo[i] is not None and hi[i] is not None:
            (a, sa, la), (b, sb, lb) = lo[i], hi[i]
            if a > b or (a == b and (sa or sb)):
                return f"{la} and {lb} leave no value of {symbols[i]}"
    return None


def finite(v) -> bool:
    return isinstance(v, float) and math.isfinite(v)
