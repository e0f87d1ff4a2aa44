"""Exact derivatives of a typed constrained problem, compiled for fast repeated calls.

sympy differentiates f and every constraint c_k symbolically; ``sympy.lambdify`` (with common-subexpression
elimination) compiles values [1 + m], first derivatives ∇f [n], J [m, n], and second derivatives ∇²f [n, n],
∇²c [m, n, n] to numpy. A call costs microseconds, where a ``torch.func`` Hessian of an expression tree costs
milliseconds, so the solvers' inner loops use this oracle; the KKT residuals of the final answer are computed
independently with ``torch.autograd`` (:mod:`.kkt`).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import sympy

from ..validation import InputError
from .constraints import ConstrainedProblem


@dataclass
class Counts:
    """Work done: objective values, gradients and Hessians evaluated (of f and the constraints together)."""

    f: int = 0
    grad: int = 0
    hessian: int = 0


def check_float_range(e: sympy.Expr, what: str) -> sympy.Expr:
    """``e`` unchanged when every exact rational in it is a float64 number; else an :class:`InputError` naming
    ``what`` and the constant. The expression language keeps constants below 1.8e308, but a derivative may pass it
    (the derivative of the exact 1e308·x² is 2·10³⁰⁸·x): lambdify would raise OverflowError on it, and replacing it
    by inf would give nan at x = 0 and send the solvers astray."""
    top = sympy.Rational(sys.float_info.max)
    big = [a for a in e.atoms(sympy.Rational) if abs(a) > top]
    if big:
        raise InputError(f"{what} has the constant {sympy.Float(big[0], 3)} beyond float64's range (|c| <= "
                         f"{sys.float_info.max:.3g}); rescale the problem")
    return e


class Oracle:
    """``values(x) -> (f, c[m])``, ``first(x) -> (∇f[n], J[m, n])``, ``second(x) -> (∇²f[n, n], ∇²c[m, n, n])``,
    x a float64 numpy array [n]; each call is counted in ``counts``."""

    def __init__(self, problem: ConstrainedProblem):
        s = list(problem.symbols)
        exprs = [problem.objective.sympy] + [c.sympy for c in problem.constraints]
        names = ["the objective"] + [f"constraint {c.text!r}" for c in problem.constraints]
        self.n, self.m = problem.n, problem.m
        first = [[check_float_range(sympy.diff(e, v), f"the gradient of {w}") for v in s] for e, w in zip(exprs, names)]
        second = [sympy.Matrix([[check_float_range(sympy.diff(d, v), f"the Hessian of {w}") for v in s] for d in row])
                  for row, w in zip(first, names)]
        self._values = sympy.lambdify([s], list(exprs), "numpy", cse=True)
        self._first = sympy.lambdify([s], sympy.Matrix(first), "numpy", cse=True)
        self._second = sympy.lambdify([s], second, "numpy", cse=True)
        self.counts = Counts()

    def values(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.counts.f += 1
        with np.errstate(all="ignore"):
            v = np.asarray(self._values(x), dtype=np.float64).reshape(1 + self.m)
        return float(v[0]), v[1:]

    def first(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.counts.grad += 1
        with np.errstate(all="ignore"):
            J = np.asarray(self._first(x), dtype=np.float64).reshape(1 + self.m, self.n)
        return J[0], J[1:]

    def second(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.counts.hessian += 1
        with np.errstate(all="ignore"):
            H = np.asarray(self._second(x), dtype=np.float64).reshape(1 + self.m, self.n, self.n)
        return H[0], H[1:]
