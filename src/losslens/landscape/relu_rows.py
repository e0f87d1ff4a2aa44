"""The Linear layer after the first ReLU, along one grid row, without its matmul: pre-activations updated by pattern flips.

Along a row of a grid only the last coordinate β moves. The first layer's pre-activation is affine in β (first-layer
identity), ``Z(β) = A + β B`` [N, h], and so are the next Linear layer's weight and bias, ``W(β) = W_a + β E`` [o, h],
``b(β) = b_a + β e``. With the ReLU pattern ``M(β) = [Z(β) > 0]`` its pre-activation is a quadratic in β,

    P(β) = (M ⊙ (A + βB)) W(β)ᵀ + b(β) = C₀ + β C₁ + β² C₂,
    C₀ = (M⊙A) W_aᵀ + b_a,   C₁ = (M⊙B) W_aᵀ + (M⊙A) Eᵀ + e,   C₂ = (M⊙B) Eᵀ    [N, o],

whose coefficients change only where the pattern does. Entry (i, u) of Z crosses zero once, at β* = −A_iu / B_iu; on
a uniform axis ``β_t = β₀ + t h`` it flips at step ``t* = ⌈(β* − β₀) / h⌉`` (on from t* when B_iu > 0, off from t*
when B_iu < 0), and the flip adds ``s (A_iu W_a[:, u], A_iu E[:, u] + B_iu W_a[:, u], B_iu E[:, u])`` (s = ±1) to row i
of ``[C₀ | C₁ | C₂]``: per step a sparse product added in place (scipy's CSR kernel) and three passes over [N, o],
instead of the ``N h o`` multiply-adds of the matmul. Per row: the flip schedule (one integer
sort) and the coefficients at β₀ (four ``[N, h] × [h, o]`` products).

Rounding can put an entry's flip one step off only when β* lies within rounding of a grid value, where the entry
itself, ``A + βB``, is at rounding level: the values agree with the plain forward to float rounding (tested). Steps
are applied in order from β₀, so a point's value depends on its row and step only (not on where a chunk starts).
"""
from __future__ import annotations

import numpy as np
import torch

try:     # the compiled CSR × dense kernel that accumulates into its output (Y += A X)
    from scipy.sparse._sparsetools import csr_matvecs
except ImportError:       # pragma: no cover - scipy moved it: the plain matmul path is used
    csr_matvecs = None

SPARSE_COST = 8.0         # one sparse multiply-add costs about this many matmul ones (measured, ~1/8 the rate)
STEP_OVERHEAD = 1e6       # fixed cost of a step's calls, in matmul multiply-adds (~20 µs)


class ReluRow:
    """``P(β_t)`` for the steps ``t = 0..steps-1`` of one row (module docstring), for a CPU float tensor batch.

    ``A, B`` [N, h]: the first layer's pre-activation at β = 0 and its β-slope; ``W_a, E`` [o, h] and ``b_a, e`` [o]:
    the next Linear layer's weight and bias at β = 0 and their slopes; ``beta0, step``: the axis ``β_t = β₀ + t·step``.
    ``worth``: whether the row costs less than plain matmuls (``when(N, h, o, steps, flips)``, default
    :func:`worth_it`); the coefficients are only formed when it does.

    The coefficients live in ``Y`` [2, N, 2o] = ``[[C₀ | C₁′], [C₁″ | C₂]]`` with ``C₁ = C₁′ + C₁″``: a flip of (i, u)
    adds ``s A_iu G_u`` to row i of ``Y[0]`` and ``s B_iu G_u`` to row i of ``Y[1]``, ``G_u = [W_a[:, u] | E[:, u]]``,
    so the sparse product is ``[2N, h] × [h, 2o]`` (no zero blocks).
    """

    def __init__(self, A, B, W_a, E, b_a, e, beta0: float, step: float, steps: int, when=None):
        N, h = A.shape
        o = W_a.shape[0]
        self.N, self.h, self.o, self.t = N, h, o, 0
        zero = B == 0                                       # never flips; on where A > 0
        t_star = torch.div(A, B).neg_().sub_(beta0).div_(step).ceil_().clamp_(0, steps)
        has_zero = bool(zero.any())
        if has_zero:
            t_star.masked_fill_(zero, steps)               # also clears 0/0 and ±inf
        t_star = t_star.to(torch.int16 if steps < 2 ** 15 else torch.int32)
        on = torch.logical_xor(t_star == 0, B < 0)          # M(β₀): on from t* if B > 0, until t* if B < 0
        if has_zero:
            on |= zero & (A > 0)
        flat = t_star.view(-1).numpy()
        order = np.argsort(flat, kind="stable")             # flips grouped by step, row-major within a step
        self.bounds = np.searchsorted(flat[order], np.arange(steps + 2))
        q = order[self.bounds[1]:self.bounds[steps]]        # flips at steps 1..steps-1
        self.rows, u = np.divmod(q, h)
        a, b = A.view(-1).numpy()[q], B.view(-1).numpy()[q]
        sign = np.where(b > 0, 1, -1).astype(a.dtype)
        self.cols, self.a, self.b = u, sign * a, sign * b
        self.offset = self.bounds[1]
        self.indptr = np.zeros(2 * N + 1, dtype=np.int64)
        self.worth = (when or worth_it)(N, h, o, steps, len(q))
        if not self.worth:
            return
        G = torch.cat([W_a.T, E.T], 1)                      # [h, 2o]
        self.Y = A.new_empty(2, N, 2 * o)
        torch.addmm(torch.cat([b_a, e]), A * on, G, out=self.Y[0])
        torch.mm(B * on, G, out=self.Y[1])
        self.G = G.contiguous().numpy().ravel()
        self.Yflat = self.Y.numpy().reshape(-1)
        self.Q = A.new_empty(N, o)

    @property
    def flips(self) -> int:
        return len(self.rows)

    def advance(self, t: int) -> None:
        """Apply the flips of steps ``self.t + 1 .. t`` (``t >= self.t``)."""
        N, ip = self.N, self.indptr
        for s in range(self.t + 1, t + 1):
            lo, hi = self.bounds[s] - self.offset, self.bounds[s + 1] - self.offset
            if hi > lo:
                np.cumsum(np.bincount(self.rows[lo:hi], minlength=N), out=ip[1:N + 1])
                np.add(ip[1:N + 1], hi - lo, out=ip[N + 1:])
                cols = np.concatenate([self.cols[lo:hi], self.cols[lo:hi]])
                vals = np.concatenate([self.a[lo:hi], self.b[lo:hi]])
                csr_matvecs(2 * N, self.h, 2 * self.o, ip, cols, vals, self.G, self.Yflat)
        self.t = max(self.t, t)

    def output(self, beta: float, out: torch.Tensor, relu: bool) -> torch.Tensor:
        """``P(β) = C₀ + β (C₁′ + C₁″ + β C₂)`` (through ReLU when ``relu``) into ``out`` [N, o], β on the current step."""
        o, Y = self.o, self.Y
        torch.add(Y[0, :, o:], Y[1, :, o:], alpha=beta, out=self.Q).add_(Y[1, :, :o])
        if relu:
            return torch.ops.aten._add_relu.out(Y[0, :, :o], self.Q, alpha=beta, out=out)
        return torch.add(Y[0, :, :o], self.Q, alpha=beta, out=out)


def worth_it(N: int, h: int, o: int, steps: int, flips: int) -> bool:
    """Is the flip-updated row cheaper than ``steps`` matmuls (rough operation counts, in matmul multiply-adds)?"""
    matmuls = steps * N * h * o
    updated = 4 * N * h * o + SPARSE_COST * (4 * o * flips + 3 * steps * N * o) + steps * STEP_OVERHEAD
    return updated < matmuls


def available(A: torch.Tensor) -> bool:
    return csr_matvecs is not None and A.device.type == "cpu" and A.dtype in (torch.float32, torch.float64)
