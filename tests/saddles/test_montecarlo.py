import math

import numpy as np
import pytest
import torch

from losslens import InputError
from losslens.saddles.ensembles import ENSEMBLES, get_ensemble
from losslens.saddles.exact import goe_p2_closed_form, goe_positive_probability
from losslens.saddles.montecarlo import clopper_pearson, count_positive_definite, monte_carlo


@pytest.mark.parametrize("n,truth", [(1, 0.5), (2, goe_p2_closed_form()), (3, None), (4, None)])
def test_exact_values_inside_the_monte_carlo_interval(n, truth):
    truth = truth if truth is not None else goe_positive_probability(n)
    r = monte_carlo(n, 200_000, seed=7, confidence=0.999)
    assert r.lo <= truth <= r.hi


def test_cholesky_and_eigvalsh_agree_on_the_same_matrices():
    for name in ENSEMBLES:
        ens = get_ensemble(name)
        H = ens.matrix(torch.randn(5000, ens.latent_dim(4), generator=torch.Generator().manual_seed(1),
                                   dtype=torch.float64), 4)
        assert torch.allclose(H, H.mT)
        chol = torch.linalg.cholesky_ex(H)[1] == 0
        eig = torch.linalg.eigvalsh(H)[:, 0] > 0
        assert bool((chol == eig).all())


def test_goe_shortcut_has_the_goe_distribution():
    # the diagonal-first shortcut against a plain looped numpy GOE sampler, both near the exact n = 2 value
    rng = np.random.default_rng(0)
    A = rng.standard_normal((100_000, 2, 2))
    H = (A + A.transpose(0, 2, 1)) / 2
    numpy_p = float((np.linalg.eigvalsh(H)[:, 0] > 0).mean())
    ours = count_positive_definite(2, 100_000, seed=3) / 100_000
    assert abs(numpy_p - ours) < 5 * math.sqrt(0.15 * 0.85 * 2 / 100_000)


def test_wishart_shifted_n1_is_a_chi_square_tail():
    # n = 1: H = x² - 1 > 0 iff |x| > 1, probability 2(1 - Φ(1))
    from scipy.stats import norm

    r = monte_carlo(1, 200_000, "wishart-shifted", seed=2, confidence=0.999)
    assert r.lo <= 2 * norm.sf(1) <= r.hi


def test_quadratic_net_n1_matches_its_definition():
    # n = m = 1: H = j² + |r| g with j, r, g ~ N(0, 1): P(j² + |r| g > 0) by quadrature
    from scipy import integrate
    from scipy.stats import norm

    p, _ = integrate.dblquad(lambda g, j: 2 * norm.pdf(j) * norm.pdf(g) * norm.sf(-j * j / g) if g < 0 else
                             2 * norm.pdf(j) * norm.pdf(g) * 0.5, 0, 10, -10, 10)
    # for g >= 0 the event holds always; for g < 0 it needs |r| < j²/|g|: P = 2Φ(j²/|g|) - 1
    p = integrate.dblquad(lambda g, j: norm.pdf(j) * norm.pdf(g) * (1.0 if g >= 0 else 2 * norm.cdf(j * j / -g) - 1),
                          -10, 10, -10, 10)[0]
    r = monte_carlo(1, 200_000, "quadratic-net", seed=4, confidence=0.999)
    assert r.lo <= p <= r.hi


def test_clopper_pearson_ends():
    assert clopper_pearson(0, 100)[0] == 0.0 and clopper_pearson(100, 100)[1] == 1.0
    lo, hi = clopper_pearson(0, 100_000)
    assert hi == pytest.approx(1 - 0.025 ** (1 / 100_000), rel=1e-6)   # (1 - hi)^N = α/2


def test_seeded():
    assert monte_carlo(3, 20_000, seed=5) == monte_carlo(3, 20_000, seed=5)


def test_bad_input():
    with pytest.raises(InputError, match=r"trials == 0, must be an integer >= 1"):
        monte_carlo(3, 0)
    with pytest.raises(InputError, match=r"n == 0, must be an integer >= 1"):
        monte_carlo(0, 10)
    with pytest.raises(InputError, match=r"ensemble == 'gue', must be one of 'goe'"):
        monte_carlo(2, 10, "gue")
    with pytest.raises(InputError, match=r"method == 'qr', must be one of"):
        monte_carlo(2, 10, method="qr")
