import math

import pytest
import torch
from scipy import integrate

from losslens import InputError
from losslens.saddles.exact import (THETA, asymptotic_log_probability, goe_log_positive_probability,
                                    goe_p2_closed_form, goe_positive_probability, naive_log_probability)
from losslens.saddles.experiment import fit_theta
from losslens.saddles.experiment import SaddleRow  # noqa: F401  (schema import check)


def test_n1_is_one_half():
    assert goe_positive_probability(1) == pytest.approx(0.5, abs=1e-15)


def test_n2_matches_the_closed_form():
    assert goe_p2_closed_form() == pytest.approx((2 - math.sqrt(2)) / 4, abs=0)
    assert goe_positive_probability(2) == pytest.approx((2 - math.sqrt(2)) / 4, rel=1e-14)


def test_n2_closed_form_against_quadrature_of_the_matrix_entries():
    # P(a > 0, c > 0, ac > b²) with a, c ~ N(0, 1), b ~ N(0, 1/2): integrate b out, then a and c
    from scipy.stats import norm

    def inner(c, a):
        r = math.sqrt(a * c)
        return norm.pdf(a) * norm.pdf(c) * (2 * norm.cdf(r / math.sqrt(0.5)) - 1)

    val, _ = integrate.dblquad(inner, 0, 12, 0, 12, epsabs=1e-12)
    assert val == pytest.approx(goe_p2_closed_form(), rel=1e-8)


def _goe_density_integral(n, lo):
    """∫ over ordered lo < x1 < ... < xn of Π e^{-x²/2} Π (x_j - x_i), by nested quadrature (n = 3)."""
    def f(z, y, x):
        return math.exp(-(x * x + y * y + z * z) / 2) * (y - x) * (z - x) * (z - y)

    val, _ = integrate.tplquad(f, lo, 12, lambda x: x, lambda x: 12, lambda x, y: y, lambda x, y: 12,
                               epsabs=1e-12, epsrel=1e-10)
    return val


def test_n3_against_direct_integration_of_the_joint_density():
    p = _goe_density_integral(3, 0.0) / _goe_density_integral(3, -12.0)
    assert goe_positive_probability(3) == pytest.approx(p, rel=1e-7)


def test_precision_is_enough_at_n30():
    a = goe_log_positive_probability(30)
    b = goe_log_positive_probability(30, dps=300)
    assert a == pytest.approx(b, rel=1e-12)


def test_asymptote_slope_matches_theta():
    # Dean & Majumdar: ln P = -θ n² + o(n²); the n² coefficient of a quadratic fit to exact values must match θ
    class R:
        def __init__(self, n):
            self.n, self.log_p = n, goe_log_positive_probability(n)

    theta, err = fit_theta([R(n) for n in range(10, 41)], n_min=10)
    assert abs(theta - THETA) < 0.01 * THETA
    # the naive independent-coin guess is far off already at moderate n
    assert goe_log_positive_probability(20) < naive_log_probability(20) - 100
    assert asymptotic_log_probability(2) == pytest.approx(-4 * math.log(3) / 4)


def test_bad_n():
    with pytest.raises(InputError, match=r"n == 0, must be an integer in \[1, 400\]"):
        goe_log_positive_probability(0)
