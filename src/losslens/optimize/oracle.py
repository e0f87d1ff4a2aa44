"""Exact derivatives of a typed constrained problem, compiled for fast repeated calls.

sympy differentiates f and every constraint c_k symbolically; ``sympy.lambdify`` (with common-subexpression
elimination) compiles values [1 + m], first derivatives ∇f [n], J [m, n], and second derivatives ∇²f [n, n],
∇²c [m, n, n] to numpy. A call costs microseconds, where a ``torch.func`` Hessian of an expression tree costs
milliseconds, so the solvers' inner loops use this oracle; the KKT residuals of the final answer are computed
independently with ``torch.autograd`` (:mod:`.kkt`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from .constraints import ConstrainedProblem


@dataclass
class Counts:
    """Work done: objective values, gradients and Hessians evaluated (of f and the constraints together)."""

    f: int = 0
    grad: int = 0
    hessian: int = 0


class Oracle:
    """``values(x) -> (f, c[m])``, ``first(x) -> (∇f[n], J[m, n])``, ``second(x) -> (∇²f[n, n], ∇²c[m, n, n])``,
    x a float64 numpy array [n]; each call is counted in ``counts``."""

    def __init__(self, problem: ConstrainedProblem):
        s = list(problem.symbols)
        exprs = [problem.objective.sympy] + [c.sympy for c in problem.constraints]
        self.n, self.m = problem.n, problem.m
        vec = sympy.Matrix(exprs)
        self._values = sympy.lambdify([s], list(exprs), "numpy", cse=True)
        self._first = sympy.lambdify([s], vec.jacobian(s), "numpy", cse=True)
        self._second = sympy.lambdify([s], [sympy.hessian(e, s) for e in exprs], "numpy", cse=True)
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
