"""Random symmetric matrix ensembles, each a map from standard Gaussian latents to ``[B, n, n]`` matrices.

Writing every ensemble as ``H = matrix(Z)`` with ``Z ~ N(0, I)`` lets one rare-event sampler (preconditioned
Crank–Nicolson moves in ``Z``, see :mod:`losslens.saddles.rare`) serve them all.

* ``goe``: ``H = (A + Aᵀ)/2``, ``A`` ``n × n`` N(0, 1). Density ∝ exp(−tr H²/2); exact P(H ≻ 0) in
  :mod:`losslens.saddles.exact`.
* ``wishart-shifted``: ``H = XᵀX/n − I``, ``X`` ``n × n`` N(0, 1): a Wishart matrix (Marchenko–Pastur spectrum on
  ``[0, 4]``) shifted to ``[−1, 3]``.
* ``quadratic-net``: the Hessian at ``θ = 0`` of the squared loss ``½ Σ_{i=1}^{m} (h_i(θ) − y_i)²`` of a random
  quadratic model with ``m = n`` outputs ``h_i(θ) = g_iᵀθ + ½ θᵀQ_iθ``, ``g_i ~ N(0, I)``, ``Q_i ~ GOE``, residuals
  ``r_i = h_i(0) − y_i ~ N(0, 1)``, scaled by ``1/m``: ``H = (JᵀJ + Σ r_i Q_i)/m`` (Gauss–Newton part plus residual
  part, the split of Pennington & Bahri 2017). Given ``r``, ``Σ r_i Q_i`` is ``‖r‖ · GOE``, so it is sampled as
  ``H = (JᵀJ + ‖r‖ G)/m`` — the same distribution from ``m n + m + n²`` latents instead of ``m n² + …``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..validation import check_choice


@dataclass(frozen=True)
class Ensemble:
    """``latent_dim(n)`` Gaussian numbers per matrix; ``matrix(Z [B, d], n) -> H [B, n, n]`` symmetric."""

    name: str
    description: str
    latent_dim: Callable[[int], int]
    matrix: Callable[[torch.Tensor, int], torch.Tensor]
    exact: bool = False  # whether an exact P(H ≻ 0) is known (GOE)


def _goe(Z: torch.Tensor, n: int) -> torch.Tensor:
    A = Z.reshape(-1, n, n)
    return (A + A.mT) / 2


def _wishart_shifted(Z: torch.Tensor, n: int) -> torch.Tensor:
    X = Z.reshape(-1, n, n)
    return X.mT @ X / n - torch.eye(n, dtype=Z.dtype)


def _quadratic_net(Z: torch.Tensor, n: int) -> torch.Tensor:
    m = n
    J = Z[:, : m * n].reshape(-1, m, n)
    r = Z[:, m * n: m * n + m]
    G = _goe(Z[:, m * n + m:], n)
    return (J.mT @ J + r.norm(dim=1)[:, None, None] * G) / m


ENSEMBLES: dict[str, Ensemble] = {
    "goe": Ensemble("goe", "GOE: (A + Aᵀ)/2, A with N(0, 1) entries", lambda n: n * n, _goe, exact=True),
    "wishart-shifted": Ensemble("wishart-shifted", "XᵀX/n − I, X n×n with N(0, 1) entries", lambda n: n * n,
                                _wishart_shifted),
    "quadratic-net": Ensemble("quadratic-net", "Hessian (JᵀJ + Σ rᵢQᵢ)/n of a random quadratic model's squared loss",
                              lambda n: n * n + n + n * n, _quadratic_net),
}


def get_ensemble(name: str) -> Ensemble:
    return ENSEMBLES[check_choice("ensemble", name, tuple(ENSEMBLES))]
