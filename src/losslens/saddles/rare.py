"""Rare-event estimate of P(GOE(n) ≻ 0) by subset simulation (Au & Beck, Probabilistic Engineering Mechanics 16
(2001)) on the GOE eigenvalue gas.

For ``n`` beyond ~8 plain Monte Carlo sees no positive-definite GOE matrix in 10^5 draws (P₁₀ ≈ 2·10⁻¹⁴,
P₃₀ ≈ 10⁻¹¹²). Importance sampling by tilting (shifting or rescaling the Gaussian entries) does not help: the event
has probability exp(−Θ(n²)) and a tilt of n² Gaussian entries gives log-weights whose spread also grows with n.
Subset simulation writes the tiny probability as a product of moderate conditional ones,

    P(λ_min > 0) = Π_k P(λ_min > t_k | λ_min > t_{k−1}),      t_0 = −∞ < t_1 < … < t_K = 0,

with each threshold ``t_k`` the ``(1 − p0)`` quantile of ``λ_min`` over ``N`` particles, so each factor is ``p0``
(the last one is measured). Particles above ``t_k`` are cloned and moved by a Markov chain that leaves the
eigenvalue density conditioned on ``λ_min > t_k`` invariant. The chain runs on the eigenvalues themselves (the
Coulomb gas ``p(λ) ∝ Π exp(−λ_i²/2) Π_{i<j} |λ_i − λ_j|``, see :mod:`losslens.saddles.exact`): ``n`` numbers per
particle instead of ``n(n+1)/2`` matrix entries and no eigendecomposition. Each sweep proposes
``λ_i' = λ_i + σ ξ`` for every ``i`` in turn (all particles at once) and accepts with the Metropolis ratio when
``λ_i' > t_k``; ``σ`` adapts between sweeps so that about 40 % of moves are accepted.
``ln P̂ = (K − 1) ln p0 + ln(fraction > 0 at the last level)``.

A first version moved the Gaussian matrix entries by preconditioned Crank–Nicolson steps instead; at n = 20 its
chains did not decorrelate between levels and ``ln P̂`` was off by 40 (against the exact −117.7). The eigenvalue
gas mixes well enough to match the exact values (tests), which is why the rare-event method is GOE-only: the other
ensembles have no closed-form eigenvalue density and get plain Monte Carlo with exact binomial intervals.

Interval: ``R`` independent runs give ``ln P̂_r``; the estimate is their mean and the interval
``mean ± t_{R−1} · sd / √R``. It covers run-to-run variation, including the correlation between cloned chains; the
common bias of subset simulation is O(K/N) in ``ln P`` and is checked against the exact GOE values in the tests.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from scipy.stats import t as student_t

from ..results import Result
from ..validation import check_choice, check_float, check_int


@dataclass(frozen=True)
class RareEventEstimate(Result):
    """Natural-log probability ``log_p`` with interval ``[log_lo, log_hi]`` from ``len(runs)`` independent runs.

    ``runs`` [R] ln P̂ per run; ``levels`` [R] intermediate levels per run; ``acceptance`` mean acceptance rate of
    the moves; ``steps`` sweeps per level; ``converged`` False when a run hit ``max_levels`` before reaching 0 (then the numbers are bounds
    only and the verdict is unknown).
    """

    n: int
    ensemble: str
    log_p: float
    log_lo: float
    log_hi: float
    confidence: float
    runs: tuple[float, ...]
    levels: tuple[int, ...]
    particles: int
    p0: float
    steps: int
    acceptance: float
    converged: bool
    seed: int


def _log_density(lam: torch.Tensor) -> torch.Tensor:
    """ln of the unnormalised GOE eigenvalue density for each row of ``lam`` [N, n]."""
    diff = (lam[:, :, None] - lam[:, None, :]).abs()
    iu = torch.triu_indices(lam.shape[1], lam.shape[1], 1)
    return -(lam * lam).sum(1) / 2 + diff[:, iu[0], iu[1]].log().sum(1)


def sample_goe_eigenvalues(N: int, n: int, g: torch.Generator, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Eigenvalues [N, n] of N independent GOE(n) matrices (exact draws, unordered within a row)."""
    A = torch.randn(N, n, n, generator=g, dtype=dtype)
    return torch.linalg.eigvalsh((A + A.mT) / 2)


def _sweep(lam: torch.Tensor, t: float, sigma: float, g: torch.Generator) -> tuple[torch.Tensor, int]:
    """One Metropolis sweep over the coordinates of every particle, restricted to λ > t. Returns (λ, accepted)."""
    N, n = lam.shape
    accepted = 0
    for i in range(n):
        old = lam[:, i]
        new = old + sigma * torch.randn(N, generator=g, dtype=lam.dtype)
        others = torch.cat([lam[:, :i], lam[:, i + 1:]], 1)
        delta = -(new * new - old * old) / 2 + ((new[:, None] - others).abs().log()
                                                 - (old[:, None] - others).abs().log()).sum(1)
        u = torch.rand(N, generator=g, dtype=lam.dtype)
        ok = (new > t) & (u.log() < delta)
        lam[:, i] = torch.where(ok, new, old)
        accepted += int(ok.sum())
    return lam, accepted


def subset_simulation_run(n: int, particles: int, p0: float, steps: int, g: torch.Generator,
                          max_levels: int = 5000, dtype: torch.dtype = torch.float64) -> tuple[float, int, float, bool]:
    """One run: (ln P̂, number of levels, mean acceptance, reached 0)."""
    N, keep = particles, max(1, int(round(p0 * particles)))
    lam = sample_goe_eigenvalues(N, n, g, dtype)
    log_p, sigma, accepted, proposed = 0.0, 0.5, 0, 0
    for level in range(max_levels):
        s = lam.min(1).values
        above = int((s > 0).sum())
        if above >= keep:
            return log_p + math.log(above / N), level, accepted / max(proposed, 1), True
        order = torch.argsort(s, descending=True)
        t = float((s[order[keep - 1]] + s[order[keep]]) / 2)
        log_p += math.log(keep / N)
        lam = lam[order[:keep].repeat(N // keep + 1)[:N]].clone()   # every survivor seeds ~1/p0 chains
        for _ in range(steps):
            lam, acc = _sweep(lam, t, sigma, g)
            rate = acc / lam.numel()
            accepted, proposed = accepted + acc, proposed + lam.numel()
            sigma *= math.exp(rate - 0.4)       # aim at ~40 % accepted moves
    return log_p, max_levels, accepted / max(proposed, 1), False


def rare_event(n: int, ensemble: str = "goe", particles: int = 1000, p0: float = 0.1, steps: int = 5,
               replicates: int = 4, seed: int = 0, confidence: float = 0.95,
               max_levels: int = 5000) -> RareEventEstimate:
    """ln P(GOE(n) ≻ 0) by ``replicates`` independent subset-simulation runs (see the module docstring)."""
    n = check_int("n", n, lo=1)
    check_choice("ensemble (rare-event estimate)", ensemble, ("goe",))
    particles = check_int("particles", particles, lo=10)
    p0 = check_float("p0", p0, lo=0.01, hi=0.5)
    steps = check_int("steps", steps, lo=1)
    replicates = check_int("replicates", replicates, lo=2)
    confidence = check_float("confidence", confidence, lo=0, hi=1, lo_open=True, hi_open=True)
    g = torch.Generator().manual_seed(seed)
    out = [subset_simulation_run(n, particles, p0, steps, g, max_levels) for _ in range(replicates)]
    logs = [o[0] for o in out]
    mean = sum(logs) / len(logs)
    sd = math.sqrt(sum((v - mean) ** 2 for v in logs) / (len(logs) - 1))
    half = float(student_t.ppf(0.5 + confidence / 2, len(logs) - 1)) * sd / math.sqrt(len(logs))
    return RareEventEstimate(n, "goe", mean, mean - half, mean + half, confidence, tuple(logs),
                             tuple(o[1] for o in out), particles, p0, steps, sum(o[2] for o in out) / len(out),
                             all(o[3] for o in out), seed)
