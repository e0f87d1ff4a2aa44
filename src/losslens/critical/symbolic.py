"""The exact (sympy) gradient and Hessian of an objective, and their mpmath evaluators (stages 4-8 need them).

For ``f`` with symbols ``x_1..x_n``: ``grad[i] = ∂f/∂x_i`` ([n]) and ``hess[i][j] = ∂²f/∂x_i∂x_j`` ([n][n], the
symmetric entries shared), built within the node budget of :mod:`losslens.budget`; ``mp_f``, ``mp_grad``,
``mp_hess`` evaluate them in mpmath (None when a node has no mpmath form: refinement is then skipped).

The derivatives of ``abs``, ``max``, ``min`` and ``relu`` hold ``sign``, ``Heaviside`` and ``DiracDelta``: mpmath gets
them as functions of the branch (``DiracDelta`` is 0 off its kink and NaN on it, where f has no second derivative).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import mpmath
import sympy

from .. import budget
from ..objective import Objective
from .limits import HIGHER_ORDER_POINTS


@dataclass
class Symbolic:
    """``f``, its gradient [n] and Hessian [n][n] as sympy trees over ``symbols``; mpmath evaluators; a cache of
    1-D derivatives ``f, f', f'', ...`` (filled on demand) and the higher-order test's remaining work budget."""

    symbols: tuple
    f: sympy.Expr
    grad: list
    hess: list                                   # n x n entries (symmetric, shared objects)
    mp_grad: Callable | None = None
    mp_hess: Callable | None = None
    mp_f: Callable | None = None
    env_cache: dict = field(default_factory=dict)
    derivatives: list = field(default_factory=list)   # f, f', f'', ... (1-D), filled on demand
    higher_order_left: int = 0                        # degenerate points the higher-order test may still examine

    def env(self, X) -> dict:
        return dict(zip(self.symbols, X))


def _heaviside(x, h0=0.5):
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else mpmath.mpf(h0)


def _dirac(x, *order):
    return mpmath.mpf(0) if x != 0 else mpmath.nan


MPMATH = [{"Heaviside": _heaviside, "DiracDelta": _dirac}, "mpmath"]


def symbolic_form(objective: Objective) -> Symbolic | None:
    """The :class:`Symbolic` pieces of ``objective`` (None without a sympy form); raises
    :class:`losslens.budget.BudgetExceeded` past the node budget."""
    expr = getattr(objective, "sympy", None)
    if expr is None:
        return None
    syms = tuple(objective.symbols)
    g = [budget.diff(expr, s, what="symbolic gradient") for s in syms]
    h = [[None] * len(syms) for _ in syms]
    for i in range(len(syms)):
        for j in range(i, len(syms)):
            h[i][j] = h[j][i] = budget.diff(g[i], syms[j], what="symbolic Hessian")
    out = Symbolic(syms, expr, g, h, higher_order_left=HIGHER_ORDER_POINTS)
    try:
        out.mp_f = sympy.lambdify(syms, expr, modules=MPMATH)
        out.mp_grad = sympy.lambdify(syms, g, modules=MPMATH)
        out.mp_hess = sympy.lambdify(syms, h, modules=MPMATH)
    except Exception:  # noqa: BLE001 - a node mpmath cannot evaluate: refinement is skipped, not the analysis
        out.mp_f = out.mp_grad = out.mp_hess = None
    return out
