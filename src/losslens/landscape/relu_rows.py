"""The Linear layer after the first ReLU along a grid row without its matmul: pre-activations updated at pattern flips.

Along a row of a grid only the last coordinate β moves. The first layer's pre-activation is affine in β (first-layer
identity), ``Z(β) = A + β B`` [N, h], and so are the next Linear layer's weight and bias, ``W(β) = W_a + β E`` [o, h],
``b(β) = b_a + β e``. With the ReLU pattern ``M(β) = [Z(β) > 0]`` its pre-activation is a quadratic in β,

    P(β) = (M ⊙ (A + βB)) W(β)ᵀ + b(β) = C₀ + β C₁ + β² C₂,
    C₀ = (M⊙A) W_aᵀ + b_a,   C₁ = (M⊙B) W_aᵀ + (M⊙A) Eᵀ + e,   C₂ = (M⊙B) Eᵀ    [N, o],

whose coefficients change only where the pattern does. Entry (i, u) of Z crosses zero once, at β* = −A_iu / B_iu; on
a uniform axis ``β_t = β₀ + t h`` it flips at step ``t* = ⌈(β* − β₀) / h⌉`` (on from t* when B_iu > 0, off from t*
when B_iu < 0), and the flip adds ``s (A_iu W_a[:, u], A_iu E[:, u] + B_iu W_a[:, u], B_iu E[:, u])`` (s = ±1) to row i
of ``(C₀, C₁, C₂)``: per step sparse products added in place (scipy's CSR kernel) and two passes over [N, o],
instead of the ``N h o`` multiply-adds of the matmul. Per row: the flip schedule (one integer
sort) and the coefficients at β₀ (four ``[N, h] × [h, o]`` products).

Rounding can put an entry's flip one step off only when β* lies within rounding of a grid value, where the entry
itself, ``A + βB``, is at rounding level: the values agree with the plain forward to float rounding (tested). Steps
are applied in order from β₀, so a point's value depends on its row and step only (not on where a chunk starts).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .buffers import reused

try:     # the compiled CSR × dense kernel that accumulates into its output (Y += A X)
    from scipy.sparse._sparsetools import csr_matvecs
except ImportError:       # pragma: no cover - scipy moved it: the plain matmul path is used
    csr_matvecs = None

# Costs in float32 matmul multiply-adds, fitted to the row and plain paths of 64-h-h-10 ReLU MLPs on the 1797 digits
# (h = 128, 256, 512; ``benchmarks/bench_landscape.py``, one thread): the model's row/plain ratios 1.48, 1.13, 0.97
# against the measured 1.46, 1.13, 0.97. Passes over memory cost more than a matmul's multiply-adds on a CPU whose
# cache holds the [N, o] coefficients only in part, so rows pay off only for wide layers.
SPARSE_COST = 19.0        # one sparse multiply-add of a flip
PASS_COST = 14.0          # one element of an elementwise pass over [N, o] (three per step)
START_COST = 1850.0       # per entry of Z at a row's start: t*, masks, the sort and the flips' values
STEP_OVERHEAD = 1e6       # fixed cost of a step's calls (~20 µs)


class ReluRow:
    """``P(β_t)`` for the steps ``t = 0..steps-1`` of one row (module docstring), for a CPU float tensor batch.

    ``A, B`` [N, h]: the first layer's pre-activation at β = 0 and its β-slope; ``W_a, E`` [o, h] and ``b_a, e`` [o]:
    the next Linear layer's weight and bias at β = 0 and their slopes; ``beta0, step``: the axis ``β_t = β₀ + t·step``.
    ``worth``: whether the row costs less than plain matmuls (``when(N, h, o, steps, flips)``, default
    :func:`worth_it`); the coefficients are only formed when it does.

    The coefficients live in ``C`` [3, N, o]. A step's flips are sparse matrices with entries ``(i, u)``:
    ``S_A = s A_iu``, ``S_B = s B_iu`` (s = ±1 for on/off), and the update is three products added in place,
    ``C₀ += S_A W_aᵀ``, ``C₁ += [S_A | S_B] [Eᵀ; W_aᵀ]``, ``C₂ += S_B Eᵀ`` (4o multiply-adds per flip; one product
    against ``[[W_aᵀ, Eᵀ, 0], [0, W_aᵀ, Eᵀ]]`` would waste a third on zeros and ran 10-15 % slower).
    """

    def __init__(self, A, B, W_a, E, b_a, e, beta0: float, step: float, steps: int, when=None,
                 work: dict | None = None):
        N, h = A.shape
        o = W_a.shape[0]
        self.N, self.h, self.o, self.t = N, h, o, 0
        work = work if work is not None else {}            # the previous row's buffers

        def buf(name, shape, dtype):
            return reused(work, name, shape, A, dtype)

        self.worth = False
        if not (math.isfinite(float(A.sum())) and math.isfinite(float(B.sum()))):
            return        # a NaN or inf entry (or a sum past the float range): the plain forward reports it
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
        self.worth = (when or worth_it)(N, h, o, steps, F)
        if not self.worth:
            return
        self.rows, u = np.divmod(q, h)
        a, b = A.numpy().reshape(-1)[q], B.numpy().reshape(-1)[q]
        self.u, self.a, self.b = u, a * np.sign(b), np.abs(b)
        self.cols = np.empty(2 * F, dtype=np.int64)         # [S_A | S_B]: row i holds (u, s A_iu), (h + u, s B_iu)
        self.cols[0::2], self.cols[1::2] = u, u + h
        self.vals = np.empty(2 * F, dtype=a.dtype)
        self.vals[0::2], self.vals[1::2] = self.a, self.b

        masked = buf("masked", (N, h), A.dtype)
        mask = buf("mask", (N, h), A.dtype).copy_(on)
        self.C = C = buf("C", (3, N, o), A.dtype)
        self.C0, self.C1, self.C2 = C.unbind()
        torch.mul(A, mask, out=masked)                      # M ⊙ A
        torch.addmm(b_a, masked, W_a.T, out=C[0])
        torch.addmm(e, masked, E.T, out=C[1])
        torch.mul(B, mask, out=masked)                      # M ⊙ B
        C[1].addmm_(masked, W_a.T)
        torch.mm(masked, E.T, out=C[2])
        W_t, E_t = W_a.T.contiguous().numpy(), E.T.contiguous().numpy()
        self.W_t, self.E_t = W_t.reshape(-1), E_t.reshape(-1)
        self.EW_t = np.concatenate([E_t, W_t]).reshape(-1)
        self.C_flat = [c.numpy().reshape(-1) for c in C]
        self.ip1, self.ip2 = np.zeros(N + 1, dtype=np.int64), np.zeros(N + 1, dtype=np.int64)
        self.Q = buf("Q", (N, o), A.dtype)

    def advance(self, t: int) -> None:
        """Apply the flips of steps ``self.t + 1 .. t`` (``t >= self.t``)."""
        N, h, o, ip1, ip2 = self.N, self.h, self.o, self.ip1, self.ip2
        C0, C1, C2 = self.C_flat
        for s in range(self.t + 1, t + 1):
            lo, hi = self.bounds[s] - self.offset, self.bounds[s + 1] - self.offset
            if hi > lo:
                np.cumsum(np.bincount(self.rows[lo:hi], minlength=N), out=ip1[1:])
                np.multiply(ip1, 2, out=ip2)
                csr_matvecs(N, h, o, ip1, self.u[lo:hi], self.a[lo:hi], self.W_t, C0)
                csr_matvecs(N, 2 * h, o, ip2, self.cols[2 * lo:2 * hi], self.vals[2 * lo:2 * hi], self.EW_t, C1)
                csr_matvecs(N, h, o, ip1, self.u[lo:hi], self.b[lo:hi], self.E_t, C2)
        self.t = max(self.t, t)

    def output(self, beta: float, out: torch.Tensor, relu: bool) -> torch.Tensor:
        """``P(β) = C₀ + β (C₁ + β C₂)`` (through ReLU when ``relu``) into ``out`` [N, o], β on the current step."""
        torch.add(self.C1, self.C2, alpha=beta, out=self.Q)
        if relu:
            return torch.ops.aten._add_relu.out(self.C0, self.Q, alpha=beta, out=out)
        return torch.add(self.C0, self.Q, alpha=beta, out=out)


def worth_it(N: int, h: int, o: int, steps: int, flips: int) -> bool:
    """Is the flip-updated row cheaper than ``steps`` matmuls (rough operation counts, in matmul multiply-adds)?"""
    matmuls = steps * N * h * o
    updated = (4 * N * h * o + START_COST * N * h + SPARSE_COST * 4 * o * flips + PASS_COST * 3 * steps * N * o
               + steps * STEP_OVERHEAD)
    return updated < matmuls


def workspace_bytes(N: int, h: int, o: int, itemsize: int) -> int:
    """Memory one row of a batch holds at most: the schedule (per entry of Z: t*, its integer, three masks, the sort
    order, and per flip an index pair and two values) and the coefficients with their products ([N, o] each)."""
    return N * h * (2 * itemsize + 2 + 3 + 8 + 3 * 8 + 2 * itemsize) + 6 * N * o * itemsize


def available(A: torch.Tensor) -> bool:
    return csr_matvecs is not None and A.device.type == "cpu" and A.dtype in (torch.float32, torch.float64)
