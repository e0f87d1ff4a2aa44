"""Relations typed as text, one grammar for constraints, sets and ``where`` conditions; the one :class:`Box`.

Grammar (both sides of every relation go through the safe expression language, :mod:`losslens.expr`, never
``eval``)::

    disjunction := conjunction ("or" conjunction)*          (sets only)
    conjunction := chain ("and" chain)*
    chain       := side OP side (OP side)*                  e.g. "0 <= x <= 1"
    OP          := "<=" | "≤" | "=<" | ">=" | "≥" | "=>" | "<" | ">" | "==" | "="

Relation symbols count only outside parentheses; ``!=`` is refused (a set ``g ≠ 0`` is neither closed nor, in
general, convex). A chain ``a OP1 b OP2 c`` is the conjunction ``a OP1 b and b OP2 c``. At most
:data:`MAX_RELATIONS` relations in one problem or set.

A relation ``lhs OP rhs`` becomes one :class:`Constraint` in standard form

* equality    h(x) = lhs − rhs = 0                                  (``==``, ``=``)
* inequality  g(x) = lhs − rhs ≤ 0 (``<=``, ``<``)  or  g(x) = rhs − lhs ≤ 0 (``>=``, ``>``)

``strict`` marks ``<``/``>``; solvers treat a strict inequality as its closure, set membership keeps it strict.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import sympy

from .expr import Expression, natural_order, parse
from .objective import Box
from .validation import InputError

__all__ = ["MAX_RELATIONS", "Box", "Constraint", "Relation", "conjunction", "disjunction", "names_of",
           "ordered", "to_constraint", "to_inequalities"]

MAX_RELATIONS = 64
_OPERATOR = re.compile(r"<=|>=|==|=<|=>|!=|≤|≥|<|>|=")
_CANONICAL = {"≤": "<=", "=<": "<=", "≥": ">=", "=>": ">=", "==": "="}
_EXAMPLE = "a relation such as 'x+y=1', 'x^2+y^2<=2' or '0<=x<=1'"


@dataclass(frozen=True)
class Relation:
    """``lhs op rhs`` with ``op`` one of ``<= < >= > =``; ``text`` as typed (the chain link for chains)."""

    lhs: str
    op: str
    rhs: str
    text: str


@dataclass(frozen=True, eq=False)
class Constraint:
    """One constraint in standard form: ``kind`` ``"eq"`` (h(x) = 0) or ``"ineq"`` (g(x) ≤ 0, ``strict``: < 0).

    ``expression`` is h or g over the problem's variables, ``g`` its text as built from the two sides, ``text`` the
    relation as typed."""

    text: str
    kind: str
    expression: Expression
    strict: bool = False

    @property
    def sympy(self) -> sympy.Expr:
        return self.expression.sympy

    @property
    def g(self) -> str:
        return self.expression.text

    def standard(self) -> str:
        return f"{sympy.sstr(self.sympy)} {'=' if self.kind == 'eq' else '<='} 0"

    def over(self, variables: Sequence[str]) -> "Constraint":
        """The same constraint with coordinates ``variables`` (a superset of the names it uses)."""
        if tuple(variables) == self.expression.variables:
            return self
        return Constraint(self.text, self.kind, parse(self.g, list(variables)), self.strict)

def _chain(atom: str, what: str) -> list[Relation]:
    """``"0 <= x <= 1"`` -> two relations; relation symbols only at parenthesis depth 0."""
    pieces, ops, depth, start, i = [], [], 0, 0, 0
    while i < len(atom):
        ch = atom[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch in ",;":
            raise InputError(f"{what} {atom.strip()!r} has a {ch!r} between relations: join relations with 'and' "
                             "(e.g. 'x^2+y^2 <= 1 and y >= 0')")
        elif depth == 0:
            m = _OPERATOR.match(atom, i)
            if m:
                pieces.append(atom[start:i])
                ops.append(m.group(0))
                i = start = m.end()
                continue
        i += 1
    pieces.append(atom[start:])
    shown = atom.strip()
    if not ops:
        raise InputError(f"{what} {shown!r} has no relation: use =, <=, >=, <, > (e.g. 'x+y=1')")
    if "!=" in ops:
        raise InputError(f"{what} {shown!r} uses '!=', allowed relations are =, ==, <=, >=, <, >, ≤, ≥")
    for k, p in enumerate(pieces):
        if not p.strip():
            side = "left" if k == 0 else "right" if k == len(pieces) - 1 else "middle"
            raise InputError(f"{what} {shown!r} has an empty {side} side")
    if len(ops) == 1:
        return [Relation(pieces[0].strip(), _CANONICAL.get(ops[0], ops[0]), pieces[1].strip(), shown)]
    return [Relation(pieces[k].strip(), _CANONICAL.get(ops[k], ops[k]), pieces[k + 1].strip(),
                     f"{pieces[k].strip()} {ops[k]} {pieces[k + 1].strip()}") for k in range(len(ops))]


def conjunction(text: str, what: str = "constraint") -> tuple[Relation, ...]:
    """``"0 <= x <= 1 and y >= x"`` -> its relations (chains split); ``or`` is refused.

    >>> [(r.lhs, r.op, r.rhs) for r in conjunction("0 <= x ≤ 1 and y == 2*x")]
    [('0', '<=', 'x'), ('x', '<=', '1'), ('y', '=', '2*x')]
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{what} is empty, must be {_EXAMPLE}")
    if re.search(r"\bor\b", text):
        raise InputError(f"{what} {text.strip()!r} uses 'or': use 'and' only (the region must be one conjunction)")
    out = []
    for atom in re.split(r"\band\b", text):
        if not atom.strip():
            raise InputError(f"{what} {text.strip()!r} has an empty relation around 'and'")
        out.extend(_chain(atom, what))
    if len(out) > MAX_RELATIONS:
        raise InputError(f"{what} has {len(out)} relations, at most {MAX_RELATIONS} are allowed")
    return tuple(out)


def disjunction(text: str, what: str = "set") -> tuple[tuple[Relation, ...], ...]:
    """``"x <= 0 or x >= 1"`` -> one tuple of relations per ``or`` part."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{what} is empty text, must be {_EXAMPLE} (joined by 'and'/'or')")
    parts = []
    for ptext in re.split(r"\bor\b", text):
        if not ptext.strip():
            raise InputError(f"{what} {text.strip()!r} has an empty relation around 'and'/'or'")
        parts.append(conjunction(ptext, what))
    total = sum(len(p) for p in parts)
    if total > MAX_RELATIONS:
        raise InputError(f"{what} has {total} relations, at most {MAX_RELATIONS} are allowed")
    return tuple(parts)


def names_of(relations: Sequence[Relation]) -> set[str]:
    """The variable names the relations use (constants have none)."""
    names: set[str] = set()
    for r in relations:
        for side in (r.lhs, r.rhs):
            try:
                names |= set(parse(side).variables)
            except InputError as err:
                if "has no variables" not in str(err):
                    raise InputError(f"relation {r.text!r}: {err}") from None
    return names


def to_constraint(r: Relation, variables: Sequence[str]) -> Constraint:
    """A relation -> :class:`Constraint` over ``variables`` (which must include every name it uses).

    >>> c = to_constraint(conjunction("x >= 2*y")[0], ["x", "y"])
    >>> c.kind, c.standard()
    ('ineq', '-x + 2*y <= 0')
    """
    body = f"({r.lhs}) - ({r.rhs})" if r.op in ("=", "<=", "<") else f"({r.rhs}) - ({r.lhs})"
    try:
        expression = parse(body, list(variables))
    except InputError as err:
        raise InputError(f"relation {r.text!r}: {err}") from None
    return Constraint(r.text, "eq" if r.op == "=" else "ineq", expression, r.op in ("<", ">"))


def to_inequalities(r: Relation, variables: Sequence[str]) -> tuple[Constraint, ...]:
    """A relation as inequalities only: an equality ``a = b`` is ``a <= b`` and ``a >= b``.

    >>> [c.g for c in to_inequalities(conjunction("y == 2*x")[0], ["x", "y"])]
    ['(y) - (2*x)', '(2*x) - (y)']
    """
    if r.op != "=":
        return (to_constraint(r, variables),)
    return tuple(to_constraint(Relation(r.lhs, op, r.rhs, r.text), variables) for op in ("<=", ">="))


def ordered(names: set[str], first: Sequence[str] = ()) -> tuple[str, ...]:
    """``first`` in its order, then the other names in natural order."""
    return tuple(first) + tuple(natural_order(names - set(first)))
