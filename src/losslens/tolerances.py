"""Precision-aware tolerances: the default relative tolerance and the one rule for "this eigenvalue is zero".

**Default tolerance.** ``default_tol(dtype) = sqrt(ε)``, ``ε`` the machine epsilon of ``dtype``: 1.5e-8 for
float64, 3.5e-4 for float32 (half the digits of the arithmetic).

**Zero eigenvalues.** For eigenvalues ``λ`` [..., n] of a symmetric matrix ``H`` (one spectrum per row),

    zero_threshold(λ, tol) = tol · max(1, max_i |λ_i|)              shape [...]
    λ_i counts as zero  ⇔  |λ_i| <= zero_threshold(λ, tol)           shape [..., n]

with ``tol = default_tol(dtype)`` unless given. The threshold scales with the spectrum's magnitude ``max|λ| = ‖H‖₂``
because a backward-stable eigensolver returns each ``λ_i`` with an error of about ``n·ε·‖H‖``, and with the
arithmetic's precision through ``tol``: ``sqrt(ε)`` leaves a margin of about ``sqrt(ε)/(n·ε)`` (10⁵ for float64
and ``n`` = 1000) over that error. The floor 1 keeps the rule absolute for spectra smaller than 1: a Hessian built
by automatic differentiation carries rounding of its O(1) intermediate terms, so a tiny spectrum is not read as
curvature. Everything that decides "zero eigenvalue" (the second-order test :mod:`losslens.classify`, the
network index of :mod:`losslens.saddles.network`, the Lanczos verdict of :mod:`losslens.curvature.verdict`, the
pseudo-inverse of the Newton-type optimizers and their verdicts) uses this rule.

>>> import torch
>>> lam = torch.tensor([-2.0, 1e-12, 3.0], dtype=torch.float64)
>>> zero_eigenvalues(lam).tolist()
[False, True, False]
>>> round(float(zero_threshold(lam, 1e-8)), 12)
3e-08
"""
from __future__ import annotations

import math

import torch


def default_tol(dtype: torch.dtype) -> float:
    """sqrt(machine epsilon) of ``dtype``: 1.5e-8 (float64), 3.5e-4 (float32)."""
    return math.sqrt(torch.finfo(dtype).eps)


def zero_threshold(eigenvalues, tol: float | None = None) -> torch.Tensor:
    """``tol · max(1, max_i |λ_i|)`` for eigenvalues [..., n]: one threshold per spectrum, shape [...].

    ``tol`` defaults to :func:`default_tol` of the eigenvalues' dtype.
    """
    lam = torch.as_tensor(eigenvalues)
    tol = default_tol(lam.dtype) if tol is None else tol
    return tol * lam.abs().amax(dim=-1).clamp(min=1.0)


def zero_eigenvalues(eigenvalues, tol: float | None = None) -> torch.Tensor:
    """Boolean mask [..., n]: ``|λ_i| <= zero_threshold(λ, tol)`` (the module's rule)."""
    lam = torch.as_tensor(eigenvalues)
    return lam.abs() <= zero_threshold(lam, tol)[..., None]


def norm2(v: torch.Tensor) -> float:
    """‖v‖₂ of ``v`` [n] without overflow: ``s · ‖v / s‖₂`` with ``s = max |v_i|``. ``torch.linalg.vector_norm``
    squares the entries, so ‖(2e290, 0)‖ would be inf: a finite gradient would read as not finite, and a point near
    1e308 would project onto a ball's center. Non-finite entries give inf or nan as usual.

    >>> norm2(torch.tensor([3e300, 4e300], dtype=torch.float64))
    5e+300
    """
    s = float(v.abs().max()) if v.numel() else 0.0
    return s * float(torch.linalg.vector_norm(v / s)) if 0 < s < math.inf else float(torch.linalg.vector_norm(v))
