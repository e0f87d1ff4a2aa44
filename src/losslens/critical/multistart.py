"""Stages 1-2: scrambled Sobol starts in the box, then batched damped Newton on ``g(x) = ∇f(x) = 0`` from all of them.

Every row of ``X`` [m, n] takes the Levenberg–Marquardt step of :func:`losslens.newton_step.newton_step`,
``d = -(H² + μI)⁻¹ H g`` with ``μ = (10⁻¹⁰ max|λ(H)|)²`` (defined where ``H`` is singular), then a backtracking line
search on ``‖g‖²`` over the step sizes ``m, 1, 1/2, ..., 1/32``. ``m`` corrects for a zero of multiplicity ``m``
(a singular Hessian at the zero): there Newton contracts by ``(m-1)/m`` per step, so the ratio ``ρ`` of successive
step lengths estimates ``m = 1/(1-ρ)`` (modified Newton). Newton on ``g`` converges to minima, maxima and saddles alike.
"""
from __future__ import annotations

import math

import torch
from torch.func import grad as _grad, hessian as _hessian, vmap

from ..newton_step import newton_step
from ..objective import Box, Objective


def sobol_starts(box: Box, m: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    """``m`` scrambled Sobol points in ``box``, shape [m, n] (the same seed gives the same points)."""
    eng = torch.quasirandom.SobolEngine(box.n, scramble=True, seed=seed)
    u = eng.draw(m, dtype=dtype)
    lo, hi = box.tensors(dtype)
    return lo + (hi - lo) * u


def batched_newton(objective: Objective, X: torch.Tensor, iters: int = 80, gtol: float = 1e-13):
    """Damped Newton (Levenberg–Marquardt, module docstring) on ∇f(x) = 0 for every row of X [m, n] at once.

    Returns (X [m, n], ‖g‖ [m], finite [m] bool, scale): rows whose f, g or H become non-finite are frozen; a row
    stops when ``‖g‖ <= gtol · scale`` (``scale`` = 1 + the median ‖g‖ at the starts) or when no step lowers ‖g‖.
    """
    g_fn = vmap(_grad(objective.f))
    h_fn = vmap(_hessian(objective.f))
    X = X.clone()
    alphas = torch.tensor([1.0, 0.5, 0.25, 0.125, 1 / 16, 1 / 32], dtype=X.dtype)
    with torch.no_grad():
        G = g_fn(X)
        finite = torch.isfinite(G).all(1) & torch.isfinite(objective.values(X))
        active = finite.clone()
        gn = torch.linalg.vector_norm(G, dim=1)
        scale = 1.0 + float(gn[finite].median()) if bool(finite.any()) else 1.0
        prev = torch.full_like(gn, math.inf)
        for _ in range(iters):
            active &= gn > gtol * scale
            if not bool(active.any()):
                break
            idx = active.nonzero().squeeze(1)
            Xa, Ga = X[idx], G[idx]
            H = h_fn(Xa)
            H = 0.5 * (H + H.transpose(1, 2))
            ok = torch.isfinite(H).all(2).all(1)
            H = torch.where(ok[:, None, None], H, torch.zeros_like(H))
            lam, Q = torch.linalg.eigh(H)
            mu = (1e-10 * lam.abs().amax(1).clamp_min(1e-300)) ** 2
            D = newton_step(lam, Q, Ga, mu)
            # multiplicity estimate from the ratio of successive step lengths (module docstring)
            dn = torch.linalg.vector_norm(D, dim=1)
            rho = dn / prev[idx]
            mult = torch.where((rho > 0.3) & (rho < 0.99), 1 / (1 - rho), torch.ones_like(rho)).clamp(max=50)
            prev[idx] = dn
            A = torch.cat([mult[None], alphas[:, None].expand(len(alphas), len(idx))])    # [a, k]
            trial = Xa[None] + A[:, :, None] * D[None]            # [a, k, n]
            Gt = g_fn(trial.reshape(-1, X.shape[1])).reshape(trial.shape)
            nt = torch.linalg.vector_norm(Gt, dim=2)
            nt = torch.where(torch.isfinite(nt), nt, torch.full_like(nt, math.inf))
            better = nt < gn[idx][None]
            first = torch.where(better.any(0), better.float().argmax(0), torch.full_like(idx, len(alphas)))
            pick = torch.arange(len(idx))
            newX, newG, newn = trial[first, pick], Gt[first, pick], nt[first, pick]
            moved = better.any(0) & ok
            X[idx] = torch.where(moved[:, None], newX, Xa)
            G[idx] = torch.where(moved[:, None], newG, Ga)
            gn[idx] = torch.where(moved, newn, gn[idx])
            stuck = idx[~moved]
            active[stuck] = False
    return X, gn, finite, scale
