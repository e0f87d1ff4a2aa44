"""The Linear layer after the first ReLU, along one grid row, without its matmul: pre-activations updated by pattern flips.

Along a row of a grid only the last coordinate β moves. The first layer's pre-activation is affine in β (first-layer
identity), ``Z(β) = A + β B`` [N, h], and so are the next Linear layer's weight and bias, ``W(β) = W_a + β E`` [o, h],
``b(β) = b_a + β e``. With the ReLU pattern ``M(β) = [Z(β) > 0]`` its pre-activation is a quadratic in β,

    P(β) = (M ⊙ (A + βB)) W(β)ᵀ + b(β) = C₀ + β C₁ + β² C₂,
    C₀ = (M⊙A) W_aᵀ + b_a,   C₁ = (M⊙B) W_aᵀ + (M⊙A) Eᵀ + e,   C₂ = (M⊙B) Eᵀ    [N, o],

whose coefficients change only where the pattern does. Entry (i, u) of Z crosses zero once, at β* = −A_iu / B_iu; on
a uniform axis ``β_t = β₀ + t h`` it flips at step ``t* = ⌈(β* − β₀) / h⌉`` (on from t* when B_iu > 0, off from t*
when B_iu < 0), and the flip adds ``s (A_iu W_a[:, u], A_iu E[:, u] + B_iu W_a[:, u], B_iu E[:, u])`` (s = ±1) to row i
of ``[C₀ | C₁ | C₂]``: per step a sparse product added in place (scipy's CSR kernel) and two passes over [N, o],
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

    The coefficients live in ``C`` [N, 3o] = ``[C₀ | C₁ | C₂]``; a flip of (i, u) is two entries of row i of the
    sparse ``[N, 2h]`` step matrix, ``(u, s A_iu)`` and ``(h + u, s B_iu)``, against
    ``G₃ = [[W_aᵀ, Eᵀ, 0], [0, W_aᵀ, Eᵀ]]`` [2h, 3o] (one call, two passes per output; measured faster than two
    blocks without the zeros, whose output takes a third pass).
    """

    def __init__(self, A, B, W_a, E, b_a, e, beta0: float, step: float, steps: int, when=None,
                 work: dict | None = None):
        N, h = A.shape
        o = W_a.shape[0]
        self.N, self.h, self.o, self.t = N, h, o, 0
        buf = _Workspace(work if work is not None else {})  # the previous row's buffers: fresh pages cost here
        zero = torch.eq(B, 0, out=buf("zero", (N, h), torch.bool))   # never flips; on where A > 0
        t_star = torch.div(A, B, out=buf("t*", (N, h), A.dtype)).neg_().sub_(beta0).div_(step).ceil_()
        t_star.clamp_(0, steps)
        has_zero = bool(zero.any())
        if has_zero:
            t_star.masked_fill_(zero, steps)               # also clears 0/0 and ±inf
        t_int = buf("t", (N * h,), torch.int16 if steps < 2 ** 15 else torch.int32).copy_(t_star.view(-1))
        on = torch.eq(t_int.view(N, h), 0, out=buf("on", (N, h), torch.bool))
        on ^= torch.lt(B, 0, out=buf("negative", (N, h), torch.bool))
        if has_zero:                                        # M(β₀): on from t* if B > 0, until t* if B < 0
            on |= zero & (A > 0)
        flat = t_int.numpy()
        order = np.argsort(flat, kind="stable")             # a radix sort: flips grouped by step, row-major within
        self.bounds = np.searchsorted(flat[order], np.arange(steps + 2)).tolist()
        q = order[self.bounds[1]:self.bounds[steps]]        # flips at steps 1..steps-1
        self.flips = F = len(q)
        self.offset = self.bounds[1]
        self.indptr = np.zeros(N + 1, dtype=np.int64)
        self.worth = (when or worth_it)(N, h, o, steps, F)
        if not self.worth:
            return
        self.rows, u = np.divmod(q, h)
        self.cols = np.empty(2 * F, dtype=np.int64)         # row i: (u, s A_iu) and (h + u, s B_iu), s = sign B_iu
        self.cols[0::2], self.cols[1::2] = u, u + h
        a, b = A.numpy().reshape(-1)[q], B.numpy().reshape(-1)[q]
        self.vals = np.empty(2 * F, dtype=a.dtype)
        np.multiply(a, np.sign(b), out=self.vals[0::2])
        np.abs(b, out=self.vals[1::2])

        G = torch.cat([W_a.T, E.T], 1)                      # [h, 2o]
        masked = buf("masked", (N, h), A.dtype)
        mask = buf("mask", (N, h), A.dtype).copy_(on)
        U = torch.mm(torch.mul(A, mask, out=masked), G, out=buf("U", (N, 2 * o), A.dtype))   # [(M⊙A)W_aᵀ|(M⊙A)Eᵀ]
        V = torch.mm(torch.mul(B, mask, out=masked), G, out=buf("V", (N, 2 * o), A.dtype))   # [(M⊙B)W_aᵀ|(M⊙B)Eᵀ]
        self.C = C = buf("C", (N, 3 * o), A.dtype)
        torch.add(U, torch.cat([b_a, e]), out=C[:, :2 * o])
        C[:, o:2 * o] += V[:, :o]
        C[:, 2 * o:] = V[:, o:]
        G3 = buf("G3", (2 * h, 3 * o), A.dtype).zero_()
        G3[:h, :2 * o] = G
        G3[h:, o:] = G
        self.G3, self.Cflat = G3.numpy().reshape(-1), C.numpy().reshape(-1)
        self.Q = buf("Q", (N, o), A.dtype)

    def advance(self, t: int) -> None:
        """Apply the flips of steps ``self.t + 1 .. t`` (``t >= self.t``)."""
        for s in range(self.t + 1, t + 1):
            lo, hi = self.bounds[s] - self.offset, self.bounds[s + 1] - self.offset
            if hi > lo:
                np.cumsum(np.bincount(self.rows[lo:hi], minlength=self.N) * 2, out=self.indptr[1:])
                csr_matvecs(self.N, 2 * self.h, 3 * self.o, self.indptr, self.cols[2 * lo:2 * hi],
                            self.vals[2 * lo:2 * hi], self.G3, self.Cflat)
        self.t = max(self.t, t)

    def output(self, beta: float, out: torch.Tensor, relu: bool) -> torch.Tensor:
        """``P(β) = C₀ + β (C₁ + β C₂)`` (through ReLU when ``relu``) into ``out`` [N, o], β on the current step."""
        o, C = self.o, self.C
        torch.add(C[:, o:2 * o], C[:, 2 * o:], alpha=beta, out=self.Q)
        if relu:
            return torch.ops.aten._add_relu.out(C[:, :o], self.Q, alpha=beta, out=out)
        return torch.add(C[:, :o], self.Q, alpha=beta, out=out)


class _Workspace:
    """Named buffers kept from row to row (``work``): a row's tensors are as large as the batch's activations, and
    taking fresh memory for each row costs page faults comparable to the row's arithmetic (measured)."""

    def __init__(self, work: dict):
        self.work = work

    def __call__(self, name: str, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
        t = self.work.get(name)
        if t is None or t.shape != shape or t.dtype != dtype:
            t = self.work[name] = torch.empty(shape, dtype=dtype)
        return t


def worth_it(N: int, h: int, o: int, steps: int, flips: int) -> bool:
    """Is the flip-updated row cheaper than ``steps`` matmuls (rough operation counts, in matmul multiply-adds)?"""
    matmuls = steps * N * h * o
    updated = 4 * N * h * o + SPARSE_COST * (6 * o * flips + 3 * steps * N * o) + steps * STEP_OVERHEAD
    return updated < matmuls


def available(A: torch.Tensor) -> bool:
    return csr_matvecs is not None and A.device.type == "cpu" and A.dtype in (torch.float32, torch.float64)
