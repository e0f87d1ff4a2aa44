"""Convex sets given by inequalities: membership, a convexity proof, or a witness pair whose mix leaves the set.

A set is a union of conjunctions (``"x^2+y^2<=1 and y>=x^2"``, ``"... or ..."``). Each inequality ``lhs ≤ rhs``
becomes a constraint ``g = lhs − rhs ≤ 0`` (``<`` gives ``g < 0``; ``==`` gives both ``g ≤ 0`` and ``−g ≤ 0``;
chains ``0 <= x <= 1`` split in two). The grammar (``and``/``or``, chains, ``≤``/``≥``, ``==``/``=``, at most
``MAX_RELATIONS`` relations) is the one of :mod:`losslens.relations`, shared with constrained optimization; each
side is parsed by the safe expression language (:mod:`losslens.expr`) — never evaluated as Python.

* **Proof** (one conjunction): every ``g_i`` convex on its natural domain (by :func:`check_convexity`) — a sublevel
  set ``{g ≤ 0}`` (or ``{g < 0}``) of a convex function is convex, and so is an intersection of convex sets.
* **Refutation**: points ``a, b`` proved inside (every constraint of some part strictly satisfied, in interval
  arithmetic) and ``m = λa + (1−λ)b`` proved outside (in each part some ``g_j(m) > 0`` or ``m`` outside the natural
  domain of a ``g_j``). ``violation`` is the proved lower bound of the smallest such ``g_j(m)``.
* **Empty sets** are refused (InputError) when interval bounds prove a part empty.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import sympy
import torch
from mpmath import iv

from ..expr import Expression, natural_order
from ..relations import Box, Constraint, disjunction, names_of, to_inequalities
from ..results import Result, VariablesAlias
from ..validation import InputError, check_float, check_int, check_point
from . import _interval as I
from .check import as_objective, check_convexity, domain_convexity, prove_convex
from .prove import sign_of
from .refute import onto_zero_set
from .region import Condition, Region, _condition, empty_because

_CONVEX_WORDS = ("convex", "strictly_convex", "strongly_convex")


@dataclass(frozen=True)
class SetSpec:
    """The union over ``parts`` of the conjunction of each part's constraints, over ``variables``."""

    text: str
    variables: tuple[str, ...]
    parts: tuple[tuple[Constraint, ...], ...]

    def expression(self, c: Constraint) -> Expression:
        """g of the constraint ``c`` over this set's variables."""
        return c.over(self.variables).expression

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        return tuple(sympy.Symbol(v, real=True) for v in self.variables)

    @property
    def n(self) -> int:
        return len(self.variables)

    def contains(self, x) -> bool | None:
        """Proved membership of the point ``x`` [n]: True, False, or None (undecided at float precision)."""
        x = check_point("point", x, self.n).tolist()
        states = [_part_state(self, part, x) for part in self.parts]
        if any(s is True for s in states):
            return True
        if all(s is False for s in states):
            return False
        return None


def parse_set(text: str, vars=None) -> SetSpec:
    """Parse ``"x^2+y^2<=1 and y>=x^2"`` (``and``, ``or``, chains, ``==``) into a :class:`SetSpec`.

    >>> s = parse_set("x^2 + y^2 <= 1 and y >= x^2")
    >>> s.variables, len(s.parts[0]), s.contains([0, 0.5])
    (('x', 'y'), 2, True)
    """
    relations = disjunction(text, "set")
    names = names_of([r for part in relations for r in part])
    if vars is not None:
        declared = [v.strip() for v in vars.split(",")] if isinstance(vars, str) else list(vars)
        unknown = sorted(names - set(declared))
        if unknown:
            raise InputError(f"constraint uses unknown variable(s) {', '.join(unknown)}; vars are "
                             f"{','.join(declared)}")
        variables = tuple(declared)
    else:
        if not names:
            raise InputError(f"set {text.strip()!r} has no variables")
        variables = tuple(natural_order(names))
    parts = tuple(tuple(c for r in part for c in to_inequalities(r, variables)) for part in relations)
    spec = SetSpec(text.strip(), variables, parts)
    _refuse_empty(spec)
    return spec


def sublevel_set(objective, level: float, vars=None, strict: bool = False) -> SetSpec:
    """``{x : f(x) ≤ c}`` (``< c`` if strict) of an expression, catalog name or analytic objective."""
    obj = as_objective(objective, vars)
    level = check_float("level", level)
    op = "<" if strict else "<="
    text = f"{obj.expression.text} {op} {level!r}"
    return parse_set(text, obj.names)


def intersect(a: SetSpec, b: SetSpec) -> SetSpec:
    """A ∩ B (distributes over the parts of unions)."""
    variables = tuple(natural_order(set(a.variables) | set(b.variables)))
    parts = tuple(pa + pb for pa in a.parts for pb in b.parts)
    spec = SetSpec(f"({a.text}) and ({b.text})", variables, parts)
    _refuse_empty(spec)
    return spec


def union(a: SetSpec, b: SetSpec) -> SetSpec:
    """A ∪ B."""
    variables = tuple(natural_order(set(a.variables) | set(b.variables)))
    return SetSpec(f"({a.text}) or ({b.text})", variables, a.parts + b.parts)


# --------------------------------------------------------------------------------------------------------------

def _bound(spec, c: Constraint) -> bool:
    """Is the constraint ``k*s + c0 <= 0`` for one variable ``s`` (a half-space bounding s)?"""
    g = spec.expression(c).sympy
    if len(g.free_symbols) != 1:
        return False
    (s,) = g.free_symbols
    try:
        P = sympy.Poly(g, s)
    except sympy.PolynomialError:
        return False
    return P.degree() == 1 and all(q.is_Rational for q in P.all_coeffs())


def _quasiconvex_rule(e: Expression, region: Region, deadline) -> str | None:
    """A proof that {g <= 0} ∩ region is convex although g is not proved convex, or None.

    * g = a(x)·v + b(x) linear in a variable v with a(x) of proved sign on the region: {g <= 0} = {±(v + b/a) <= 0};
      prove that function convex.
    * g of one variable v with g' of proved sign on the region: {g <= 0} is an interval in v (a slab).
    * g = A(x) − c·v² (c > 0 a number, A free of v and proved >= 0) with the region keeping v >= 0 (v <= 0):
      {g <= 0} = {sqrt(A/c) − v <= 0} ({sqrt(A/c) + v <= 0}); prove that function convex (a second-order cone:
      x² + y² <= z² with z >= 0).
    """
    g = e.sympy
    convex_region, _ = domain_convexity(region, deadline)
    if not convex_region:      # {1/x <= 1} is monotone on each piece of x != 0, yet not convex
        return None
    env = region.env()
    if len(g.free_symbols) == 1:
        (v,) = g.free_symbols
        s = sign_of(sympy.diff(g, v), env)
        if s is not None:
            return f"g depends on {v} only and is monotone there (g' {'>=' if s in ('+', '0+') else '<='} 0): " \
                   f"its sublevel set is an interval"
    for v in region.symbols:
        cone = _cone_rule(g, v, region, env, deadline)
        if cone is not None:
            return cone
    for v in region.symbols:
        if v not in g.free_symbols or not g.is_polynomial(v):
            continue
        if sympy.degree(g, v) != 1:
            continue
        a = sympy.diff(g, v)
        b = sympy.expand(g - a * v)
        s = sign_of(a, env)
        if s in ("0+", "0-"):      # a = k * d with a strict condition d > 0: the sign is strict
            for d in region.conditions:
                k = sympy.simplify(a / d.g) if d.op == ">" else None
                if k is not None and k.is_Number and k != 0:
                    s = "+" if k > 0 else "-"
        if s in ("0+", "0-") and _nonzero_part_convex(a, region.symbols, env) and sign_of(b, env) == "+":
            s = s[1]    # where a = 0, g = b > 0: the set lies in {a ≠ 0} ∩ region, a convex set
        if s not in ("+", "-"):
            continue
        h = v + b / a if s == "+" else -(v + b / a)
        if prove_convex(h, region, deadline) is not None:
            return f"g is linear in {v} with coefficient {a} {'> 0' if s == '+' else '< 0'}: g <= 0 iff {h} <= 0, " \
                   f"a convex function"
    return None


def _cone_rule(g: sympy.Expr, v: sympy.Symbol, region: Region, env, deadline) -> str | None:
    """The second-order-cone case of :func:`_quasiconvex_rule` for the variable ``v``, or None."""
    if v not in g.free_symbols or v not in env or not g.is_polynomial(v) or sympy.degree(g, v) != 2:
        return None
    c = -sympy.expand(g).coeff(v, 2)
    A = g + c * v ** 2                     # unexpanded where g was: (x − 1)² + y² keeps its squares
    side = "+" if env[v].a >= 0 else ("-" if env[v].b <= 0 else None)
    if not (c.is_Number and c > 0) or v in A.free_symbols or side is None or sign_of(A, env) not in ("+", "0+"):
        return None
    h = sympy.sqrt(A / c) - v if side == "+" else sympy.sqrt(A / c) + v
    if prove_convex(h, region, deadline) is None:
        return None
    return f"g = {A} − {c}·{v}² with {v} {'>=' if side == '+' else '<='} 0 and {A} >= 0: g <= 0 iff {h} <= 0, " \
           f"a convex function (a second-order cone)"


def _nonzero_part_convex(a: sympy.Expr, symbols, env) -> bool:
    """Is ``{a ≠ 0} ∩ region`` convex for an ``a`` of one weak sign on the region: ``a`` affine (a half-space), or
    ``c·u^p`` for one variable ``u`` that the region keeps on one side of 0 (then ``{a ≠ 0}`` is ``u > 0`` or
    ``u < 0``)? ``x²`` on the whole plane is not: ``{x ≠ 0}`` has two halves."""
    if all(a.is_polynomial(v) and sympy.degree(a, v) <= 1 for v in symbols) and \
            all(sympy.diff(a, u, v) == 0 for u in symbols for v in symbols):
        return True
    if len(a.free_symbols) != 1:
        return False
    (u,) = a.free_symbols
    coeff, rest = a.as_coeff_Mul()
    monomial = rest == u or (rest.is_Pow and rest.base == u and rest.exp.is_Integer and rest.exp > 0)
    return bool(monomial and coeff != 0 and u in env and (env[u].a >= 0 or env[u].b <= 0))


def _constraint_state(spec, c: Constraint, x, strict_inside: bool = True) -> bool | None:
    """True: proved satisfied (strictly, if ``strict_inside``); False: proved violated; None: undecided."""
    e = spec.expression(c)
    region = Region(e.symbols, None, ())
    env = region.point_env(x)
    for label, cond in e.domain:          # outside the natural domain of g the point is not in the set
        h = False if cond is sympy.false else _condition(label, cond).holds(env)
        if h is False:
            return False
        if h is None:
            return None
    v = I.evaluate(e.sympy, env)
    if not I.is_finite(v):
        return None
    if v.b < 0 or (not strict_inside and not c.strict and v.b <= 0):
        return True
    if v.a > 0 or (c.strict and v.a >= 0):
        return False
    return None


def _part_state(spec, part, x, strict_inside=False):
    states = [_constraint_state(spec, c, x, strict_inside) for c in part]
    if all(s is True for s in states):
        return True
    if any(s is False for s in states):
        return False
    return None


def _violation(spec, part, x) -> float | None:
    """Proved lower bound of max_j g_j(x) > 0 over the part's constraints (None if no violation is proved)."""
    best = None
    for c in part:
        e = spec.expression(c)
        region = Region(e.symbols, None, ())
        env = region.point_env(x)
        v = I.evaluate(e.sympy, env)
        if I.is_finite(v) and v.a > 0:
            best = float(v.a) if best is None else max(best, float(v.a))
        elif _constraint_state(spec, c, x) is False:
            best = math.inf if best is None else best
    return best


def _refuse_empty(spec: SetSpec) -> None:
    """InputError if every part is proved empty by interval bounds (variable bounds from one-variable constraints)."""
    if not all(_part_empty(spec, part) for part in spec.parts):
        return
    raise InputError(f"set {spec.text!r} is empty: its constraints cannot hold together")


def _part_empty(spec, part) -> bool:
    """Proved empty: bounds on one variable contradict each other (exact, strictness kept: ``x < 0 and x > 0``;
    the natural domains of the constraints count: ``log(-y) <= 1 and y > 0.5``), or some constraint or domain
    condition cannot hold on the box those bounds leave (interval enclosure: ``log(-x^2 - 1) <= 1``)."""
    syms = spec.symbols
    exprs = [(c, spec.expression(c)) for c in part]
    if any(cond is sympy.false for _, e in exprs for _, cond in e.domain):
        return True                       # a constraint defined nowhere (log(-x^2 - 1) <= 1)
    conds = tuple(Condition(c.text, -e.sympy, ">" if c.strict else ">=") for c, e in exprs) + \
        tuple(_condition(label, cond) for _, e in exprs for label, cond in e.domain)
    if empty_because(conds, None, syms) is not None:
        return True
    env = Region(syms, None, conds).env()     # each one-variable bound k*s + c0 <= 0 narrows s (outward rounded)
    return any(d.holds(env) is False for d in conds)


@dataclass(frozen=True)
class SetWitness(Result):
    """``a``, ``b`` [n] proved in the set, ``m = lam*a + (1-lam)*b`` proved outside; ``violation``: proved lower
    bound of the constraint value at ``m`` (inf when ``m`` is outside a constraint's natural domain). ``within``
    > 0 (a set with an equality h = 0, whose points floats rarely hit): points of the set lie within ``within`` of
    ``a`` and of ``b`` (h changes sign along a short segment through each, proved in interval arithmetic), and every
    mix of such points with weight ``lam`` is proved outside."""

    a: tuple[float, ...]
    b: tuple[float, ...]
    lam: float
    m: tuple[float, ...]
    violation: float
    within: float = 0.0


@dataclass(frozen=True)
class SetConvexity(VariablesAlias, Result):
    """The verdict on a set: ``verdict`` convex | not_convex | unknown; ``constraints``: per constraint its text,
    g and the convexity verdict of g; ``witness``: a :class:`SetWitness` for not_convex; ``membership``: the
    point asked about and ``inside`` (True/False/None); ``reason``; ``tried``; ``seconds``."""

    text: str
    names: tuple[str, ...]
    verdict: str
    constraints: tuple[dict, ...]
    witness: SetWitness | None
    membership: dict | None
    reason: str
    tried: tuple[str, ...]
    seconds: float


def _torch_fns(spec):
    return [[spec.expression(c) for c in part] for part in spec.parts]


def _inside_numeric(exprs, X, margin=0.0):
    cols = X.unbind(1)
    ins = torch.zeros(len(X), dtype=torch.bool)
    for part in exprs:
        ok = torch.ones(len(X), dtype=torch.bool)
        for e in part:
            with torch.no_grad():
                v = e.evaluate(cols)
            ok &= torch.isfinite(v) & (v < -margin)
        ins |= ok
    return ins


def search_set_witness(spec: SetSpec, *, seed: int = 0, samples: int = 4096, deadline=None) -> SetWitness | None:
    """Points a, b inside and their mix outside, each proved in interval arithmetic."""
    exprs = _torch_fns(spec)
    g = torch.Generator().manual_seed(seed)
    for k, s in enumerate((1.0, 4.0, 20.0)):
        if deadline is not None and time.monotonic() > deadline:
            return None
        X = Box.cube(-s, s, spec.n).sample(samples, seed=seed + k)
        X = X[_inside_numeric(exprs, X)]
        if len(X) < 2:
            continue
        m = min(len(X) * 4, 8192)
        i = torch.randint(len(X), (m,), generator=g)
        j = torch.randint(len(X), (m,), generator=g)
        lam = torch.where(torch.rand(m, generator=g) < 0.5, torch.full((m,), 0.5, dtype=X.dtype),
                          0.1 + 0.8 * torch.rand(m, generator=g, dtype=X.dtype))
        M = lam[:, None] * X[i] + (1 - lam[:, None]) * X[j]
        out = ~_inside_numeric(exprs, M, margin=-1e-9)
        for t in torch.nonzero(out).flatten()[:32].tolist():
            w = _verify_set_witness(spec, X[i[t]].tolist(), X[j[t]].tolist(), float(lam[t]))
            if w is not None:
                return w
    return _search_on_equality(spec, g, samples, deadline, seed)


def equality(part) -> tuple[Constraint, Constraint] | None:
    """The part's one equality h = 0 (its two inequalities h <= 0, -h <= 0), or None (none, or several)."""
    pairs = [(c, d) for k, c in enumerate(part) for d in part[k + 1:]
             if c.text == d.text and not c.strict and not d.strict and sympy.expand(c.sympy + d.sympy) == 0]
    return pairs[0] if len(pairs) == 1 else None


def _search_on_equality(spec: SetSpec, g: torch.Generator, samples: int, deadline, seed: int = 0
                        ) -> SetWitness | None:
    """Pairs of points on the equality h = 0 of a one-part set (Newton's steps along ∇h from samples), whose mix
    leaves the set; each point of the pair is pinned down by a sign change of h along a short segment through it
    (:func:`_verify_equality_witness`)."""
    eq = equality(spec.parts[0]) if len(spec.parts) == 1 else None
    if eq is None:
        return None
    part = spec.parts[0]
    h = spec.expression(eq[0])
    grad = [sympy.diff(h.sympy, v) for v in h.symbols]
    rest = [c for c in part if c.text != eq[0].text]
    exprs = [[spec.expression(c) for c in rest]]
    for k, scale in enumerate((1.0, 4.0, 20.0)):
        if deadline is not None and time.monotonic() > deadline:
            return None
        X, _ = onto_zero_set(h.sympy, h.symbols, Box.cube(-scale, scale, spec.n).sample(min(samples, 512),
                                                                                        seed=seed + k), steps=8)
        if exprs[0]:
            X = X[_inside_numeric(exprs, X)]
        if len(X) < 2:
            continue
        m = min(len(X) * 4, 4096)
        i, j = torch.randint(len(X), (m,), generator=g), torch.randint(len(X), (m,), generator=g)
        lam = torch.full((m,), 0.5, dtype=X.dtype)
        M = lam[:, None] * X[i] + (1 - lam[:, None]) * X[j]
        with torch.no_grad():
            off = h.evaluate(M.unbind(1)).abs() > 1e-6 * (1 + M.abs().amax(1))
        for t in torch.nonzero(off).flatten()[:32].tolist():
            w = _verify_equality_witness(spec, part, h, grad, rest, X[i[t]].tolist(), X[j[t]].tolist(), 0.5)
            if w is not None:
                return w
    return None


def _verify_equality_witness(spec, part, h: Expression, grad: list, rest: list, a, b, lam) -> SetWitness | None:
    """The witness when, for a and b, h has opposite signs at the two ends of a segment of length 2δ along ∇h
    (``grad``; so a zero of h, a point of the set, lies on it: the intermediate value theorem), every other
    constraint (``rest``) holds on the segment's box, and every mix of the two boxes with weight ``lam`` violates a
    constraint of ``part``; all in interval arithmetic."""
    symbols = h.symbols
    boxes, delta = [], 1e-9 * max(1.0, *(abs(v) for v in a + b))
    with I.precision(113):
        for p in (a, b):
            u = [float(I.evaluate(d, dict(zip(symbols, (iv.mpf(v) for v in p)))).mid) for d in grad]
            norm = math.sqrt(sum(v * v for v in u))
            if not math.isfinite(norm) or norm == 0:
                return None
            ends = [[v - delta * w / norm for v, w in zip(p, u)], [v + delta * w / norm for v, w in zip(p, u)]]
            lo_v, hi_v = (I.evaluate(h.sympy, dict(zip(symbols, (iv.mpf(v) for v in e)))) for e in ends)
            if not (I.is_finite(lo_v) and I.is_finite(hi_v) and (lo_v.b < 0 < hi_v.a or hi_v.b < 0 < lo_v.a)):
                return None
            box = [iv.mpf([min(x, y), max(x, y)]) for x, y in zip(*ends)]
            on_box = dict(zip(symbols, box))        # h defined and bounded on the segment: continuous there
            if any(_condition(label, cond).holds(on_box) is not True for label, cond in h.domain) or \
                    not I.is_finite(I.evaluate(h.sympy, on_box)):
                return None
            for c in rest:                      # the other constraints hold on the whole segment
                e = spec.expression(c)
                env = dict(zip(e.symbols, box))
                if any(_condition(label, cond).holds(env) is not True for label, cond in e.domain):
                    return None
                v = I.evaluate(e.sympy, env)
                if not (I.is_finite(v) and (v.b < 0 or (not c.strict and v.b <= 0))):
                    return None
            boxes.append(box)
        L = iv.mpf(lam)
        mix = [L * u + (1 - L) * v for u, v in zip(*boxes)]
        worst = None
        for c in part:
            e = spec.expression(c)
            v = I.evaluate(e.sympy, dict(zip(e.symbols, mix)))
            if I.is_finite(v) and (v.a > 0 or (c.strict and v.a >= 0)):
                worst = float(v.a) if worst is None else max(worst, float(v.a))
        if worst is None:
            return None
        return SetWitness(tuple(a), tuple(b), lam, tuple(float(u.mid) for u in mix), worst, 2 * delta)


def _verify_set_witness(spec, a, b, lam) -> SetWitness | None:
    if not any(_part_state(spec, p, a, True) is True for p in spec.parts):
        return None
    if not any(_part_state(spec, p, b, True) is True for p in spec.parts):
        return None
    with I.precision(113):
        L = iv.mpf(lam)
        mix = [L * iv.mpf(u) + (1 - L) * iv.mpf(v) for u, v in zip(a, b)]
        viol = []
        for part in spec.parts:
            best = None
            for c in part:
                e = spec.expression(c)
                env = dict(zip(e.symbols, mix))
                v = I.evaluate(e.sympy, env)
                if I.is_finite(v) and (v.a > 0 or (c.strict and v.a >= 0)):
                    best = float(v.a) if best is None else max(best, float(v.a))
            if best is None:
                return None
            viol.append(best)
        mid = tuple(float(u.mid) for u in mix)
        return SetWitness(tuple(a), tuple(b), lam, mid, min(viol))


def check_set(spec, *, vars=None, at=None, time_budget: float = 10.0, seed: int = 0) -> SetConvexity:
    """Is the set convex? ``spec``: a :class:`SetSpec` or text; ``at``: optional point [n] for membership.

    >>> check_set("x^2 + y^2 <= 1 and y >= x^2").verdict
    'convex'
    >>> check_set("x^2 + y^2 >= 1").verdict
    'not_convex'
    """
    t0 = time.monotonic()
    if isinstance(spec, str):
        spec = parse_set(spec, vars)
    elif not isinstance(spec, SetSpec):
        raise InputError(f"set == {type(spec).__name__}, must be text such as 'x^2+y^2<=1' or a SetSpec")
    time_budget = check_float("time_budget", time_budget, lo=0, lo_open=True)
    seed = check_int("seed", seed, lo=0)
    deadline = t0 + time_budget
    membership = None
    if at is not None:
        x = check_point("at", at, spec.n)
        membership = {"point": x.tolist(), "inside": spec.contains(x)}
    tried, rows = [], []
    all_convex = True
    live = [part for part in spec.parts if not _part_empty(spec, part)]     # an empty part adds nothing to a union
    for part in live:
        bounds = [c for c in part if _bound(spec, c)]
        where = tuple(Condition(f"where {c.text}", -spec.expression(c).sympy, ">" if c.strict else ">=")
                      for c in bounds)
        for c in part:
            e = spec.expression(c)
            row = {"constraint": c.text, "g": str(e.sympy), "strict": c.strict}
            if c in bounds:
                rows.append({**row, "g_verdict": "affine", "g_domain": "the whole space", "rule": "a bound on one "
                             "variable (a half-space)"})
                continue
            left = max(0.05, deadline - time.monotonic())
            others = tuple(w for w, b in zip(where, bounds) if b is not c)
            r = check_convexity(e, where=others or None, time_budget=min(left, time_budget / 2), seed=seed)
            ok = r.verdict in _CONVEX_WORDS
            rule = "g convex: a convex sublevel set" if ok else None
            if not ok and time.monotonic() < deadline:
                rule = _quasiconvex_rule(e, Region.of(e, None, others), deadline)
                ok = rule is not None
            rows.append({**row, "g_verdict": r.verdict, "g_domain": r.domain["text"], "rule": rule})
            all_convex &= ok
    tried.append("each constraint g <= 0 with g convex (check_convexity), else solved for a variable it is "
                 "linear in, else monotone in its only variable")

    def done(verdict, reason, witness=None):
        if len(live) < len(spec.parts):
            reason += f" ({len(spec.parts) - len(live)} empty part(s) of the union left out)"
        return SetConvexity(spec.text, spec.variables, verdict, tuple(rows), witness, membership, reason,
                            tuple(tried), time.monotonic() - t0)

    if all_convex and len(live) == 1:
        return done("convex", "every constraint defines a convex set (g convex, or a rule in constraints[].rule): "
                              "their intersection is convex")
    tried.append("witness pair search (interval-verified)")
    w = search_set_witness(spec, seed=seed, deadline=deadline)
    if w is not None and w.within:
        return done("not_convex", f"points of the set lie within {w.within:.1g} of a = {list(w.a)} and of b = "
                                  f"{list(w.b)} (the equality's sign changes across each), and every "
                                  f"{w.lam:g}/{1 - w.lam:g} mix of such points, near {[round(v, 6) for v in w.m]}, "
                                  f"is outside (constraint exceeded by >= {w.violation:.3g})", w)
    if w is not None:
        return done("not_convex", f"a = {list(w.a)} and b = {list(w.b)} are in the set, but "
                                  f"{w.lam:g}·a + {1 - w.lam:g}·b = {[round(v, 6) for v in w.m]} is not "
                                  f"(constraint exceeded by >= {w.violation:.3g})", w)
    if len(live) > 1 and all_convex:
        return done("unknown", "a union of convex sets: no witness pair found, and unions are not proved convex")
    return done("unknown", "some constraint is not proved convex and no witness pair was found")
