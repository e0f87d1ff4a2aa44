"""Constrained problems typed as text: ``minimize f(x)`` subject to relations such as ``"x+y=1"``, ``"x^2+y^2<=2"``.

Relations follow the one grammar of :mod:`losslens.relations` (chains ``0<=x<=1``, ``and``, ``≤``/``≥``,
``==``/``=``); each becomes a :class:`~losslens.relations.Constraint` in standard form

* equality    h(x) = lhs − rhs = 0
* inequality  g(x) = lhs − rhs ≤ 0   (for ``<=``, ``<``)   or   g(x) = rhs − lhs ≤ 0   (for ``>=``, ``>``)

Strict ``<``/``>`` are solved as their closure (``≤``/``≥``): a minimum over an open set is an infimum over its
closure. Both sides go through the safe expression language (:mod:`losslens.expr`, never ``eval``); a text with no
relation (``x+y``) or an empty side (``x<=``) is an :class:`InputError`.

Variables are the objective's and the constraints' together (a constraint may name variables the objective lacks;
they join), in natural order unless ``vars`` is given.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy
import torch

from .. import budget
from ..expr import parse
from ..objective import AnalyticObjective
from ..relations import MAX_RELATIONS, Constraint, conjunction, names_of, ordered, to_constraint
from ..validation import InputError
from . import projections as P

__all__ = ["ConstrainedProblem", "Constraint", "feasible_set", "make_problem", "parse_constraints"]


def parse_constraints(text: str, variables: Sequence[str]) -> tuple[Constraint, ...]:
    """A relation text (a chain or an ``and`` of relations gives several) -> constraints over ``variables``.

    >>> [c.standard() for c in parse_constraints("0 <= x <= 1", ["x"])]
    ['-x <= 0', 'x - 1 <= 0']
    """
    return tuple(to_constraint(r, variables) for r in conjunction(text))


@dataclass(frozen=True, eq=False)
class ConstrainedProblem:
    """minimize f(x) over x ∈ R^n subject to c_k(x) = 0 (kind eq) or c_k(x) ≤ 0 (kind ineq), k = 1..m.

    ``f(x)``: scalar; ``c(x)``: [m] in the order given; ``eq_mask`` [m] bool marks the equalities."""

    names: tuple[str, ...]
    objective: AnalyticObjective
    constraints: tuple[Constraint, ...]

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def m(self) -> int:
        return len(self.constraints)

    @property
    def eq_mask(self) -> torch.Tensor:
        return torch.tensor([c.kind == "eq" for c in self.constraints], dtype=torch.bool)

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        return self.objective.symbols

    def f(self, x: torch.Tensor) -> torch.Tensor:
        return self.objective.f(x)

    def c(self, x: torch.Tensor) -> torch.Tensor:
        if not self.constraints:
            return x.new_zeros(0)
        cols = x.unbind(-1)
        return torch.stack([k.expression.evaluate(cols) for k in self.constraints])

    def violation(self, x: torch.Tensor) -> float:
        """max(|h(x)|, max(g(x), 0)): 0 at feasible points."""
        c = self.c(x)
        if not c.numel():
            return 0.0
        return float(torch.where(self.eq_mask, c.abs(), c.clamp_min(0)).max())


def make_problem(objective, constraints: Sequence[str], vars: Sequence[str] | str | None = None,
                 ) -> ConstrainedProblem:
    """Objective (text, catalog name or :class:`AnalyticObjective`) and relation texts -> problem.

    >>> p = make_problem("x^2 + y^2", ["x + y = 1", "z >= 0"])
    >>> p.names, [c.standard() for c in p.constraints]
    (('x', 'y', 'z'), ['x + y - 1 = 0', '-z <= 0'])
    """
    from ..catalog import resolve

    if isinstance(constraints, str):
        constraints = [constraints]
    relations = [r for text in constraints for r in conjunction(text)]
    if len(relations) > MAX_RELATIONS:
        raise InputError(f"{len(relations)} constraints given, at most {MAX_RELATIONS} are allowed")
    base = objective if isinstance(objective, AnalyticObjective) else resolve(objective)
    if vars is not None:
        names = parse(base.expression.text, vars).variables
    else:
        names = ordered(names_of(relations), base.names)
    if len(names) != len(base.names) or tuple(names) != tuple(base.names):
        base = AnalyticObjective(base.expression.text, list(names), label=base.label)
    return ConstrainedProblem(tuple(names), base, tuple(to_constraint(r, names) for r in relations))


# --- feasible sets with an exact projection (for projected gradient) --------------------------------------------

def _linear(expr: sympy.Expr, symbols) -> tuple[list[float], float] | None:
    """expr = aᵀx + b exactly -> (a, b); None when not affine."""
    try:
        poly = budget.poly(expr, *symbols)
    except sympy.PolynomialError:
        return None
    if poly.total_degree() > 1 or not all(c.is_number for c in poly.coeffs()):
        return None
    a = [float(poly.coeff_monomial(s)) for s in symbols]
    return a, float(poly.coeff_monomial(1))


def _l2_ball(expr: sympy.Expr, symbols) -> tuple[list[float], float] | None:
    """g = k(‖x − c‖² − r²) with k > 0 exactly -> (c, r); None otherwise."""
    try:
        poly = budget.poly(expr, *symbols)
    except sympy.PolynomialError:
        return None
    if poly.total_degree() != 2 or not all(c.is_number for c in poly.coeffs()):
        return None
    k = poly.coeff_monomial(symbols[0] ** 2)
    if not k > 0:
        return None
    for i, s in enumerate(symbols):
        if poly.coeff_monomial(s ** 2) != k:
            return None
        for t in symbols[i + 1:]:
            if poly.coeff_monomial(s * t) != 0:
                return None
    center = [-poly.coeff_monomial(s) / (2 * k) for s in symbols]
    r2 = sum(c ** 2 for c in center) - poly.coeff_monomial(1) / k
    if not r2 >= 0:
        return None
    return [float(c) for c in center], float(sympy.sqrt(r2))


def _l1_ball(expr: sympy.Expr, symbols) -> tuple[list[float], float] | None:
    """g = k(Σ|x_i − c_i| − r) with the same k > 0 on every variable -> (c, r); None otherwise."""
    terms = sympy.Add.make_args(budget.expanded(expr))
    center, k, const = {}, None, sympy.Integer(0)
    for t in terms:
        coeff, rest = t.as_coeff_Mul()
        if rest.func is sympy.Abs:
            lin = _linear(rest.args[0], symbols)
            if lin is None or sum(1 for a in lin[0] if a != 0) != 1:
                return None
            i = next(j for j, a in enumerate(lin[0]) if a != 0)
            scale = coeff * abs(sympy.nsimplify(lin[0][i]))
            if i in center or (k is not None and scale != k) or not scale > 0:
                return None
            k = scale
            center[i] = -lin[1] / lin[0][i]
        elif t.is_number:
            const += t
        else:
            return None
    if k is None or len(center) != len(symbols):
        return None
    r = -const / k
    return ([float(center[i]) for i in range(len(symbols))], float(r)) if r >= 0 else None


def feasible_set(problem: ConstrainedProblem) -> P.ConvexSet | None:
    """The feasible set as one set with an exact projection, when the constraints define exactly one:
    affine equalities only (affine subspace); one affine inequality (halfspace); single-variable affine bounds
    (box); Σx = s with x ≥ 0 for every variable (simplex); one ‖x − c‖² ≤ r² (L2 ball); one Σ|x_i − c_i| ≤ r
    (L1 ball). None otherwise (or with no constraints)."""
    syms = problem.symbols
    cons = problem.constraints
    if not cons:
        return None
    lins = [_linear(c.sympy, syms) for c in cons]
    if all(c.kind == "eq" for c in cons) and all(lin is not None for lin in lins):
        return P.Affine(torch.tensor([a for a, _ in lins], dtype=torch.float64),
                        torch.tensor([-b for _, b in lins], dtype=torch.float64))
    if len(cons) == 1 and cons[0].kind == "ineq":
        if lins[0] is not None and any(a != 0 for a in lins[0][0]):
            if sum(1 for a in lins[0][0] if a != 0) > 1:
                return P.Halfspace(torch.tensor(lins[0][0], dtype=torch.float64), -lins[0][1])
        for shape, cls in ((_l2_ball, P.L2Ball), (_l1_ball, P.L1Ball)):
            found = shape(cons[0].sympy, syms)
            if found is not None:
                return cls(torch.tensor(found[0], dtype=torch.float64), found[1])
    simplex = _simplex(cons, lins, problem.n)
    if simplex is not None:
        return simplex
    return _box(cons, lins, problem.n)


def _box(cons, lins, n) -> P.BoxSet | None:
    lo = torch.full((n,), -float("inf"), dtype=torch.float64)
    hi = torch.full((n,), float("inf"), dtype=torch.float64)
    for c, lin in zip(cons, lins):
        if c.kind != "ineq" or lin is None or sum(1 for a in lin[0] if a != 0) != 1:
            return None
        i = next(j for j, a in enumerate(lin[0]) if a != 0)
        a, b = lin[0][i], lin[1]
        if a > 0:
            hi[i] = min(float(hi[i]), -b / a)
        else:
            lo[i] = max(float(lo[i]), -b / a)
    if (lo > hi).any():
        return None   # empty: the solver reports infeasibility
    return P.BoxSet(lo, hi)


def _simplex(cons, lins, n) -> P.Simplex | None:
    if any(lin is None for lin in lins) or sum(c.kind == "eq" for c in cons) != 1:
        return None
    nonneg = set()
    total = None
    for c, (a, b) in zip(cons, lins):
        if c.kind == "eq":
            if len(set(a)) != 1 or a[0] == 0:
                return None
            total = -b / a[0]
        else:
            nz = [j for j, v in enumerate(a) if v != 0]
            if len(nz) != 1 or a[nz[0]] >= 0 or b != 0:
                return None
            nonneg.add(nz[0])
    if nonneg != set(range(n)) or total is None or not total > 0:
        return None
    return P.Simplex(total)
