"""Critical points of a small real network and how their index relates to their loss.

Dauphin et al. (NeurIPS 2014) and Pennington & Bahri (ICML 2017): critical points of a network's loss with high
loss are saddles with many descent directions, those with low loss are (near) minima; the index
``α = #{λ_i(∇²f) < 0} / n`` grows with the loss ``ε`` (Pennington & Bahri predict ``α ∝ (ε − ε_c)^{3/2}`` near the
minimum energy ``ε_c``).

Procedure. ``f(x)`` is the mean cross-entropy of an MLP ``64 → hidden → 10`` (tanh) on ``samples`` digits images
(float64, :class:`losslens.model.ModelObjective`). Starting points are snapshots of full-batch gradient descent
(``torch.optim.SGD``) at several steps, from several initialisations, so their losses span the range. From each,
**Newton-MR** (Roosta, Liu, Xu & Mahoney 2018) minimises ``φ(x) = ½‖∇f(x)‖²``, which vanishes at critical points of
every index (not only minima):

    d = argmin ‖H d + g‖  (MINRES on Hessian-vector products ``obj.hvp``; d = −H⁺g),
    x ← x + α d,  α by backtracking until  ‖g(x + αd)‖² ≤ ‖g‖² + 2·10⁻⁴ α gᵀH d,

``gᵀHd = −‖P_range(H) g‖² ≤ 0`` so ``d`` descends on ``φ``. The Hessian is never formed during the search. A point
counts as critical when ``‖∇f‖ ≤ tol``. Its index comes from the dense Hessian (``torch.func.hessian``, float64,
eigvalsh): eigenvalues with ``|λ| ≤ zero_tol · max|λ|`` are counted as zero (cross-entropy is invariant to adding a
constant to all output biases, so at least one zero is exact); ``index = negative / n``.

Verdict: ``index_rises_with_loss`` when at least 5 critical points converged and Spearman's rank correlation of
index with loss is positive with p < 0.05; ``not_observed`` when it is significantly negative; ``unknown`` otherwise
(too few converged points, not significant). Whether the lowest-loss point is a minimum (index 0) is stated in
``reason``, not folded into the verdict: Newton-MR finds saddles near the training path, and a small network's
low-loss critical points need not have index exactly 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..results import Result
from ..validation import check_float, check_int


@dataclass(frozen=True)
class CriticalPoint(Result):
    """One search: where it started (``start_loss``, ``start``) and the critical point it reached."""

    start: str
    start_loss: float
    loss: float
    gradient_norm: float
    converged: bool
    iterations: int
    hvps: int
    n: int
    negative: int
    zero: int
    index: float
    min_eigenvalue: float
    max_eigenvalue: float


@dataclass(frozen=True)
class NetworkSaddles(Result):
    """All critical points; linear fit ``index ≈ slope · loss + intercept`` and Spearman's ρ over converged ones."""

    hidden: int
    samples: int
    n_params: int
    seed: int
    tol: float
    points: tuple[CriticalPoint, ...]
    slope: float | None
    intercept: float | None
    spearman: float | None
    spearman_p: float | None
    verdict: str
    reason: str


def tiny_mlp(hidden: int, seed: int = 0) -> nn.Module:
    """MLP 64 → hidden → 10 with tanh, seeded initialisation (the global RNG is untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, 10))


def digits_objective(model: nn.Module, samples: int, seed: int = 0):
    from ..datasets import digits
    from ..model import ModelObjective

    X, y = digits(seed=seed, dtype=torch.float64).train
    samples = check_int("samples", samples, lo=10, hi=len(X))
    return ModelObjective(model, nn.CrossEntropyLoss(), (X[:samples], y[:samples]), dtype=torch.float64)


def newton_mr(obj, x0: torch.Tensor, tol: float = 1e-8, max_iter: int = 100, minres_iter: int = 200
              ) -> tuple[torch.Tensor, int, int, bool]:
    """Minimise ½‖∇f‖² by Newton-MR from ``x0`` [n]. Returns (x, iterations, HVPs used, ‖∇f(x)‖ <= tol)."""
    from scipy.sparse.linalg import LinearOperator, minres

    x = x0.clone()
    hvps = 0
    g = obj.grad(x)
    for it in range(max_iter):
        gn2 = float(g @ g)
        if math.sqrt(gn2) <= tol:
            return x, it, hvps, True
        counter = [0]

        def mv(v, x=x):
            counter[0] += 1
            return obj.hvp(x, torch.as_tensor(np.asarray(v).ravel(), dtype=torch.float64)).numpy()

        H = LinearOperator((obj.n, obj.n), matvec=mv, dtype=np.float64)
        d, _ = minres(H, -g.numpy(), maxiter=minres_iter, rtol=1e-10)
        d = torch.as_tensor(d, dtype=torch.float64)
        Hd = obj.hvp(x, d)
        hvps += counter[0] + 1
        slope = float(2 * g @ Hd)                 # d/dα ‖g(x + αd)‖² at α = 0
        if not slope < 0:                         # MINRES stopped early on a bad direction: use −Hg instead
            d = -obj.hvp(x, g)
            hvps += 1
            slope = float(-2 * d @ d)
        alpha = 1.0
        while alpha > 1e-10:
            gx = obj.grad(x + alpha * d)
            if float(gx @ gx) <= gn2 + 1e-4 * alpha * slope:
                break
            alpha /= 2
        else:
            return x, it, hvps, False
        x, g = x + alpha * d, gx
    return x, max_iter, hvps, float(g.norm()) <= tol


def point_index(obj, x: torch.Tensor, zero_tol: float = 1e-9) -> tuple[int, int, float, float]:
    """(negative, zero, λ_min, λ_max) of the dense Hessian at ``x``; |λ| <= zero_tol·max|λ| counts as zero."""
    ev = torch.linalg.eigvalsh(obj.hessian(x))
    scale = float(ev.abs().max())
    zero = ev.abs() <= zero_tol * max(scale, 1e-300)
    return int(((ev < 0) & ~zero).sum()), int(zero.sum()), float(ev[0]), float(ev[-1])


def gd_snapshots(obj, x0: torch.Tensor, lr: float, steps: tuple[int, ...]) -> list[tuple[int, torch.Tensor]]:
    """Full-batch gradient descent (torch.optim.SGD) from ``x0``; the iterate at each step in ``steps``."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.SGD([x], lr=lr)
    out, step = [], 0
    for target in sorted(steps):
        while step < target:
            opt.zero_grad()
            x.grad = obj.grad(x.detach())
            opt.step()
            step += 1
        out.append((step, x.detach().clone()))
    return out


def network_saddles(hidden: int = 4, samples: int = 100, inits: int = 2, steps: tuple[int, ...] = (0, 20, 60, 200),
                    lr: float = 0.5, tol: float = 1e-6, max_iter: int = 30, minres_iter: int = 50, seed: int = 0,
                    progress: Callable[[int, int], None] | None = None) -> NetworkSaddles:
    """Critical points reached by Newton-MR from gradient-descent snapshots; their index against their loss."""
    hidden = check_int("hidden", hidden, lo=1, hi=64)
    inits = check_int("inits", inits, lo=1)
    tol = check_float("tol", tol, lo=0, lo_open=True)
    lr = check_float("lr", lr, lo=0, lo_open=True)
    for s in steps:
        check_int("steps", s, lo=0)
    objs = [digits_objective(tiny_mlp(hidden, seed + i), samples, seed) for i in range(inits)]
    starts = [(f"init {i}, gd step {s}", obj, x) for i, obj in enumerate(objs)
              for s, x in gd_snapshots(obj, obj.x0, lr, steps)]
    points = []
    for k, (label, obj, x0) in enumerate(starts):
        if progress:
            progress(k, len(starts))
        x, it, hvps, ok = newton_mr(obj, x0, tol, max_iter, minres_iter)
        neg, zero, lo, hi = point_index(obj, x)
        points.append(CriticalPoint(label, float(obj.value(x0)), float(obj.value(x)), float(obj.grad(x).norm()), ok,
                                    it, hvps, obj.n, neg, zero, neg / obj.n, lo, hi))
    if progress:
        progress(len(starts), len(starts))
    return NetworkSaddles(hidden, samples, objs[0].n, seed, tol, tuple(points), *_fit(points))


def _fit(points) -> tuple:
    from scipy.stats import spearmanr

    good = [p for p in points if p.converged]
    if len(good) < 5:
        return None, None, None, None, "unknown", f"only {len(good)} of {len(points)} searches converged (need 5)"
    loss = np.array([p.loss for p in good])
    idx = np.array([p.index for p in good])
    if np.ptp(loss) == 0 or np.ptp(idx) == 0:
        return None, None, None, None, "unknown", "all converged points share one loss or one index"
    slope, intercept = np.polyfit(loss, idx, 1)
    rho, pval = spearmanr(loss, idx)
    low = good[int(np.argmin(loss))]
    msg = (f"{len(good)} critical points; Spearman rho(index, loss) = {rho:.3f} (p = {pval:.2g}); lowest loss "
           f"{low.loss:.4g} has index {low.index:.4f} ({'a minimum' if low.negative == 0 else 'still a saddle'})")
    if rho > 0 and pval < 0.05:
        verdict = "index_rises_with_loss"
    elif rho <= 0 and pval < 0.05:
        verdict = "not_observed"
    else:
        verdict = "unknown"
    return float(slope), float(intercept), float(rho), float(pval), verdict, msg
