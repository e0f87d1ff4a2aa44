"""Spectral density of ∇²f(x) by stochastic Lanczos quadrature (SLQ), from Hessian-vector products.

The spectral measure ``φ = (1/n) Σ_i δ(λ − λ_i)`` satisfies ``φ(g) = (1/n) tr g(H) = E_v[vᵀ g(H) v]`` for a
probe ``v`` uniform on the sphere-like Rademacher set scaled to unit norm (``E[v vᵀ] = I/n``). ``m`` Lanczos steps
from ``v`` give the tridiagonal ``T_m`` with eigenpairs ``(θ_j, s_j)``; Gauss quadrature gives

    vᵀ g(H) v ≈ Σ_j τ_j g(θ_j),   τ_j = s_j[1]²,   Σ_j τ_j = 1         (exact for polynomials of degree ≤ 2m−1)

and averaging ``P`` probes gives the discrete measure ``Σ_{p,j} (τ_pj / P) δ(λ − θ_pj)`` (``nodes``, ``weights``;
no smoothing, the primary result). Full reorthogonalisation keeps the nodes free of ghost copies; a probe whose
Krylov space becomes invariant stops early and its quadrature is then exact.

Memory: a probe's ``m`` Lanczos vectors of length ``n`` must fit ``memory`` bytes (default half the available
memory, :mod:`losslens.curvature.memory`). When they do not, each new vector is reorthogonalised against the last
``w`` vectors only (``w`` = as many as fit, at least 2, the plain three-term recurrence; ``reorthogonalization``
reports ``w``). Lost orthogonality then shows as ghost copies of converged extreme nodes whose weights split the
true node's weight, which leaves the quadrature moments ``Σ τ_j θ_j^k`` (k < 2m) unchanged in exact arithmetic
(Golub & Meurant); below 2 vectors the call refuses up front.

Smoothing (for plotting only): each node becomes a Gaussian of standard deviation ``σ``,

    φ_σ(t) = Σ_{p,j} (τ_pj / P) · exp(−(t − θ_pj)² / 2σ²) / (σ √(2π)),

with ``σ = sigma`` if given (absolute, in eigenvalue units), else ``σ = 0.01 · (θ_max − θ_min)`` (1 % of the
computed spectral range; Ghorbani et al. 2019 and PyHessian use a fixed variance 1e-5 on a rescaled spectrum).
The grid spans ``[θ_min − 5σ, θ_max + 5σ]`` with ``points`` points, so ``φ_σ`` integrates to 1 on it up to
quadrature error. ``negative_fraction`` = Σ of weights at nodes ``< −tol·max|θ|``: the estimated share of
eigenvalues that are negative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..results import Result
from ..validation import InputError, check_float, check_int
from ..tolerances import default_tol
from .lanczos import _ritz
from .memory import refuse, resolve_budget
from .operator import as_operator

_WORK = 4   # float64 [n] vectors besides the basis: probe, product, projection, update
from .trace import rademacher


@dataclass(frozen=True)
class SpectralDensity(Result):
    """SLQ estimate of the eigenvalue distribution of ∇²f(x).

    ``nodes`` [N] and ``weights`` [N] (sum 1): the discrete quadrature measure over all probes. ``grid`` [p] and
    ``density`` [p]: its Gaussian smoothing with standard deviation ``sigma``. ``probes`` P, ``steps`` m (Lanczos
    steps per probe), ``hvps`` used, ``negative_fraction`` (share of weight at nodes below ``-tol·scale``),
    ``trace_estimate`` = n · Σ weights · nodes (the SLQ estimate of tr H), ``seed``, ``reorthogonalization``
    (vectors each new one is orthogonalised against: ``steps`` = full), ``memory`` (the budget in bytes).
    """

    nodes: torch.Tensor
    weights: torch.Tensor
    grid: torch.Tensor
    density: torch.Tensor
    sigma: float
    probes: int
    steps: int
    hvps: int
    negative_fraction: float
    trace_estimate: float
    tol: float
    seed: int
    reorthogonalization: int
    memory: int


def _probe_quadrature(op, v: torch.Tensor, steps: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature nodes θ [m] and weights τ [m] of ``vᵀ g(H) v`` from ``steps`` Lanczos steps from unit ``v``,
    each new vector orthogonalised against the last ``window`` ones (a ring buffer [window, n])."""
    n = len(v)
    Q = torch.empty(min(window, steps), n, dtype=torch.float64)
    alpha: list[float] = []
    beta: list[float] = []
    q = v
    for j in range(steps):
        Q[j % len(Q)] = q
        w = op(q)
        if not torch.isfinite(w).all():
            raise FloatingPointError("a Hessian-vector product is not finite (NaN or inf loss or gradient?)")
        alpha.append(float(q @ w))
        basis = Q[: j + 1]
        for _ in range(2):
            w -= basis.T @ (basis @ w)
        b = float(torch.linalg.vector_norm(w))
        scale = max(abs(a) for a in alpha) + sum(beta) / max(len(beta), 1)
        if j + 1 == steps or b <= 64 * np.finfo(np.float64).eps * max(scale, 1e-300) * math.sqrt(n):
            break
        beta.append(b)
        q = w / b
    theta, S = _ritz(alpha, beta)
    return theta, S[0, :] ** 2


def spectral_density(objective, x=None, *, probes: int = 4, steps: int = 50, sigma: float | None = None,
                     points: int = 512, tol: float | None = None, seed: int = 0, batch: int = 16,
                     memory: float | None = None) -> SpectralDensity:
    """SLQ spectral density with ``probes`` Rademacher probes and ``steps`` Lanczos steps each (≤ probes·steps HVPs);
    ``memory`` bytes for the Lanczos vectors (default half the available memory).

    >>> import torch
    >>> d = spectral_density(torch.diag(torch.tensor([-1.0, 2.0, 2.0, 5.0])), probes=3, steps=4, seed=0)
    >>> sorted(set(round(t, 9) for t in d.nodes.tolist())), round(float(d.weights.sum()), 12)
    ([-1.0, 2.0, 5.0], 1.0)
    """
    op = as_operator(objective, x, batch=batch)
    start = op.hvps
    probes = check_int("probes", probes, lo=1)
    steps = check_int("steps", steps, lo=1)
    points = check_int("points", points, lo=16)
    tol = default_tol(op.dtype) if tol is None else check_float("tol", tol, lo=0, lo_open=True, hi=1)
    if sigma is not None:
        sigma = check_float("sigma", sigma, lo=0, lo_open=True)
    steps = min(steps, op.n)
    budget = resolve_budget(memory, getattr(op, "device", None))
    window = min(steps, (budget - _WORK * 8 * op.n) // (8 * op.n))
    if window < min(2, steps):      # (one parameter: one Lanczos step, one vector)
        raise refuse("SLQ", op.n, (_WORK + 2) * 8 * op.n, budget, f"2 Lanczos vectors and {_WORK} work vectors of "
                     "8 bytes per entry")
    gen = torch.Generator().manual_seed(seed)
    nodes, weights = [], []
    for _ in range(probes):
        v = rademacher(1, op.n, gen)[0] / math.sqrt(op.n)
        theta, tau = _probe_quadrature(op, v, steps, int(window))
        nodes.append(theta)
        weights.append(tau / probes)
    nodes_np, weights_np = np.concatenate(nodes), np.concatenate(weights)
    lo, hi = float(nodes_np.min()), float(nodes_np.max())
    span = hi - lo
    if sigma is None:
        sigma = 0.01 * span if span > 0 else max(abs(hi), 1.0) * 1e-3
    grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, points)
    dens = np.zeros(points)
    for i in range(0, len(nodes_np), 256):   # bounded memory: [points, 256] at a time
        t, w = nodes_np[i:i + 256], weights_np[i:i + 256]
        dens += (w * np.exp(-0.5 * ((grid[:, None] - t) / sigma) ** 2)).sum(1)
    dens /= sigma * math.sqrt(2 * math.pi)
    scale = max(abs(lo), abs(hi))
    negative = float(weights_np[nodes_np < -tol * scale].sum())
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))
    return SpectralDensity(t(nodes_np), t(weights_np), t(grid), t(dens), float(sigma), probes, steps, op.hvps - start,
                           negative, float(op.n * (weights_np * nodes_np).sum()), tol, seed, int(window), budget)
