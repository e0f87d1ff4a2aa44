"""The Hessian at a point as a symmetric linear operator ``v ↦ H v`` that counts its products.

``H = ∇²f(x)`` for an :class:`~losslens.objective.Objective` ``f`` at a fixed point ``x`` [n]. The curvature
algorithms see only this operator: vectors go in and come out as float64 ([n] or a batch [k, n]) whatever the
objective's dtype, so their own arithmetic (orthogonalisation, tridiagonal eigenproblems, sums of quadratic
forms) is float64 even when the products themselves are float32 (a network). A dense symmetric matrix can stand in
for the Hessian (ground truth in tests, benchmarks).
"""
from __future__ import annotations

import torch

from ..objective import Objective
from ..validation import InputError, check_int


class HessianOperator:
    """``matvec(v)`` = ∇²f(x) v for v [n] or [k, n] (float64 in and out); ``hvps`` counts products (one per vector).

    ``batch`` bounds how many vectors go through one vmapped product (memory grows with it for a network).
    ``cache=True`` records the gradient's graph at ``x`` once (:meth:`Objective.hvp_at`) so each product is one
    reverse pass; ``cache=False`` recomputes the forward and backward pass per product (:meth:`Objective.hvp`), for
    data whose graph does not fit in memory.
    """

    def __init__(self, objective: Objective | None = None, x=None, *, matrix: torch.Tensor | None = None,
                 batch: int = 16, cache: bool = True):
        self.batch = check_int("batch", batch, lo=1)
        self.hvps = 0
        if matrix is not None:
            A = torch.as_tensor(matrix, dtype=torch.float64)
            if A.dim() != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
                raise InputError(f"matrix has shape {tuple(A.shape)}, must be square [n, n] with n >= 1")
            self._matrix = 0.5 * (A + A.T)
            self.objective, self.x, self.n, self.dtype = None, None, A.shape[0], torch.float64
            return
        if objective is None:
            raise InputError("HessianOperator needs an objective and a point x, or matrix=")
        self._matrix = None
        self.objective = objective
        self.x = objective.point(x)
        self.n = objective.n
        self.dtype = objective.dtype
        self._apply = objective.hvp_at(self.x) if cache else (lambda v: objective.hvp(self.x, v))

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        single = v.dim() == 1
        V = v.reshape(1, -1) if single else v
        self.hvps += V.shape[0]
        if self._matrix is not None:
            out = V.to(torch.float64) @ self._matrix
        else:
            dev = self.x.device       # products on the objective's device; results back on the caller's
            out = torch.cat([self._apply(c.to(dev, self.dtype)).reshape(len(c), -1).to(V.device, torch.float64)
                             for c in V.split(self.batch)])
        return out[0] if single else out

    __call__ = matvec


def as_operator(objective_or_matrix, x=None, batch: int = 16, cache: bool = True) -> HessianOperator:
    """An :class:`HessianOperator` from (objective, x), a dense symmetric matrix, or an operator (returned as is)."""
    if isinstance(objective_or_matrix, HessianOperator):
        return objective_or_matrix
    if isinstance(objective_or_matrix, Objective):
        if x is None:
            raise InputError("x is None, the Hessian needs a point: pass x (e.g. the model's parameters obj.x0)")
        return HessianOperator(objective_or_matrix, x, batch=batch, cache=cache)
    if isinstance(objective_or_matrix, torch.Tensor):
        return HessianOperator(matrix=objective_or_matrix, batch=batch)
    raise InputError(f"operator == {type(objective_or_matrix).__name__}, must be an Objective (with x), a square "
                     "tensor or a HessianOperator")
