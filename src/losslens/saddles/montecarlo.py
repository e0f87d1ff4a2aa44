"""Plain Monte Carlo for P(H ≻ 0): batched positive-definiteness tests and exact binomial intervals.

The test is a batched Cholesky factorisation (``torch.linalg.cholesky_ex``: ``info == 0`` iff every leading minor
is positive, i.e. ``H ≻ 0``), an order of magnitude cheaper than ``eigvalsh`` and the same decision; ``method=
"eigvalsh"`` uses the smallest eigenvalue instead. For GOE the diagonal signs are decided first: a matrix with a
negative diagonal entry is not positive definite, so only the survivors (their number is Binomial(trials, 2^−n))
are drawn in full and factorised. The decision and its distribution are unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from scipy.stats import beta

from ..results import Result
from ..validation import check_choice, check_float, check_int
from .ensembles import get_ensemble


@dataclass(frozen=True)
class MonteCarloEstimate(Result):
    """``hits`` positive-definite matrices among ``trials``; ``p = hits / trials``; ``[lo, hi]`` the exact
    (Clopper–Pearson) interval at ``confidence``."""

    n: int
    trials: int
    hits: int
    p: float
    lo: float
    hi: float
    confidence: float
    seed: int


def clopper_pearson(hits: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval: ``lo = Beta⁻¹(α/2; k, N−k+1)``, ``hi = Beta⁻¹(1−α/2; k+1, N−k)`` (0 and 1 at the ends)."""
    a = 1.0 - confidence
    lo = 0.0 if hits == 0 else float(beta.ppf(a / 2, hits, trials - hits + 1))
    hi = 1.0 if hits == trials else float(beta.ppf(1 - a / 2, hits + 1, trials - hits))
    return lo, hi


def _is_positive_definite(H: torch.Tensor, method: str) -> torch.Tensor:
    if method == "cholesky":
        return torch.linalg.cholesky_ex(H)[1] == 0
    return torch.linalg.eigvalsh(H)[:, 0] > 0


def count_positive_definite(n: int, trials: int, ensemble: str = "goe", seed: int = 0, batch: int = 65536,
                            method: str = "cholesky", dtype: torch.dtype = torch.float64) -> int:
    """How many of ``trials`` matrices from ``ensemble`` (size ``n``) are positive definite. Batched, seeded."""
    ens = get_ensemble(ensemble)
    g = torch.Generator().manual_seed(seed)
    hits = 0
    if ens.name == "goe":
        # How many of the trials have an all-positive diagonal is Binomial(trials, 2^-n); their diagonal entries
        # are then |N(0, 1)|. Only those survivors get an off-diagonal part and a factorisation.
        survivors = int(torch.binomial(torch.tensor([float(trials)], dtype=torch.float64),
                                       torch.tensor([0.5 ** n], dtype=torch.float64), generator=g).item())
        for start in range(0, survivors, batch):
            b = min(batch, survivors - start)
            d = torch.randn(b, n, generator=g, dtype=dtype).abs()
            A = torch.randn(b, n, n, generator=g, dtype=dtype)
            H = torch.triu(A, 1) / math.sqrt(2.0)
            H = H + H.mT + torch.diag_embed(d)
            hits += int(_is_positive_definite(H, method).sum())
        return hits
    for start in range(0, trials, batch):
        b = min(batch, trials - start)
        H = ens.matrix(torch.randn(b, ens.latent_dim(n), generator=g, dtype=dtype), n)
        hits += int(_is_positive_definite(H, method).sum())
    return hits


def monte_carlo(n: int, trials: int, ensemble: str = "goe", seed: int = 0, confidence: float = 0.95,
                method: str = "cholesky", batch: int = 65536) -> MonteCarloEstimate:
    """Estimate P(H ≻ 0) for one ``n`` by ``trials`` independent draws, with an exact binomial interval."""
    n = check_int("n", n, lo=1)
    trials = check_int("trials", trials, lo=1)
    confidence = check_float("confidence", confidence, lo=0, hi=1, lo_open=True, hi_open=True)
    check_choice("method", method, ("cholesky", "eigvalsh"))
    batch = check_int("batch", batch, lo=1)
    hits = count_positive_definite(n, trials, ensemble, seed, batch, method)
    lo, hi = clopper_pearson(hits, trials, confidence)
    return MonteCarloEstimate(n, trials, hits, hits / trials, lo, hi, confidence, seed)
