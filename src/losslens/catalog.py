"""Named functions: the D2L 11.1/11.2 examples, the chapter-11 quadratics and classic test functions.

Anywhere an expression is accepted, a catalog name is too: :func:`resolve` looks the name up first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .objective import AnalyticObjective, Box
from .results import Result, VariablesAlias
from .validation import InputError


@dataclass(frozen=True)
class Entry(VariablesAlias, Result):
    """A catalog function: ``expression`` over ``names`` (its variables) with a default ``box`` and why it matters."""

    name: str
    expression: str
    names: tuple[str, ...]
    box: tuple[tuple[float, float], ...]
    why: str
    minima: tuple[tuple[float, ...], ...] = ()     # known global minimisers (empty when none or unbounded)
    minimum: float | None = None                   # known global minimum value on the box

    def objective(self, dtype: torch.dtype = torch.float64) -> AnalyticObjective:
        box = Box(tuple(b[0] for b in self.box), tuple(b[1] for b in self.box))
        return AnalyticObjective(self.expression, self.variables, box=box, dtype=dtype, label=self.name)


def _e(name, expression, variables, box, why, minima=(), minimum=None):
    return Entry(name, expression, tuple(variables), tuple(box), why, tuple(map(tuple, minima)), minimum)


_RISK = "x*cos(pi*x)"
CATALOG: dict[str, Entry] = {e.name: e for e in [
    _e("risk", _RISK, "x", [(0.5, 1.5)],
       "D2L 11.1: the risk f(x) = x cos(pi x), the expected loss on the whole data distribution."),
    _e("empirical-risk", f"{_RISK} + 0.2*cos(5*pi*x)", "x", [(0.5, 1.5)],
       "D2L 11.1: the empirical risk g(x), the risk plus a ripple from a finite sample; its minimum is not f's."),
    _e("local-minima", _RISK, "x", [(-1.0, 2.0)],
       "D2L 11.1: x cos(pi x) on [-1, 2] has a local minimum and a global minimum."),
    _e("cubic", "x^3", "x", [(-2.0, 2.0)],
       "D2L 11.1: x^3 has zero gradient and zero curvature at 0, a saddle point in one dimension."),
    _e("saddle", "x^2 - y^2", "xy", [(-1.0, 1.0), (-1.0, 1.0)],
       "D2L 11.1: the saddle x^2 - y^2, Hessian eigenvalues 2 and -2 at the origin."),
    _e("tanh", "tanh(x)", "x", [(-4.0, 4.0)],
       "D2L 11.1: tanh saturates, so its gradient vanishes far from 0 (vanishing gradients)."),
    _e("quadratic", "x^2", "x", [(-2.0, 2.0)],
       "Chapter 11's simplest convex objective f(x) = x^2.", [(0.0,)], 0.0),
    _e("elliptic", "x1^2 + 2*x2^2", ["x1", "x2"], [(-5.0, 5.0), (-5.0, 5.0)],
       "Chapter 11's 2-D quadratic f(x) = x1^2 + 2 x2^2 (gradient descent examples).", [(0.0, 0.0)], 0.0),
    _e("ill-conditioned", "0.1*x1^2 + 2*x2^2", ["x1", "x2"], [(-5.0, 5.0), (-5.0, 5.0)],
       "Chapter 11's badly conditioned quadratic 0.1 x1^2 + 2 x2^2 (condition number 20).", [(0.0, 0.0)], 0.0),
    _e("half-square", "0.5*x^2", "x", [(-2.0, 2.0)],
       "D2L 11.2: a convex function, 0.5 x^2.", [(0.0,)], 0.0),
    _e("cosine", "cos(pi*x)", "x", [(-1.5, 1.5)],
       "D2L 11.2: cos(pi x) is not convex; a secant lies below it."),
    _e("exp-half", "exp(0.5*x)", "x", [(-2.0, 2.0)],
       "D2L 11.2: exp(0.5 x) is convex but has no minimiser on R."),
    _e("rosenbrock", "(1 - x)^2 + 100*(y - x^2)^2", "xy", [(-2.0, 2.0), (-1.0, 3.0)],
       "A curved narrow valley: easy to reach, slow to follow; minimum 0 at (1, 1).", [(1.0, 1.0)], 0.0),
    _e("himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", "xy", [(-5.0, 5.0), (-5.0, 5.0)],
       "Four global minima of value 0, four saddles and one maximum: the basins picture.",
       [(3.0, 2.0), (-2.805118086952745, 3.131312518250573), (-3.779310253377747, -3.283185991286170),
        (3.584428340330492, -1.848126526964404)], 0.0),
    _e("six-hump-camel", "(4 - 2.1*x^2 + x^4/3)*x^2 + x*y + (-4 + 4*y^2)*y^2", "xy", [(-3.0, 3.0), (-2.0, 2.0)],
       "Six local minima, two of them global (value -1.0316...): local is not global.",
       [(0.08984201368301331, -0.7126564032704135), (-0.08984201368301331, 0.7126564032704135)],
       -1.031628453489877),
    _e("rastrigin", "20 + x^2 - 10*cos(2*pi*x) + y^2 - 10*cos(2*pi*y)", "xy", [(-5.12, 5.12), (-5.12, 5.12)],
       "A bowl covered by a lattice of local minima; only the origin is global.", [(0.0, 0.0)], 0.0),
    _e("beale", "(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2", "xy",
       [(-4.5, 4.5), (-4.5, 4.5)], "Flat plateaus and sharp ridges; minimum 0 at (3, 0.5).", [(3.0, 0.5)], 0.0),
    _e("booth", "(x + 2*y - 7)^2 + (2*x + y - 5)^2", "xy", [(-10.0, 10.0), (-10.0, 10.0)],
       "A convex quadratic; minimum 0 at (1, 3).", [(1.0, 3.0)], 0.0),
    _e("monkey-saddle", "x^3 - 3*x*y^2", "xy", [(-1.0, 1.0), (-1.0, 1.0)],
       "A saddle whose Hessian is zero: second-order tests cannot classify it (degenerate)."),
]}


def names() -> list[str]:
    return list(CATALOG)


@dataclass(frozen=True)
class Listing(Result):
    """Every catalog entry (``functions``), in catalog order: a listing, not an analysis, so it has no verdict."""

    functions: tuple[Entry, ...]


def listing() -> Listing:
    """The whole catalog as one result (what ``losslens catalog --json`` prints).

    >>> listing().functions[0].name
    'risk'
    """
    return Listing(tuple(CATALOG.values()))


def get(name: str) -> Entry:
    try:
        return CATALOG[name]
    except KeyError:
        raise InputError(f"unknown catalog function {name!r}; known: {', '.join(CATALOG)}") from None


def resolve(spec: str, vars: Sequence[str] | str | None = None, box: Box | str | None = None,
            dtype: torch.dtype = torch.float64) -> AnalyticObjective:
    """A catalog name or a typed expression -> :class:`AnalyticObjective`.

    ``box`` (a :class:`Box` or text ``"-1:2,-3:3"``) overrides a catalog entry's default box.

    >>> resolve("rosenbrock").value([1.0, 1.0]).item()
    0.0
    """
    if isinstance(spec, str) and spec.strip() in CATALOG and vars is None:
        obj = CATALOG[spec.strip()].objective(dtype)
    else:
        obj = AnalyticObjective(spec, vars, dtype=dtype)
    if box is not None:
        obj.box = box if isinstance(box, Box) else Box.parse(box, obj.n)
        if obj.box.n != obj.n:
            raise InputError(f"box has {obj.box.n} lo:hi parts, the objective has {obj.n} variable(s)")
    return obj
