import math

import numpy as np
import pytest
import torch

from losslens import InputError
from losslens.curvature import spectral_density

from .conftest import random_symmetric


def test_full_lanczos_nodes_are_the_eigenvalues_and_weights_sum_to_one(tiny_model_objective):
    _, obj = tiny_model_objective
    eig = torch.linalg.eigvalsh(obj.hessian(obj.x0))
    d = spectral_density(obj, obj.x0, probes=3, steps=obj.n, seed=0)
    assert float(d.weights.sum()) == pytest.approx(1.0, abs=1e-12)
    dist = (d.nodes[:, None] - eig[None, :]).abs().min(1).values
    assert float(dist.max()) < 1e-8
    # Hutchinson with P Rademacher probes: error sd = sqrt(2 Σ_{i≠j} H_ij² / P)
    H = obj.hessian(obj.x0)
    sd = math.sqrt(2 * float((H ** 2).sum() - (H.diagonal() ** 2).sum()) / 3)
    assert abs(d.trace_estimate - float(eig.sum())) <= 4 * sd


def test_trace_estimate_is_exact_for_a_diagonal_matrix():
    # vᵀ D v = tr D / n for every Rademacher v with |v_i| = 1/√n, so each probe gives the trace exactly
    lam = torch.tensor([-3.0, -1.0, 0.5, 2.0, 7.0], dtype=torch.float64)
    d = spectral_density(torch.diag(lam), probes=3, steps=5, seed=4)
    assert d.trace_estimate == pytest.approx(float(lam.sum()), abs=1e-12)
    assert sorted(set(round(float(t), 9) for t in d.nodes)) == lam.tolist()


def test_smoothed_density_integrates_to_one_and_matches_the_dense_histogram():
    lam = torch.cat([torch.linspace(-1, 1, 150, dtype=torch.float64), torch.linspace(4, 6, 50, dtype=torch.float64)])
    d = spectral_density(random_symmetric(lam, seed=1), probes=40, steps=40, seed=0)
    grid, dens = d.grid.numpy(), d.density.numpy()
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-3)
    edges = np.array([-2.0, -0.5, 0.5, 1.5, 3.5, 4.5, 5.5, 7.0])
    slq = np.histogram(d.nodes.numpy(), bins=edges, weights=d.weights.numpy())[0]
    dense = np.histogram(lam.numpy(), bins=edges)[0] / len(lam)
    assert np.abs(slq - dense).max() < 0.05      # 40 probes: weights have relative sd ~ sqrt(2/(40 n_bin))


def test_negative_fraction_estimates_the_share_of_negative_eigenvalues():
    lam = torch.cat([-torch.linspace(0.5, 2, 60, dtype=torch.float64), torch.linspace(1, 3, 140, dtype=torch.float64)])
    A = random_symmetric(lam, seed=5)
    # one probe v (unit Rademacher) estimates k/n by vᵀPv, P the projector on the k = 60 negative eigenvectors of
    # n = 200: variance 2k(n−k)/n³, so 30 probes give sd = sqrt(2·60·140/200³/30) = 0.0084. Each seed within
    # 4 sd, and the mean of 8 seeds within 4 sd of the mean (0.0030): the estimator converges to 0.3.
    sd = (2 * 60 * 140 / 200 ** 3 / 30) ** 0.5
    est = [spectral_density(A, probes=30, steps=30, seed=s).negative_fraction for s in range(1, 9)]
    assert all(abs(e - 0.3) < 4 * sd for e in est)
    assert abs(sum(est) / len(est) - 0.3) < 4 * sd / 8 ** 0.5


def test_sigma_is_used_as_given_and_seed_reproduces():
    A = random_symmetric(torch.linspace(0, 1, 30))
    a = spectral_density(A, probes=2, steps=10, sigma=0.05, seed=3)
    b = spectral_density(A, probes=2, steps=10, sigma=0.05, seed=3)
    assert a.sigma == 0.05 and torch.equal(a.density, b.density) and a.hvps == 20


@pytest.mark.parametrize("kwargs, match", [
    (dict(probes=0), r"probes == 0, must be an integer >= 1"),
    (dict(steps=0), r"steps == 0, must be an integer >= 1"),
    (dict(points=3), r"points == 3, must be an integer >= 16"),
    (dict(sigma=0), r"sigma == 0.0, must be > 0"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        spectral_density(torch.eye(3), **kwargs)


def test_a_one_parameter_objective_has_its_one_eigenvalue_as_density():
    # steps = min(steps, n) = 1 left a window of one vector, refused as "memory == 11 GB is too small ... 48 bytes"
    import torch

    from losslens.curvature import spectral_density

    d = spectral_density(torch.tensor([[2.5]], dtype=torch.float64), probes=2, steps=5, seed=0)
    assert d.nodes.tolist() == [2.5, 2.5] and float(d.weights.sum()) == 1.0 and d.trace_estimate == 2.5
