"""One damped Newton step on ``∇f(x) = 0`` from the eigendecomposition of the Hessian.

With ``H = Q diag(λ) Qᵀ`` (symmetric; eigenvalues ``λ`` [..., n], orthonormal eigenvectors ``Q`` [..., n, n]), the
gradient ``g`` [..., n], ``c = Qᵀ g`` and the damping ``μ >= 0`` ([...] or a number):

    levenberg-marquardt   d = −Q diag(λ_i / (λ_i² + μ)) c   = −(H² + μI)⁻¹ H g
                          the minimiser of ‖g + H d‖² + μ‖d‖² (Levenberg–Marquardt on φ = ½‖g‖², whose
                          Gauss–Newton matrix is HᵀH = H²); μ = 0 gives d = −H⁺ g, Newton's step where H is
                          invertible, and it stays defined where H is singular
    saddle-free           d = −Q diag(1 / (|λ_i| + μ)) c    = −(|H| + μI)⁻¹ g   (Dauphin et al., NeurIPS 2014)
                          a descent direction for f (|H| ≻ 0), Newton's step where H ≻ 0 and μ = 0

Eigenvalues with ``|λ_i| <= drop · max_j |λ_j|`` get gain 0 (with μ = 0 and ``drop`` > 0: the pseudo-inverse that
drops numerically zero eigenvalues). On a quadratic ``f = ½xᵀAx − bᵀx`` (``A`` invertible) one undamped step from
any ``x`` lands on the critical point ``A⁻¹b``; as μ grows the step shrinks (``‖d‖`` falls monotonically, and
``d ≈ −H g / μ``: gradient descent on φ with step 1/μ).

Used by the batched multistart of :mod:`losslens.critical` and by the dense Newton solver of
:mod:`losslens.saddles.network`.

>>> import torch
>>> A = torch.tensor([[2.0, 0.0], [0.0, -1.0]], dtype=torch.float64); b = torch.tensor([2.0, 3.0], dtype=torch.float64)
>>> x = torch.tensor([5.0, 5.0], dtype=torch.float64)
>>> lam, Q = torch.linalg.eigh(A)
>>> (x + newton_step(lam, Q, A @ x - b)).tolist()     # A⁻¹ b: one step onto the saddle
[1.0, -3.0]
"""
from __future__ import annotations

import torch

from .validation import check_choice

KINDS = ("levenberg-marquardt", "saddle-free")


def newton_step(eigenvalues: torch.Tensor, eigenvectors: torch.Tensor, g: torch.Tensor, damping=0.0, *,
                kind: str = "levenberg-marquardt", drop: float = 0.0) -> torch.Tensor:
    """The step ``d`` [..., n] of the module docstring for ``λ`` [..., n], ``Q`` [..., n, n], ``g`` [..., n].

    ``damping`` is ``μ`` (a number or a tensor of shape [...], one per row; in units of λ² for
    Levenberg–Marquardt, of λ for saddle-free); ``kind`` in :data:`KINDS`; ``drop`` the relative cut-off of zero
    eigenvalues.
    """
    check_choice("kind", kind, KINDS)
    lam, Q = eigenvalues, eigenvectors
    mu = torch.as_tensor(damping, dtype=lam.dtype)
    mu = mu[..., None] if mu.dim() else mu
    if kind == "levenberg-marquardt":
        den = lam ** 2 + mu
        gain = lam / torch.where(den == 0, torch.ones_like(den), den)
    else:
        den = lam.abs() + mu
        gain = 1 / torch.where(den == 0, torch.ones_like(den), den)
        gain = torch.where(den == 0, torch.zeros_like(gain), gain)
    if drop > 0:
        kept = lam.abs() > drop * lam.abs().amax(dim=-1, keepdim=True)
        gain = torch.where(kept, gain, torch.zeros_like(gain))
    c = (Q.transpose(-1, -2) @ g[..., None]).squeeze(-1)
    return -(Q @ (gain * c)[..., None]).squeeze(-1)
