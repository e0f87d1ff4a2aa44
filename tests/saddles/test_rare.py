import pytest

from losslens import InputError
from losslens.saddles.exact import goe_log_positive_probability
from losslens.saddles.rare import rare_event


@pytest.mark.parametrize("n", [3, 6])
def test_subset_simulation_interval_covers_the_exact_value(n):
    r = rare_event(n, particles=400, replicates=4, seed=11, confidence=0.99)
    assert r.converged and r.log_lo <= goe_log_positive_probability(n) <= r.log_hi
    assert r.log_hi - r.log_lo < 2.0        # usable, not vacuous


@pytest.mark.slow
@pytest.mark.parametrize("n", [10, 15])
def test_subset_simulation_far_in_the_tail(n):
    # P_10 ≈ 2e-14, P_15 ≈ 4e-30: plain Monte Carlo sees nothing; the estimate must match the exact value
    r = rare_event(n, particles=1000, replicates=4, seed=3, confidence=0.99)
    exact = goe_log_positive_probability(n)
    assert r.converged and r.log_lo <= exact <= r.log_hi
    assert abs(r.log_p - exact) < 0.05 * abs(exact)


def test_seeded():
    assert rare_event(4, particles=100, replicates=2, seed=1) == rare_event(4, particles=100, replicates=2, seed=1)


def test_bad_input():
    with pytest.raises(InputError, match=r"ensemble \(rare-event estimate\) == 'wishart-shifted', must be one of 'goe'"):
        rare_event(4, "wishart-shifted")
    with pytest.raises(InputError, match=r"replicates == 1, must be an integer >= 2"):
        rare_event(4, replicates=1)
    with pytest.raises(InputError, match=r"n == -1, must be an integer"):
        rare_event(-1)
