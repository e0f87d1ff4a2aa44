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

Memory: the basis holds at most ``m_cap`` vectors, sized to the ``memory`` budget (bytes for the algorithm's own
vectors, default half the available memory; :mod:`losslens.curvature.memory`), so an 11M-parameter network never
asks for a 300-vector float64 basis. When the basis is full before convergence the run continues by a *thick
restart* (Wu & Simon 2000): the ``k`` Ritz pairs nearest the wanted ends (``k`` = half the basis, at least
``top + bottom``) are kept as the first basis vectors, the last Lanczos vector follows, and ``T`` becomes

    T = [[diag(θ_keep), β_m s_keep[m]], [β_m s_keep[m]ᵀ, α]]   (an arrowhead block, then tridiagonal again)

so ``H V = V T + β v eᵀ`` still holds and the residual formula stays exact. ``basis_dtype=torch.float32`` halves
the basis (orthogonality then holds to ~1e-7, enough for float32 products). When even ``top + bottom + 2`` basis
vectors (plus the restart copies and work vectors) do not fit, the call refuses up front with the numbers.

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
from ..tolerances import default_tol
from ..validation import InputError, check_float, check_int
from .memory import check_basis_dtype, refuse, resolve_budget
from .operator import as_operator


@dataclass(frozen=True)
class LanczosResult(Result):
    """The ``top`` largest (descending) and ``bottom`` smallest (ascending) eigenvalue estimates of ∇²f(x).

    ``*_values`` [k], ``*_residuals`` [k] (‖H y − θ y‖, same units as λ), ``*_converged`` [k] (residual <= tol ·
    scale), ``*_vectors`` [k, n] float64 unit Ritz vectors (left out of ``to_dict``). ``ritz_values`` [m]: every Ritz
    value of the final basis, ascending. ``hvps``: Hessian-vector products used; ``iterations``: Lanczos steps (one
    product each); ``restarts``: invariant subspaces found; ``thick_restarts``: basis compressions forced by the
    memory budget; ``basis_size``: the largest basis allowed (vectors); ``basis_dtype``; ``memory``: the budget in
    bytes and ``memory_used`` the bytes of vectors this run allocated at most; ``scale`` = max |θ|; ``tol`` is
    relative to ``scale``.
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
    thick_restarts: int
    basis_size: int
    basis_dtype: str
    memory: int
    memory_used: int
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


def _ritz(alpha: list[float], beta: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues [m] ascending and eigenvectors [m, m] of the tridiagonal T (diag alpha, off-diag beta)."""
    if len(alpha) == 1:
        return np.array(alpha), np.ones((1, 1))
    return eigh_tridiagonal(np.asarray(alpha), np.asarray(beta))


def _extremes(m: int, top: int, bottom: int) -> tuple[np.ndarray, np.ndarray]:
    top_idx = np.arange(m - 1, max(m - 1 - top, -1), -1)
    bottom_idx = np.arange(0, min(bottom, m))
    return top_idx, bottom_idx


def _keep_count(m: int, top: int, bottom: int) -> int:
    """Ritz pairs kept by a thick restart of a full basis of ``m`` vectors: half of it, at least the wanted ones,
    leaving room for two new vectors."""
    return min(m - 2, max(top + bottom, m // 2))


def _work_bytes(n: int, top: int, bottom: int) -> int:
    """Float64 vectors besides the basis: the product, its input and update, a projection, the returned Ritz
    vectors."""
    return (4 + top + bottom) * 8 * n


def basis_capacity(n: int, top: int, bottom: int, wanted: int, budget: int, item: int) -> tuple[int, int]:
    """(largest basis size ``m <= wanted`` whose vectors fit ``budget`` bytes, bytes it uses). A basis smaller than
    ``wanted`` (and than ``n``) needs room for the thick restart's copies of the kept Ritz vectors; the minimum is
    ``top + bottom + 2`` vectors. Raises :class:`InputError` when the minimum does not fit."""
    work = _work_bytes(n, top, bottom)
    full = work + wanted * item * n
    if full <= budget:
        return wanted, full
    per = item * n
    m = (budget - work) // per        # upper bound; shrink until basis + restart copies fit
    m = min(int(m), wanted)
    while m >= top + bottom + 2 and work + (m + _keep_count(m, top, bottom)) * per > budget:
        m -= 1
    m_min = min(top + bottom + 2, wanted)
    if m < m_min:
        need = work + (m_min + _keep_count(m_min, top, bottom)) * per
        raise refuse("Lanczos", n, need, budget, f"{m_min} basis vectors, {_keep_count(m_min, top, bottom)} restart "
                     f"copies of {item} bytes per entry and {work // (8 * n)} float64 work vectors")
    return m, work + (m + _keep_count(m, top, bottom)) * per


def _orthogonalize(w: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``w`` [n] float64 minus its projection on the rows of ``basis`` [j, n], twice ("twice is enough")."""
    for _ in range(2):
        w -= (basis.T @ (basis @ w.to(basis.dtype))).to(torch.float64)
    return w


def lanczos(objective, x=None, *, top: int = 1, bottom: int = 1, tol: float | None = None,
            max_hvps: int | None = None, seed: int = 0, batch: int = 16, memory: float | None = None,
            basis_dtype: torch.dtype = torch.float64) -> LanczosResult:
    """The ``top`` largest and ``bottom`` smallest eigenvalues of ∇²f(x), with Ritz vectors and residuals.

    ``objective``: an :class:`~losslens.objective.Objective` (with the point ``x`` [n]), a dense symmetric tensor
    [n, n], or a :class:`HessianOperator`. ``tol`` (relative residual) defaults to sqrt(eps) of the objective's
    dtype; ``max_hvps`` bounds the products (default ``min(n, max(300, 20·(top+bottom)))`` when that basis fits the
    budget, else ``max(300, 20·(top+bottom))`` with thick restarts). ``memory``: bytes for the vectors (default half
    the available memory); ``basis_dtype``: float64 (default) or float32.

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
    basis_dtype = check_basis_dtype(basis_dtype)
    if max_hvps is not None:
        max_hvps = check_int("max_hvps", max_hvps, lo=1)
    budget = resolve_budget(memory, getattr(op, "device", None))
    item = torch.finfo(basis_dtype).bits // 8
    default = max(300, 20 * (top + bottom))
    m_cap, used = basis_capacity(n, top, bottom, min(n, default if max_hvps is None else max_hvps), budget, item)
    if max_hvps is None:
        max_hvps = min(n, default) if m_cap == min(n, default) else default
    m_cap = min(m_cap, max_hvps)
    eps = float(torch.finfo(basis_dtype).eps)
    gen = torch.Generator().manual_seed(seed)

    V = torch.empty(m_cap, n, dtype=basis_dtype)
    T = np.zeros((m_cap, m_cap))
    block_start, restarts, thick, steps, j = 0, 0, 0, 0, 0
    q = torch.randn(n, generator=gen, dtype=torch.float64)
    V[0] = q / torch.linalg.vector_norm(q)
    theta = S = res = None
    while True:
        q = V[j].to(torch.float64)
        w = op(q)
        steps += 1
        if not torch.isfinite(w).all():
            raise FloatingPointError("a Hessian-vector product is not finite (NaN or inf loss or gradient?)")
        T[j, j] = float(q @ w)
        basis = V[: j + 1]
        w = _orthogonalize(w, basis)
        b = float(torch.linalg.vector_norm(w))
        theta, S = np.linalg.eigh(T[: j + 1, : j + 1])
        res = np.abs(b * S[-1, :])
        scale = max(float(np.abs(theta).max()), np.finfo(np.float64).tiny)
        ok = res <= tol * scale
        top_idx, bottom_idx = _extremes(j + 1, top, bottom)
        done = bool(ok[top_idx].all() and ok[bottom_idx].all()) and j + 1 >= min(n, top + bottom)
        if block_start:  # after a restart the new block must settle its own extremes before the answer is trusted
            bt, bS = np.linalg.eigh(T[block_start: j + 1, block_start: j + 1])
            bres = np.abs(b * bS[-1, :])
            bt_idx, bb_idx = _extremes(len(bt), top, bottom)
            done = done and bool((bres[bt_idx] <= tol * scale).all() and (bres[bb_idx] <= tol * scale).all())
        if steps >= max_hvps or j + 1 == n:
            break
        breakdown = b <= 64 * eps * scale * math.sqrt(n)
        if breakdown:
            # invariant subspace. Restart from a random vector orthogonal to the basis while the block just finished
            # still reached into the wanted ends: only then can a further block hold another copy of a wanted value.
            bt = np.linalg.eigvalsh(T[block_start: j + 1, block_start: j + 1])
            margin = tol * scale
            reaches = ((top and bt[-1] >= theta[top_idx[-1]] - margin)
                       or (bottom and bt[0] <= theta[bottom_idx[-1]] + margin))
            if not reaches:
                break
            restarts += 1
            w = _orthogonalize(torch.randn(n, generator=gen, dtype=torch.float64), basis)
            b_next, coupling = float(torch.linalg.vector_norm(w)), 0.0
        elif done:
            break
        else:
            b_next, coupling = b, b
        if j + 1 == m_cap:   # the basis is full: thick restart from the Ritz pairs nearest the wanted ends
            keep = _keep_count(m_cap, top, bottom)
            kt = min(len(theta), round(keep * top / (top + bottom)) if bottom else keep)
            idx = np.unique(np.concatenate([np.arange(len(theta) - kt, len(theta)), np.arange(keep - kt)]))
            Y = torch.from_numpy(np.ascontiguousarray(S[:, idx].T)).to(basis_dtype) @ basis
            V[: len(idx)] = Y
            del Y
            T[:] = 0.0
            T[: len(idx), : len(idx)] = np.diag(theta[idx])
            T[len(idx), : len(idx)] = T[: len(idx), len(idx)] = coupling * S[-1, idx]
            j = len(idx)
            thick += 1
            block_start = 0 if not breakdown else j
            if breakdown:   # the random vector must also be orthogonal to the kept Ritz vectors only
                w = _orthogonalize(w, V[:j])
                b_next = float(torch.linalg.vector_norm(w))
        else:
            if breakdown:
                block_start = j + 1
            T[j + 1, j] = T[j, j + 1] = coupling
            j += 1
        V[j] = (w / b_next).to(basis_dtype)

    m = j + 1
    scale = max(float(np.abs(theta).max()), np.finfo(np.float64).tiny)
    ok = res <= tol * scale
    top_idx, bottom_idx = _extremes(m, top, bottom)
    St = torch.from_numpy(S)
    vecs = lambda idx: ((St[:, idx].T.to(basis_dtype) @ V[:m]).to(torch.float64) if len(idx)
                        else torch.zeros(0, n, dtype=torch.float64))
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return LanczosResult(
        top_values=t(theta[top_idx]), top_residuals=t(res[top_idx]), top_converged=t(ok[top_idx]),
        bottom_values=t(theta[bottom_idx]), bottom_residuals=t(res[bottom_idx]), bottom_converged=t(ok[bottom_idx]),
        ritz_values=t(theta), converged=bool(ok[top_idx].all() and ok[bottom_idx].all()), hvps=op.hvps - start,
        iterations=steps, restarts=restarts, scale=scale, tol=tol, seed=seed, thick_restarts=thick,
        basis_size=m_cap, basis_dtype=str(basis_dtype).replace("torch.", ""), memory=budget, memory_used=used,
        top_vectors=vecs(top_idx), bottom_vectors=vecs(bottom_idx))
