"""Extreme Hessian eigenvalues by Lanczos with full reorthogonalisation (HVPs only).

Lanczos builds an orthonormal basis ``Q_m = [q_1 … q_m]`` of the Krylov space ``span{q_1, H q_1, …, H^{m-1} q_1}``
(``q_1`` a seeded Gaussian unit vector, ``H`` = ∇²f(x) [n, n] seen only through products ``H v``) and the
tridiagonal ``T_m = Q_mᵀ H Q_m`` (diagonal ``α_j``, off-diagonal ``β_j``). The Ritz values ``θ_i`` (eigenvalues of
``T_m`` with eigenvectors ``s_i``) approximate the eigenvalues of ``H`` from the ends of the spectrum inwards; the
Ritz vectors are ``y_i = Q_m s_i`` and their residuals have the closed form

    ‖H y_i − θ_i y_i‖ = |β_m · s_i[m]|        (no extra products)

and by the Bauer–Fike bound some eigenvalue of ``H`` lies within that residual of ``θ_i``. The run stops when the
``top`` largest and ``bottom`` smallest Ritz values all have residual ``<= tol · max|θ|``, or at ``max_hvps``.

Numerics: every new vector is orthogonalised against the whole basis twice ("twice is enough"), so no spurious
copies of converged eigenvalues appear; the basis, the coefficients and ``T_m`` are float64 whatever the
objective's dtype. One product per iteration. When ``β_j`` vanishes the basis spans an invariant subspace: the run
restarts from a fresh random vector orthogonal to the basis (``T`` becomes block diagonal), which is how further
copies of a repeated eigenvalue are found (restarts continue while the finished block still reached the wanted
ends); after a restart it stops only once the new block's own extreme Ritz values have converged too. Without
breakdown a single start vector cannot see multiplicity: an exactly repeated eigenvalue may be reported once. Each Rayleigh quotient ``θ_i = y_iᵀ H y_i`` lies in ``[λ_min, λ_max]``, so a negative Ritz
value proves a negative eigenvalue even before convergence.

Deviation from textbook Lanczos: none in the recurrence; stopping uses the residual bound, not the change of θ
between iterations (what power iteration in PyHessian uses, which stops early on slow convergence).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal

from ..results import Result
from ..validation import InputError, check_float, check_int
from .operator import as_operator


@dataclass(frozen=True)
class LanczosResult(Result):
    """The ``top`` largest (descending) and ``bottom`` smallest (ascending) eigenvalue estimates of ∇²f(x).

    ``*_values`` [k], ``*_residuals`` [k] (‖H y − θ y‖, same units as λ), ``*_converged`` [k] (residual <= tol ·
    scale), ``*_vectors`` [k, n] float64 unit Ritz vectors (left out of ``to_dict``). ``ritz_values`` [m]: every Ritz
    value at the end, ascending. ``hvps``: Hessian-vector products used; ``iterations`` = basis size m;
    ``restarts``: invariant subspaces found; ``scale`` = max |θ|; ``tol`` is relative to ``scale``.
    """

    top_values: torch.Tensor
    top_residuals: torch.Tensor
    top_converged: torch.Tensor
    bottom_values: torch.Tensor
    bottom_residuals: torch.Tensor
    bottom_converged: torch.Tensor
    ritz_values: torch.Tensor
    converged: bool
    hvps: int
    iterations: int
    restarts: int
    scale: float
    tol: float
    seed: int
    top_vectors: torch.Tensor
    bottom_vectors: torch.Tensor

    @property
    def lambda_max(self) -> float:
        return float(self.top_values[0]) if len(self.top_values) else float(self.ritz_values[-1])

    @property
    def lambda_min(self) -> float:
        return float(self.bottom_values[0]) if len(self.bottom_values) else float(self.ritz_values[0])

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.pop("top_vectors"), d.pop("bottom_vectors")
        return d


def default_tol(dtype: torch.dtype) -> float:
    """sqrt(machine epsilon) of the products' dtype: 1.5e-8 (float64), 3.5e-4 (float32)."""
    return math.sqrt(torch.finfo(dtype).eps)


def _ritz(alpha: list[float], beta: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues [m] ascending and eigenvectors [m, m] of the tridiagonal T (diag alpha, off-diag beta)."""
    if len(alpha) == 1:
        return np.array(alpha), np.ones((1, 1))
    return eigh_tridiagonal(np.asarray(alpha), np.asarray(beta))


def _extremes(m: int, top: int, bottom: int) -> tuple[np.ndarray, np.ndarray]:
    top_idx = np.arange(m - 1, max(m - 1 - top, -1), -1)
    bottom_idx = np.arange(0, min(bottom, m))
    return top_idx, bottom_idx


def lanczos(objective, x=None, *, top: int = 1, bottom: int = 1, tol: float | None = None,
            max_hvps: int | None = None, seed: int = 0, batch: int = 16) -> LanczosResult:
    """The ``top`` largest and ``bottom`` smallest eigenvalues of ∇²f(x), with Ritz vectors and residuals.

    ``objective``: an :class:`~losslens.objective.Objective` (with the point ``x`` [n]), a dense symmetric tensor
    [n, n], or a :class:`HessianOperator`. ``tol`` (relative residual) defaults to sqrt(eps) of the objective's
    dtype; ``max_hvps`` (default ``min(n, max(300, 20·(top+bottom)))``) bounds the products.

    >>> import torch
    >>> r = lanczos(torch.diag(torch.arange(1.0, 101.0) - 50.5), top=2, bottom=1, tol=1e-10, seed=0)
    >>> [round(v, 8) for v in r.top_values.tolist()], round(r.lambda_min, 8), r.converged
    ([49.5, 48.5], -49.5, True)
    """
    op = as_operator(objective, x, batch=batch)
    start = op.hvps
    n = op.n
    top = check_int("top", top, lo=0)
    bottom = check_int("bottom", bottom, lo=0)
    if top + bottom == 0:
        raise InputError("top == 0 and bottom == 0, ask for at least one eigenvalue")
    if max(top, bottom) > n:
        raise InputError(f"top == {top}, bottom == {bottom}: each must be <= n == {n}")
    tol = default_tol(op.dtype) if tol is None else check_float("tol", tol, lo=0, lo_open=True, hi=1)
    max_hvps = min(n, max(300, 20 * (top + bottom))) if max_hvps is None else check_int("max_hvps", max_hvps, lo=1)
    m_max = min(n, max_hvps)
    gen = torch.Generator().manual_seed(seed)

    Q = torch.empty(m_max, n, dtype=torch.float64)
    alpha: list[float] = []
    beta: list[float] = []
    block_start, restarts = 0, 0
    q = torch.randn(n, generator=gen, dtype=torch.float64)
    q /= torch.linalg.vector_norm(q)
    theta = S = res = None
    for j in range(m_max):
        Q[j] = q
        w = op(q)
        if not torch.isfinite(w).all():
            raise FloatingPointError("a Hessian-vector product is not finite (NaN or inf loss or gradient?)")
        a = float(q @ w)
        alpha.append(a)
        basis = Q[: j + 1]
        for _ in range(2):  # full reorthogonalisation, twice: keeps Q orthonormal to working precision
            w -= basis.T @ (basis @ w)
        b = float(torch.linalg.vector_norm(w))
        theta, S = _ritz(alpha, beta)
        res = np.abs(b * S[-1, :])
        scale = max(float(np.abs(theta).max()), np.finfo(np.float64).tiny)
        ok = res <= tol * scale
        top_idx, bottom_idx = _extremes(j + 1, top, bottom)
        done = bool(ok[top_idx].all() and ok[bottom_idx].all()) and j + 1 >= min(n, top + bottom)
        if block_start:  # after a restart the new block must settle its own extremes before the answer is trusted
            bt, bS = _ritz(alpha[block_start:], beta[block_start:])
            bres = np.abs(b * bS[-1, :])
            bt_idx, bb_idx = _extremes(len(bt), top, bottom)
            done = done and bool((bres[bt_idx] <= tol * scale).all() and (bres[bb_idx] <= tol * scale).all())
        if j + 1 == m_max:
            break
        if b <= 64 * np.finfo(np.float64).eps * scale * math.sqrt(n):
            # invariant subspace. Restart from a random vector orthogonal to the basis while the block just finished
            # still reached into the wanted ends: only then can a further block hold another copy of a wanted value.
            bt = theta if not block_start else _ritz(alpha[block_start:], beta[block_start:])[0]
            margin = tol * scale
            reaches = ((top and bt[-1] >= theta[top_idx[-1]] - margin)
                       or (bottom and bt[0] <= theta[bottom_idx[-1]] + margin))
            if not reaches:
                break
            restarts += 1
            block_start = j + 1
            q = torch.randn(n, generator=gen, dtype=torch.float64)
            for _ in range(2):
                q -= basis.T @ (basis @ q)
            q /= torch.linalg.vector_norm(q)
            beta.append(0.0)
        elif done:
            break
        else:
            q = w / b
            beta.append(b)

    m = len(alpha)
    scale = max(float(np.abs(theta).max()), np.finfo(np.float64).tiny)
    ok = res <= tol * scale
    top_idx, bottom_idx = _extremes(m, top, bottom)
    St = torch.from_numpy(S)
    vecs = lambda idx: (St[:, idx].T @ Q[:m]) if len(idx) else torch.zeros(0, n, dtype=torch.float64)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return LanczosResult(
        top_values=t(theta[top_idx]), top_residuals=t(res[top_idx]), top_converged=t(ok[top_idx]),
        bottom_values=t(theta[bottom_idx]), bottom_residuals=t(res[bottom_idx]), bottom_converged=t(ok[bottom_idx]),
        ritz_values=t(theta), converged=bool(ok[top_idx].all() and ok[bottom_idx].all()), hvps=op.hvps - start,
        iterations=m, restarts=restarts, scale=scale, tol=tol, seed=seed,
        top_vectors=vecs(top_idx), bottom_vectors=vecs(bottom_idx))
