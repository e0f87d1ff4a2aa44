"""The second-order test at a point of a large objective (a network), from extreme Hessian eigenvalues.

Inputs: the value ``f(x)``, the gradient norm ``‖∇f(x)‖`` and Lanczos estimates of ``λ_max`` and ``λ_min`` of
``H = ∇²f(x)`` with their residuals. With ``zero_tol = tol · max(1, max|θ|)`` (``tol`` = sqrt(eps) of the
objective's dtype unless given) and ``grad_tol = gtol · max(1, |f|)``:

``curvature`` (what the Hessian alone says):

* ``indefinite``            the smallest Ritz value ``θ_min < −zero_tol``. A Ritz value is a Rayleigh quotient
  ``yᵀHy`` of a unit vector, so ``λ_min ≤ θ_min``: a negative eigenvalue is proven, converged or not.
* ``positive_semidefinite`` ``θ_min ≥ −zero_tol`` and the smallest Ritz value has converged (residual ≤ tol·scale).
* ``flat``                  every computed eigenvalue within ``zero_tol`` of zero (converged).
* ``unknown``               the smallest Ritz value did not converge and is not negative: negative curvature
  cannot be ruled out (raise ``max_hvps``).
* ``not_finite``            the loss, gradient or a product is NaN/inf.

``kind`` (the chapter's Hessian test, D2L 11.1):

* ``not_critical`` ‖∇f‖ > grad_tol (the curvature is still reported: e.g. an indefinite Hessian on the way out)
* ``saddle``       critical and indefinite
* ``min``          critical and ``λ_min > zero_tol`` (positive definite along every computed direction)
* ``degenerate``   critical, positive semidefinite with ``λ_min`` within ``zero_tol`` of zero, or flat: the
  second-order test cannot decide (over-parameterised networks at a minimum land here: many zero eigenvalues)
* ``unknown`` / ``not_finite`` as for the curvature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..objective import Objective
from ..results import Result
from ..tolerances import default_tol, zero_threshold
from ..validation import check_float, check_int
from .density import SpectralDensity, spectral_density
from .lanczos import LanczosResult, lanczos
from .operator import as_operator
from .trace import TraceEstimate, hutch_plus_plus

KINDS = ("min", "saddle", "degenerate", "not_critical", "unknown", "not_finite")
CURVATURES = ("positive_semidefinite", "indefinite", "flat", "unknown", "not_finite")


@dataclass(frozen=True)
class HessianReport(Result):
    """The verdict at ``x`` with its evidence.

    ``value`` f(x); ``gradient_norm`` ‖∇f(x)‖; ``lambda_max`` / ``lambda_min``: extreme Ritz values (NaN if not
    computed); ``negative_ratio`` = |λ_min| / λ_max when λ_min < 0 < λ_max (how strong the escape direction is
    relative to the sharpest one), else 0; ``eigen``: the Lanczos run (values, residuals, converged flags, HVPs);
    ``trace`` and ``density`` when asked for; ``hvps``: products used in total; ``randomness``: how a model
    objective's random modules were fixed (its ``randomness`` statement, e.g. the dropout seed in train mode), None
    for other objectives; ``inputs``: what was analysed, as the caller names it (model spec, checkpoint, data
    source; its entries are top-level keys of ``to_dict``), with ``n`` (parameters), ``samples`` (data samples of a
    model objective, else None) and ``streamed`` (a model objective streams its data, else None) from the objective.
    """

    kind: str
    curvature: str
    reason: str
    value: float
    gradient_norm: float
    lambda_max: float
    lambda_min: float
    negative_ratio: float
    tol: float
    zero_tol: float
    grad_tol: float
    hvps: int
    eigen: LanczosResult | None
    trace: TraceEstimate | None = None
    density: SpectralDensity | None = None
    randomness: str | None = None
    inputs: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """The kind of point (``kind``, one of :data:`KINDS`)."""
        return self.kind


def classify_curvature(eigen: LanczosResult, *, tol: float, value: float, gradient_norm: float,
                       grad_tol: float) -> tuple[str, str, str, float, float]:
    """(kind, curvature, reason, zero_tol, negative_ratio) from a Lanczos run and the gradient norm."""
    lmax, lmin = eigen.lambda_max, eigen.lambda_min
    zero_tol = float(zero_threshold(torch.as_tensor(eigen.ritz_values), tol))
    ratio = abs(lmin) / lmax if lmin < 0 < lmax else 0.0
    # the sign question needs only the smallest Ritz value (the flat test only the largest) to have converged
    bottom_ok = bool(eigen.bottom_converged[0]) if len(eigen.bottom_converged) else False
    top_ok = bool(eigen.top_converged[0]) if len(eigen.top_converged) else False
    if lmin < -zero_tol:
        curvature = "indefinite"
        why = (f"negative curvature: λ_min <= {lmin:.4g} (a Rayleigh quotient), |λ_min|/λ_max = {ratio:.3g}")
    elif not bottom_ok:
        res = float(eigen.bottom_residuals[0]) if len(eigen.bottom_residuals) else math.nan
        curvature = "unknown"
        why = (f"smallest Ritz value {lmin:.4g} not converged after {eigen.hvps} HVPs (residual {res:.3g} > "
               f"{eigen.tol * eigen.scale:.3g}): negative curvature cannot be ruled out")
    elif abs(lmax) <= zero_tol and top_ok:
        curvature = "flat"
        why = f"every computed eigenvalue within {zero_tol:.3g} of zero: no curvature (plateau)"
    else:
        curvature = "positive_semidefinite"
        why = f"no eigenvalue below {-zero_tol:.3g}: λ_min = {lmin:.4g}, λ_max = {lmax:.4g}"
    critical = gradient_norm <= grad_tol
    if not critical:
        kind = "not_critical"
        reason = f"|grad| = {gradient_norm:.3g} > {grad_tol:.3g}; {why}"
    elif curvature == "indefinite":
        kind, reason = "saddle", why
    elif curvature == "unknown":
        kind, reason = "unknown", why
    elif curvature == "positive_semidefinite" and lmin > zero_tol:
        kind, reason = "min", why
    else:
        kind = "degenerate"
        reason = f"{why}; smallest eigenvalue within {zero_tol:.3g} of zero: the second-order test cannot decide"
    return kind, curvature, reason, zero_tol, ratio


def hessian_report(objective: Objective, x, *, top: int = 1, bottom: int = 1, tol: float | None = None,
                   grad_tol: float | None = None, max_hvps: int | None = None, trace_hvps: int = 0,
                   density: bool = False, probes: int = 4, steps: int = 50, seed: int = 0,
                   batch: int = 16, memory: float | None = None, inputs: dict | None = None) -> HessianReport:
    """Extreme eigenvalues (and on request trace and density) of ∇²f(x) with the verdict of the module docstring.

    ``trace_hvps`` > 0 adds a Hutch++ trace with that many products; ``density`` adds an SLQ density (``probes`` ×
    ``steps``). ``grad_tol`` is relative to max(1, |f|), like ``tol`` it defaults to sqrt(eps) of the dtype.
    ``memory``: bytes for the Lanczos, SLQ and trace vectors (default half the available memory; see
    :mod:`losslens.curvature.memory`). ``inputs``: the caller's names for what is analysed (see
    :class:`HessianReport`).

    >>> from losslens import parse
    >>> hessian_report(parse("x^2 - y^2 + z^2"), [0.0, 0.0, 0.0]).kind
    'saddle'
    """
    x = objective.point(x)
    inputs = {**(inputs or {}), "n": objective.n, "samples": getattr(objective, "num_samples", None),
              "streamed": getattr(objective, "streaming", None)}
    tol = default_tol(objective.dtype) if tol is None else check_float("tol", tol, lo=0, lo_open=True, hi=1)
    gtol = default_tol(objective.dtype) if grad_tol is None else check_float("grad_tol", grad_tol, lo=0,
                                                                            lo_open=True)
    trace_hvps = check_int("trace_hvps", trace_hvps, lo=0)
    v, g = objective.value_and_grad(x)
    value, gnorm = float(v), float(torch.linalg.vector_norm(g.double()))
    grad_tol_abs = gtol * max(1.0, abs(value)) if math.isfinite(value) else math.nan
    nan = math.nan
    if not (math.isfinite(value) and math.isfinite(gnorm)):
        return HessianReport("not_finite", "not_finite", f"loss {value} or |grad| {gnorm} is not finite here",
                             value, gnorm, nan, nan, nan, tol, nan, grad_tol_abs, 0, None, inputs=inputs)
    op = as_operator(objective, x, batch=batch)
    try:
        eigen = lanczos(op, top=top, bottom=bottom, tol=tol, max_hvps=max_hvps, seed=seed, memory=memory)
        tr = hutch_plus_plus(op, hvps=trace_hvps, seed=seed, batch=batch, memory=memory) if trace_hvps else None
        dens = spectral_density(op, probes=probes, steps=steps, tol=tol, seed=seed, memory=memory) if density else None
    except FloatingPointError as err:
        return HessianReport("not_finite", "not_finite", str(err), value, gnorm, nan, nan, nan, tol, nan,
                             grad_tol_abs, op.hvps, None, inputs=inputs)
    kind, curvature, reason, zero_tol, ratio = classify_curvature(eigen, tol=tol, value=value, gradient_norm=gnorm,
                                                                  grad_tol=grad_tol_abs)
    return HessianReport(kind, curvature, reason, value, gnorm, eigen.lambda_max, eigen.lambda_min, ratio, tol,
                         zero_tol, grad_tol_abs, op.hvps, eigen, tr, dens, getattr(objective, "randomness", None),
                         inputs)
