"""The Hessian trace ``tr ∇²f(x)`` from Hessian-vector products: Hutch++ and plain Hutchinson, with intervals.

Hutchinson: for Rademacher ``g`` (entries ±1), ``E[gᵀ H g] = tr H``; the estimate is the mean of ``m`` such
quadratic forms (one product each).

Hutch++ (Meyer, Musco, Musco, Woodruff 2021, Algorithm 1) with a budget of ``m`` products and ``k = ⌊m/3⌋``:
``Y = H S`` for Rademacher ``S`` [n, k]; ``Q`` = orthonormal basis of ``Y`` [n, k]; then

    tr H ≈ tr(Qᵀ H Q) + (1/|G|) Σ_g gᵀ (I − QQᵀ) H (I − QQᵀ) g,      |G| = m − 2k Rademacher vectors,

exact on the top of the spectrum the sketch captures, Hutchinson on what is left.

Adaptive choice (a deviation from the paper, stated): deflation only pays when the sketch captures most of
``‖H‖_F²``. After ``Y = H S`` the Gram eigenvalues ``μ_1 ≥ … ≥ μ_k`` of ``YᵀY`` estimate ``k λ_j² + (tail energy)``;
``c = Σ_j (μ_j − μ_k) / Σ_j μ_j`` estimates the captured fraction of ``‖H‖_F²``. The deflated variance is about
``(1 − c)`` times Hutchinson's but uses ``m − 2k`` instead of ``m`` samples, so Hutch++ proceeds only when
``1 − c < (m − 2k)/m``; otherwise the ``k`` sketch vectors count as Hutchinson samples and ``m − k`` more are drawn, so
a flat spectrum costs nothing against plain Hutchinson. Both branches are unbiased.

Interval: the stochastic part is a mean of iid samples given ``Q``; its ``confidence`` interval is Student's t with
the sample standard deviation (a CLT interval: close to its stated coverage for tens of samples; coverage is
tested over seeds, not assumed). ``tr(QᵀHQ)`` is computed exactly (up to rounding) and adds no width.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from scipy.stats import t as student_t

from ..results import Result
from ..validation import check_float, check_int
from .operator import as_operator


@dataclass(frozen=True)
class TraceEstimate(Result):
    """``estimate`` of tr H with a ``confidence`` interval ``[ci_low, ci_high]`` and standard error ``stderr``.

    ``method``: ``"hutch++"`` or ``"hutchinson"`` (what the adaptive rule chose, or what was asked). ``hvps``:
    products used; ``samples``: random quadratic forms in the stochastic part; ``sketch_rank`` k and
    ``exact_part`` tr(QᵀHQ) (0 for Hutchinson); ``captured_fraction``: estimated share of ‖H‖_F² in the sketch
    (None when no sketch was drawn).
    """

    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    stderr: float
    method: str
    hvps: int
    samples: int
    sketch_rank: int
    exact_part: float
    captured_fraction: float | None
    seed: int


def rademacher(k: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """[k, n] float64 entries ±1 with equal probability."""
    return torch.randint(0, 2, (k, n), generator=gen).to(torch.float64).mul_(2).sub_(1)


def _interval(exact: float, samples: torch.Tensor, confidence: float) -> tuple[float, float, float, float]:
    """Mean-based estimate, t-interval and standard error of ``exact + mean(samples)``."""
    m = len(samples)
    est = exact + float(samples.mean())
    se = float(samples.std(unbiased=True)) / math.sqrt(m) if m > 1 else math.inf
    half = float(student_t.ppf(0.5 + confidence / 2, df=m - 1)) * se if m > 1 else math.inf
    return est, est - half, est + half, se


def hutchinson(objective, x=None, *, hvps: int = 100, seed: int = 0, confidence: float = 0.95,
               batch: int = 16) -> TraceEstimate:
    """Plain Hutchinson: mean of ``hvps`` Rademacher quadratic forms ``gᵀ H g``, with a t-interval.

    >>> import torch
    >>> A = torch.diag(torch.arange(1.0, 51.0))
    >>> r = hutchinson(A, hvps=20, seed=0)
    >>> r.estimate == 1275.0          # exact for a diagonal matrix: gᵀ D g = tr D for every ±1 vector
    True
    """
    op = as_operator(objective, x, batch=batch)
    start = op.hvps
    hvps = check_int("hvps", hvps, lo=2)
    confidence = check_float("confidence", confidence, lo=0, hi=1, lo_open=True, hi_open=True)
    gen = torch.Generator().manual_seed(seed)
    G = rademacher(hvps, op.n, gen)
    samples = (G * op(G)).sum(1)
    est, lo, hi, se = _interval(0.0, samples, confidence)
    return TraceEstimate(est, lo, hi, confidence, se, "hutchinson", op.hvps - start, hvps, 0, 0.0, None, seed)


def hutch_plus_plus(objective, x=None, *, hvps: int = 100, seed: int = 0, confidence: float = 0.95,
                    adaptive: bool = True, batch: int = 16) -> TraceEstimate:
    """Hutch++ with the adaptive fallback to Hutchinson described in the module docstring (``adaptive=False``:
    always Hutch++, as in the paper).

    >>> import torch
    >>> U = torch.linalg.qr(torch.randn(200, 200, dtype=torch.float64, generator=torch.Generator().manual_seed(0))).Q
    >>> lam = torch.cat([torch.tensor([100.0, 50.0, 20.0]), torch.full((197,), 0.01, dtype=torch.float64)])
    >>> r = hutch_plus_plus(U @ torch.diag(lam) @ U.T, hvps=30, seed=0)   # tr = 171.97
    >>> r.method, r.ci_low <= 171.97 <= r.ci_high, r.ci_high - r.ci_low < 0.1
    ('hutch++', True, True)
    """
    op = as_operator(objective, x, batch=batch)
    start = op.hvps
    hvps = check_int("hvps", hvps, lo=6)
    confidence = check_float("confidence", confidence, lo=0, hi=1, lo_open=True, hi_open=True)
    gen = torch.Generator().manual_seed(seed)
    n = op.n
    k = min(hvps // 3, n)
    S = rademacher(k, n, gen)
    Y = op(S)                                                      # [k, n] rows H s_i
    mu = torch.linalg.eigvalsh(Y @ Y.T).flip(0).clamp_min(0)       # Gram eigenvalues, descending
    captured = float((mu - mu[-1]).sum() / mu.sum()) if float(mu.sum()) > 0 else 0.0
    rest = hvps - 2 * k
    if adaptive and (1 - captured) * hvps >= rest:
        G = rademacher(hvps - k, n, gen)
        samples = torch.cat([(S * Y).sum(1), (G * op(G)).sum(1)])
        est, lo, hi, se = _interval(0.0, samples, confidence)
        return TraceEstimate(est, lo, hi, confidence, se, "hutchinson", op.hvps - start, len(samples), 0, 0.0, captured,
                             seed)
    Q = torch.linalg.qr(Y.T).Q                                      # [n, k]
    exact = float((Q.T * op(Q.T)).sum())                            # tr(Qᵀ H Q)
    G = rademacher(rest, n, gen)
    Gp = G - (G @ Q) @ Q.T                                          # (I − QQᵀ) g
    samples = (Gp * op(Gp)).sum(1)
    est, lo, hi, se = _interval(exact, samples, confidence)
    return TraceEstimate(est, lo, hi, confidence, se, "hutch++", op.hvps - start, rest, k, exact, captured, seed)
