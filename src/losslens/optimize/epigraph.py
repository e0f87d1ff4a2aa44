"""Exact epigraph reformulation of ``abs``, ``max``, ``min`` and ``relu`` in a constrained problem, and the
subgradient KKT condition in the user's own variables.

A problem ``minimize f(x) s.t. h(x) = 0, g(x) ≤ 0`` whose expressions contain a non-smooth atom φ(x) (``|a|``,
``max(a_1..a_k)``, ``relu(a) = max(0, a)``, ``min(a_1..a_k)``) becomes a smooth problem in (x, t): φ is replaced by a
new variable t and

* ``|a|``, ``max(a_i)``:  t ≥ a, t ≥ −a  (resp. t ≥ a_i for every i)        (epigraph)
* ``min(a_i)``:            t ≤ a_i for every i                                (hypograph)

**Exactness.** The lifted problem has the same minimum value and the same minimisers x as the original when every
expression E containing φ is non-decreasing in φ (non-increasing for ``min``) and φ appears in no equality: a
constant coefficient c > 0 (c < 0 for ``min``) in the objective or a ``≤ 0`` constraint, or ∂E/∂φ ≥ 0 proved by
sympy's assumptions (``exp(|x|)``, ``relu(x)^2`` with φ ≥ 0). Then the lifted objective and constraints are
non-decreasing in t, so from any lifted feasible (x, t) the point (x, φ(x)) is feasible with no larger objective,
and (x, φ(x)) is lifted feasible iff x is feasible. Anything else (``-|x|`` in the objective, ``|x|`` in an equality,
``max`` on the large side of a ``>=``, ``|x|·y``) is not exact: :func:`lift` raises :class:`NotExact` with the
reason (never a wrong answer), and the solver splits the problem into pieces (:func:`split`). Nested atoms are lifted outermost first; the
new constraints must pass the same test (``abs(abs(x) - 1)`` fails it).

**Subgradients.** With multipliers π ≥ 0 of the epigraph constraints of φ_j, the weights w_i = π_i / Σπ pick an
element σ_j = Σ_i w_i ∇a_i of the Clarke subdifferential ∂φ_j(x) = conv{∇a_i : a_i(x) = φ_j(x)} (``|a|``: the
branches a, −a; s = w_+ − w_− ∈ [−1, 1] is the subgradient of |·| at a). The stationarity of the original
problem, 0 ∈ ∂f(x) + Σ_k ν_k ∂c_k(x), is checked with these σ_j by the chain rule through the lifted expressions
(inner atoms first), in the original variables only.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy
import torch
from sympy.printing.str import StrPrinter

from ..expr import parse
from ..objective import AnalyticObjective
from ..relations import Constraint
from ..results import Result
from ..validation import InputError
from .constraints import ConstrainedProblem
from .kkt import jacobian

MAX_ATOMS = 16
MAX_CASES = 16
NONSMOOTH = (sympy.Abs, sympy.Max, sympy.Min)
CONDITION = "0 ∈ ∂f(x) + Σ ν_k ∂c_k(x)"


class NotExact(InputError):
    """The lift is not exact for ``atom`` (a sympy atom over the original variables); the message says why."""

    def __init__(self, message: str, atom: sympy.Expr):
        super().__init__(message)
        self.atom = atom


@dataclass(frozen=True)
class Atom:
    """One lifted atom: ``name`` t_j, ``kind`` abs | max | min, ``definition`` as text (``|x - 1|``), ``atom`` the
    sympy atom over the original variables, ``branches`` [b] sympy expressions over the lifted variables (abs:
    a and −a; max/min: the arguments), ``rows`` the indices of its b constraints in the lifted problem."""

    name: str
    kind: str
    definition: str
    atom: sympy.Expr
    branches: tuple[sympy.Expr, ...]
    rows: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Lifted:
    """``problem``: the smooth lifted problem over ``original.names + (t_1..t_k)``, its constraints the original
    ones rewritten (same order) followed by the epigraph rows of each atom; ``atoms`` [k] in creation order (an
    atom's branches use only atoms created after it)."""

    original: ConstrainedProblem
    problem: ConstrainedProblem
    atoms: tuple[Atom, ...]

    @property
    def n(self) -> int:
        return self.original.n

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """(x, t) with t_j = φ_j(x) exactly: [n] -> [n + k] (inner atoms first)."""
        z = torch.cat([x.to(torch.float64), torch.zeros(len(self.atoms), dtype=torch.float64)])
        for j in reversed(range(len(self.atoms))):
            a = self.atoms[j]
            with torch.no_grad():
                c = self.problem.c(z)[list(a.rows)]          # b_i − t (epigraph) or t − b_i (hypograph), t = 0
            z[self.n + j] = (c.max() if a.kind != "min" else (-c).min()) + 0.0     # + 0.0: no -0
        return z


def has_nonsmooth(problem: ConstrainedProblem) -> bool:
    return any(e.has(*NONSMOOTH) for e in _expressions(problem))


def _expressions(problem):
    return [problem.objective.sympy] + [c.sympy for c in problem.constraints]


class _Printer(StrPrinter):
    """sympy's text with the expression language's spelling of abs, max, min and the constant e."""

    def _print_Abs(self, e):
        return f"abs({self._print(e.args[0])})"

    def _print_Max(self, e):
        return f"max({', '.join(self._print(a) for a in e.args)})"

    def _print_Min(self, e):
        return f"min({', '.join(self._print(a) for a in e.args)})"

    def _print_Exp1(self, e):
        return "e"


def _text(e: sympy.Expr) -> str:
    return _Printer().doprint(e)


def _show(atom: sympy.Expr) -> str:
    if atom.func is sympy.Abs:
        return f"|{_text(atom.args[0])}|"
    args = ", ".join(_text(a) for a in atom.args)
    return f"relu({_text(atom.args[1])})" if atom.func is sympy.Max and len(atom.args) == 2 and \
        atom.args[0] == 0 else f"{'max' if atom.func is sympy.Max else 'min'}({args})"


def _outermost(exprs) -> list[sympy.Expr]:
    """Non-smooth atoms not inside another non-smooth atom, in a fixed order."""
    found = set()
    for e in exprs:
        stack = [e]
        while stack:
            node = stack.pop()
            if node.func in NONSMOOTH:
                found.add(node)
            else:
                stack.extend(node.args)
    return sorted(found, key=sympy.default_sort_key)


def _where(k: int, problem: ConstrainedProblem, extra: list) -> str:
    if k == 0:
        return "the objective"
    if k - 1 < problem.m:
        return f"constraint {problem.constraints[k - 1].text!r}"
    return f"the lifted constraint {extra[k - 1 - problem.m][0]}"


def _check_exact(atom, exprs, kinds, problem, extra) -> None:
    """:class:`NotExact` unless every expression E holding ``atom`` φ is monotone in it the way that makes the
    relaxation exact — ∂E/∂φ ≥ 0 for abs/max (≤ 0 for min), proved by sympy's assumptions with φ ≥ 0 when φ cannot
    be negative (abs, relu, a max with a non-negative argument) — and no equality holds it."""
    want = -1 if atom.func is sympy.Min else 1
    shown = _show(atom)
    sense = "a negative" if want < 0 else "a positive"
    nonneg = atom.func is sympy.Abs or (atom.func is sympy.Max and any(a.is_nonnegative for a in atom.args))
    T = sympy.Dummy("t", nonnegative=True) if nonneg else sympy.Dummy("t", real=True)
    for k, (e, kind) in enumerate(zip(exprs, kinds)):
        if not e.has(atom):
            continue
        where = _where(k, problem, extra)
        if kind == "eq":
            raise NotExact(f"{shown} appears in the equality {where}: its epigraph form is not exact there (t "
                           "could exceed the term)", atom)
        d = sympy.diff(e.xreplace({atom: T}), T)
        if d.is_number and d.is_real:
            if bool(d > 0) != (want > 0) or d == 0:
                raise NotExact(f"{shown} enters {where} with coefficient {sympy.sstr(d)}: the epigraph "
                               f"reformulation is exact only with {sense} coefficient in the objective or on the "
                               "small side of a <= constraint", atom)
        elif not (d.is_nonnegative if want > 0 else d.is_nonpositive):
            shown_d = _text(d.xreplace({T: sympy.Symbol("t", real=True)}))
            raise NotExact(f"{shown} enters {where} with slope {shown_d} in t = {shown}, not provably "
                           f"{'>= 0' if want > 0 else '<= 0'}: the epigraph reformulation is exact only where the "
                           f"expression cannot decrease as the term {'grows' if want > 0 else 'shrinks'}", atom)


def lift(problem: ConstrainedProblem) -> Lifted | None:
    """The exact smooth reformulation of ``problem`` (None when it has no abs/max/min/relu).

    >>> from losslens.optimize.constraints import make_problem
    >>> L = lift(make_problem("(x - 3)^2/2 + 2*abs(x)", []))
    >>> L.problem.names, [c.standard() for c in L.problem.constraints], L.atoms[0].definition
    (('x', 't1'), ['-t1 + x <= 0', '-t1 - x <= 0'], '|x|')
    """
    if not has_nonsmooth(problem):
        return None
    taken = set(problem.names)
    exprs = _expressions(problem)
    kinds = ["objective"] + [c.kind for c in problem.constraints]
    extra: list[tuple[str, sympy.Expr]] = []        # (text, g) of the epigraph rows, g ≤ 0
    made: list[tuple[str, str, sympy.Expr, tuple, tuple]] = []
    while True:
        outer = _outermost(exprs)
        if not outer:
            break
        for atom in outer:
            if len(made) >= MAX_ATOMS:
                raise InputError(f"the problem has more than {MAX_ATOMS} abs/max/min/relu terms to lift, at most "
                                 f"{MAX_ATOMS} are allowed")
            k = len(made) + 1
            name = next(f"t{k}{'_' * i}" for i in range(len(taken) + 1) if f"t{k}{'_' * i}" not in taken)
            taken.add(name)
            T = sympy.Symbol(name, real=True)
            _check_exact(atom, exprs, kinds, problem, extra)
            exprs = [e.xreplace({atom: T}) for e in exprs]
            kind = "abs" if atom.func is sympy.Abs else "max" if atom.func is sympy.Max else "min"
            branches = (atom.args[0], -atom.args[0]) if kind == "abs" else tuple(atom.args)
            rows = []
            for b in branches:
                g = b - T if kind != "min" else T - b
                rows.append(problem.m + len(extra))
                extra.append((f"{name} {'>=' if kind != 'min' else '<='} {_text(b)}", g))
                exprs.append(g)
                kinds.append("ineq")
            made.append((name, kind, atom, branches, tuple(rows)))
    names = tuple(problem.names) + tuple(m[0] for m in made)
    atoms = tuple(Atom(name, kind, _show(atom), atom, branches, rows) for name, kind, atom, branches, rows in made)
    rows = [(text, "ineq", g) for (text, _), g in zip(extra, exprs[1 + problem.m:])]
    return Lifted(problem, _rebuild(problem, names, exprs[0], exprs[1:1 + problem.m], rows), atoms)


def _rebuild(problem: ConstrainedProblem, names, f: sympy.Expr, cons, rows) -> ConstrainedProblem:
    """A problem over ``names`` from new sympy forms of the objective and of each constraint (same texts and
    kinds), followed by the extra ``rows`` [(text, kind, sympy)]."""
    objective = AnalyticObjective(_expression(f, names, "the objective"), label=problem.objective.label)
    out = [Constraint(c.text, c.kind, _expression(e, names, repr(c.text)), c.strict)
           for c, e in zip(problem.constraints, cons)]
    out += [Constraint(text, kind, _expression(g, names, repr(text))) for text, kind, g in rows]
    return ConstrainedProblem(tuple(names), objective, tuple(out))


def _expression(e: sympy.Expr, names, what: str):
    """A sympy expression as an :class:`~losslens.expr.Expression` over ``names`` (printed and parsed again by the
    safe expression language; the round trip must give the same sympy expression)."""
    text = _text(e)
    try:
        out = parse(text, list(names))
    except InputError as err:
        raise InputError(f"cannot rewrite {what}: its new form {text!r} is not an expression losslens reads "
                         f"({err})") from None
    if sympy.expand(out.sympy - e) != 0:
        raise InputError(f"cannot rewrite {what}: its new form {text!r} does not read back exactly")
    return out


def split(problem: ConstrainedProblem, atom: sympy.Expr) -> tuple[tuple[str, ConstrainedProblem], ...]:
    """The pieces on which ``atom`` is smooth: |a| -> a where a >= 0, −a where a <= 0; max(a_i) -> a_i where
    a_i >= a_j for all j (min: <=). The union of the pieces is the feasible set, and on each piece the problem is
    the original one, so the minimum is the least of the pieces' minima. Returns (label, problem) per piece.

    >>> from losslens.optimize.constraints import make_problem
    >>> [(label, p.objective.expression.text) for label, p in split(make_problem("x^2 - abs(x)", []), sympy.Abs(
    ...     sympy.Symbol("x", real=True)))]
    [('x >= 0', 'x**2 - x'), ('x <= 0', 'x**2 + x')]
    """
    if atom.func is sympy.Abs:
        a = atom.args[0]
        pieces = [(a, [-a], f"{_text(a)} >= 0"), (-a, [a], f"{_text(a)} <= 0")]
    else:
        sign = 1 if atom.func is sympy.Max else -1
        pieces = [(b, [sign * (o - b) for o in atom.args if o != b],
                   " and ".join(f"{_text(b)} {'>=' if sign > 0 else '<='} {_text(o)}" for o in atom.args if o != b))
                  for b in atom.args]
    out = []
    for value, rows, label in pieces:
        exprs = [e.xreplace({atom: value}) for e in _expressions(problem)]
        extra = [(f"case {label}", "ineq", g) for g in rows]
        out.append((label, _rebuild(problem, problem.names, exprs[0], exprs[1:], extra)))
    return tuple(out)


@dataclass(frozen=True)
class AtomReport(Result):
    """One lifted atom at the solution: ``name`` = ``definition``, ``value`` φ(x), ``t`` the lifted variable,
    ``weights`` [b] the convex-combination weights of its branches (from the epigraph multipliers), ``subgradient``
    for ``abs`` the element s ∈ [−1, 1] of ∂|·| at the argument (None for max/min), ``gap`` the largest weighted
    distance w_i (φ − b_i) of a used branch from the active ones (0 when the weights sit on active branches),
    ``member`` whether the selection lies in ∂φ (gap and negative weights within the tolerance), and its
    epigraph ``rows`` [{text, standard, value, multiplier, active}]."""

    name: str
    kind: str
    definition: str
    value: float
    t: float
    weights: tuple[float, ...]
    subgradient: float | None
    gap: float
    member: bool
    rows: tuple[dict, ...]


@dataclass(frozen=True)
class SubgradientKKT(Result):
    """``condition`` 0 ∈ ∂f(x) + Σ ν_k ∂c_k(x) in the original variables: ``residual`` [n] the element of the
    right side picked by the epigraph multipliers, ``stationarity`` its ∞-norm, ``atoms`` one report per lifted
    atom, ``satisfied`` (stationarity ≤ tol and every selection a subgradient), ``tol``."""

    condition: str
    residual: torch.Tensor
    stationarity: float
    atoms: tuple[AtomReport, ...]
    satisfied: bool
    tol: float


def subgradient_kkt(lifted: Lifted, z: torch.Tensor, nu: torch.Tensor, active: torch.Tensor,
                    tol: float) -> SubgradientKKT:
    """Check 0 ∈ ∂f(x) + Σ_k ν_k ∂c_k(x) at ``z`` = (x, t) [n + k] with lifted multipliers ``nu`` [m + rows]."""
    P, n, m = lifted.problem, lifted.n, lifted.original.m
    gf = jacobian(P.f, z)
    J = jacobian(P.c, z)
    c = P.c(z).detach()
    sigma: dict[int, torch.Tensor] = {}

    def total(v: torch.Tensor) -> torch.Tensor:      # chain rule through the lifted atoms: a vector over x
        out = v[:n].clone()
        for j, s in sigma.items():
            out = out + v[n + j] * s
        return out

    reports = [None] * len(lifted.atoms)
    slack = tol ** 0.5
    for j in reversed(range(len(lifted.atoms))):
        a = lifted.atoms[j]
        rows = list(a.rows)
        sign = 1.0 if a.kind != "min" else -1.0
        e_t = torch.zeros_like(z)
        e_t[n + j] = 1.0
        grads = [total(sign * J[r] + e_t) for r in rows]          # ∇b_i in x
        branch = torch.stack([sign * c[r] + z[n + j] for r in rows])   # b_i(x)
        pi = nu[rows].clamp_min(0)
        value = float(branch.max() if a.kind != "min" else branch.min())
        if float(pi.sum()) > 0:
            w = pi / pi.sum()
        else:                                   # the atom carries no weight: any active branch is a subgradient
            w = ((branch - value).abs() <= slack * max(1.0, abs(value))).to(z.dtype)
            w = w / w.sum()
        sigma[j] = sum(wi * g for wi, g in zip(w, grads))
        gap = float((w * (value - branch) * sign).max())
        member = gap <= slack * max(1.0, abs(value)) and float(nu[rows].min()) >= -tol
        row_reports = tuple({"text": P.constraints[r].text, "standard": P.constraints[r].standard(),
                             "value": float(c[r]), "multiplier": float(nu[r]), "active": bool(active[r])}
                            for r in rows)
        reports[j] = AtomReport(a.name, a.kind, a.definition, value, float(z[n + j]), tuple(w.tolist()),
                                float(w[0] - w[1]) if a.kind == "abs" else None, max(gap, 0.0), member, row_reports)
    residual = total(gf) + sum((nu[k] * total(J[k]) for k in range(m)), torch.zeros(n, dtype=z.dtype))
    stat = float(residual.abs().max()) if n else 0.0
    ok = stat <= tol and all(r.member for r in reports)
    return SubgradientKKT(CONDITION, residual.detach(), stat, tuple(reports), ok, tol)
