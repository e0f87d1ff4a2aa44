"""The Hessian trace ``tr ∇²f(x)`` from Hessian-vector products: Hutch++ and plain Hutchinson, with intervals.

Hutchinson: for Rademacher ``g`` (entries ±1), ``E[gᵀ H g] = tr H``; the estimate is the mean of ``m`` such
quadratic forms (one product each).

Hutch++ (Meyer, Musco, Musco, Woodruff 2021, Algorithm 1) with a budget of ``m`` products and ``k = ⌊m/3⌋``:
``Y = H S`` for Rademacher ``S`` [n, k]; ``Q`` = orthonormal basis of ``Y`` [n, k]; then

    tr H ≈ tr(Qᵀ H Q) + (1/|G|) Σ_g gᵀ (I − QQᵀ) H (I − QQᵀ) g,      |G| = m − 2k Rademacher vectors,

exact on the top of the spectrum the sketch captures, Hutchinson on what is left.

Adaptive choice (a deviation from the paper, stated): deflation only pays when the sketch captures most of
``‖H‖_F²``. After ``Y = H S``, an out-of-sample estimate of the captured fraction of ``‖H‖_F²``:
``c = Σ_{s∈S₂} ‖Q₁ᵀ H s‖² / Σ_{s∈S₂} ‖H s‖²`` with ``Q₁`` the basis of ``H S₁`` for one half ``S₁`` of the sketch
and ``S₂`` the other half (no extra products; conservative, as ``Q₁`` has half the rank of ``Q``; an in-sample
estimate from the Gram eigenvalues of ``YᵀY`` is biased upwards by their random spread). ``‖H‖_F²`` is estimated by
``mean ‖H s_i‖²``. The deflated quadratic forms have variance about ``2 (1 − c) ‖H‖_F²``; Hutchinson's has variance
``2 (‖H‖_F² − Σ H_ii²)``, estimated directly by the sample variance ``s²`` of the ``k`` sketch forms ``s_iᵀ H s_i``
(a Rademacher probe gains from a heavy diagonal, a projected one does not). Hutch++ proceeds only when
``2 (1 − c) ‖H‖_F² / (m − 2k) < s² / m``; otherwise the ``k`` sketch vectors count as Hutchinson samples and ``m − k``
more are drawn, so a flat spectrum costs nothing against plain Hutchinson. The Hutch++ branch is unbiased given the
sketch (its probes are fresh). The Hutchinson branch reuses the ``k`` sketch forms, which also entered the decision,
so it is exactly unbiased only when the decision does not depend on them; on a given spectrum the decision is
nearly deterministic (the same branch for all 100 seeds on each benchmark point) and the coverage checks over
hundreds of seeds see no effect.

When deflation pays, and when nothing can: with ``m`` products Hutchinson's variance is ``2 (‖H‖_F² − Σ H_ii²) / m``,
Hutch++'s at best ``2 ‖H − H_k‖_F² / (m − 2k)``, reached only if the sketch finds the top-``k`` eigenvectors. A
third of Hutchinson's error needs ``‖H − H_k‖_F²`` below about ``(1 − 2k/m) / 9`` of ``‖H‖_F² − Σ H_ii²``: a few
dominant eigenvalues. A trained classifier's Hessian need not have them: after the standard training, the
digits-small-mlp (16 tanh units) has its top 33 eigenvalues holding 72 % of ``‖H‖_F²`` and 35 % of the trace, and
even an oracle handed the exact eigenvectors would gain under 25 %; the digits-mlp (two layers of 128 ReLU) has its
top 10 holding 95 % of ``‖H‖_F²``, and there Hutch++'s error is a quarter of Hutchinson's
(figures and commands in docs/benchmarks.md).

Memory: the probes are drawn and multiplied ``batch`` at a time, so plain Hutchinson holds two ``[batch, n]`` blocks,
never all ``m`` probes. Hutch++ holds its sketch ``S``, ``Y = HS`` and the basis ``Q`` (with the QR's workspace:
``SKETCH_VECTORS_PER_RANK`` float64 vectors per sketch column) plus the probe blocks; under ``memory`` bytes
(default half the available memory, :mod:`losslens.curvature.memory`) the sketch rank ``k`` is lowered to what fits
(``sketch_rank`` says how many; the ``m − 2k`` probes make up the rest), and below ``k = 2`` the estimate is plain
Hutchinson, stated in ``method``. Both refuse up front when not even one probe block of ``2 n`` numbers fits.

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
from .memory import refuse, resolve_budget
from .operator import as_operator

SKETCH_VECTORS_PER_RANK = 4     # S, Y, Q and the QR's copy of Y, each [n] float64 per sketch column


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
    memory: int | None = None


def rademacher(k: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """[k, n] float64 entries ±1 with equal probability."""
    return torch.randint(0, 2, (k, n), generator=gen).to(torch.float64).mul_(2).sub_(1)


def _probe_rows(op, batch: int, budget: int) -> int:
    """Probes per block: ``batch``, fewer when two ``[rows, n]`` float64 blocks (probes and products) exceed the budget."""
    per_probe = 2 * op.n * 8
    if per_probe > budget:
        raise refuse("a trace probe", op.n, per_probe, budget, "one probe and its product, float64")
    return max(1, min(batch, budget // per_probe))


def _probe_forms(op, count: int, gen: torch.Generator, rows: int, project=None) -> torch.Tensor:
    """[count] quadratic forms ``gᵀ H g`` of Rademacher ``g`` (``project``: applied to each block first), ``rows`` at
    a time."""
    forms = []
    for start in range(0, count, rows):
        G = rademacher(min(rows, count - start), op.n, gen)
        if project is not None:
            G = project(G)
        forms.append((G * op(G)).sum(1))
    return torch.cat(forms) if forms else torch.zeros(0, dtype=torch.float64)


def _interval(exact: float, samples: torch.Tensor, confidence: float) -> tuple[float, float, float, float]:
    """Mean-based estimate, t-interval and standard error of ``exact + mean(samples)``."""
    m = len(samples)
    est = exact + float(samples.mean())
    se = float(samples.std(unbiased=True)) / math.sqrt(m) if m > 1 else math.inf
    half = float(student_t.ppf(0.5 + confidence / 2, df=m - 1)) * se if m > 1 else math.inf
    return est, est - half, est + half, se


def hutchinson(objective, x=None, *, hvps: int = 100, seed: int = 0, confidence: float = 0.95,
               batch: int = 16, memory: float | None = None) -> TraceEstimate:
    """Plain Hutchinson: mean of ``hvps`` Rademacher quadratic forms ``gᵀ H g``, with a t-interval; probes drawn
    ``batch`` at a time within ``memory`` bytes.

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
    budget = resolve_budget(memory, getattr(op, "device", None))
    gen = torch.Generator().manual_seed(seed)
    samples = _probe_forms(op, hvps, gen, _probe_rows(op, batch, budget))
    est, lo, hi, se = _interval(0.0, samples, confidence)
    return TraceEstimate(est, lo, hi, confidence, se, "hutchinson", op.hvps - start, hvps, 0, 0.0, None, seed, budget)


def hutch_plus_plus(objective, x=None, *, hvps: int = 100, seed: int = 0, confidence: float = 0.95,
                    adaptive: bool = True, batch: int = 16, memory: float | None = None) -> TraceEstimate:
    """Hutch++ with the adaptive fallback to Hutchinson described in the module docstring (``adaptive=False``:
    always Hutch++, as in the paper); the sketch rank lowered to fit ``memory`` bytes (module docstring).

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
    budget = resolve_budget(memory, getattr(op, "device", None))
    rows = _probe_rows(op, batch, budget)
    gen = torch.Generator().manual_seed(seed)
    n = op.n
    k = min(hvps // 3, n, (budget - 2 * rows * n * 8) // (SKETCH_VECTORS_PER_RANK * n * 8))
    if k < 2:                                                      # no sketch fits beside a probe block
        return hutchinson(op, hvps=hvps, seed=seed, confidence=confidence, batch=batch, memory=budget)
    S = rademacher(k, n, gen)
    Y = op(S)                                                      # [k, n] rows H s_i
    half = k // 2                                                  # out-of-sample: Q from one half, tested on the other
    Q1 = torch.linalg.qr(Y[:half].T).Q if half else Y.new_zeros(n, 0)
    Y2 = Y[half:]
    energy = float((Y2 * Y2).sum())
    captured = float(((Y2 @ Q1) ** 2).sum()) / energy if energy > 0 else 0.0
    rest = hvps - 2 * k
    sketch_forms = (S * Y).sum(1)
    frob2 = float((Y * Y).sum(1).mean())                           # E‖H s‖² = ‖H‖_F²
    hutch_var = float(sketch_forms.var(unbiased=True)) if k > 1 else 2 * frob2
    deflated_var = 2 * (1 - captured) * frob2
    if adaptive and deflated_var / rest >= hutch_var / hvps:
        del S, Y, Q1, Y2
        samples = torch.cat([sketch_forms, _probe_forms(op, hvps - k, gen, rows)])
        est, lo, hi, se = _interval(0.0, samples, confidence)
        return TraceEstimate(est, lo, hi, confidence, se, "hutchinson", op.hvps - start, len(samples), 0, 0.0, captured,
                             seed, budget)
    del S, Q1, Y2
    Q = torch.linalg.qr(Y.T).Q                                      # [n, k]
    del Y
    exact = float((Q.T * op(Q.T)).sum())                            # tr(Qᵀ H Q)
    samples = _probe_forms(op, rest, gen, rows, project=lambda G: G - (G @ Q) @ Q.T)   # (I − QQᵀ) g
    est, lo, hi, se = _interval(exact, samples, confidence)
    return TraceEstimate(est, lo, hi, confidence, se, "hutch++", op.hvps - start, rest, k, exact, captured, seed,
                         budget)
