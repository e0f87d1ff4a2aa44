"""The one zero-eigenvalue rule and the default tolerance: exact thresholds, and verdicts that flip across them."""
import math

import pytest
import torch

from losslens import FunctionObjective
from losslens.classify import classify_point
from losslens.saddles.network import point_index
from losslens.tolerances import default_tol, zero_eigenvalues, zero_threshold

f64 = torch.float64


def test_default_tol_is_half_the_digits_of_the_dtype():
    assert default_tol(torch.float64) == math.sqrt(2.0 ** -52)
    assert default_tol(torch.float32) == math.sqrt(2.0 ** -23)


def test_threshold_scales_with_the_spectrum_and_has_a_floor_of_one():
    assert float(zero_threshold(torch.tensor([-300.0, 2.0], dtype=f64), 1e-8)) == pytest.approx(3e-6, rel=1e-15)
    assert float(zero_threshold(torch.tensor([0.01, 0.0], dtype=f64), 1e-8)) == pytest.approx(1e-8, rel=1e-15)
    rows = torch.tensor([[100.0, 0.0], [0.5, 0.0]], dtype=f64)           # one threshold per spectrum
    assert zero_threshold(rows, 1e-6).tolist() == pytest.approx([1e-4, 1e-6], rel=1e-15)
    assert float(zero_threshold(torch.ones(2, dtype=torch.float32))) == pytest.approx(default_tol(torch.float32))


@pytest.mark.parametrize("scale", [0.3, 1.0, 250.0])
def test_an_eigenvalue_just_over_the_threshold_is_not_zero(scale):
    thr = default_tol(f64) * max(1.0, scale)
    below = torch.tensor([0.99 * thr, scale], dtype=f64)
    above = torch.tensor([1.01 * thr, scale], dtype=f64)
    assert zero_eigenvalues(below).tolist() == [True, False]
    assert zero_eigenvalues(above).tolist() == [False, False]
    assert zero_eigenvalues(-below).tolist() == [True, False]


def _diag_objective(a, b):
    """f = (a x² + b y²) / 2: Hessian diag(a, b) exactly, critical point at 0."""
    return FunctionObjective(lambda v: 0.5 * (a * v[0] ** 2 + b * v[1] ** 2), n=2)


@pytest.mark.parametrize("b", [2.0, 40.0])
def test_second_order_test_and_network_index_flip_at_the_same_threshold(b):
    thr = default_tol(f64) * max(1.0, b)
    for a, kind, zeros in [(0.9 * thr, "degenerate", 1), (1.1 * thr, "min", 0),
                           (-0.9 * thr, "degenerate", 1), (-1.1 * thr, "saddle", 0)]:
        obj = _diag_objective(a, b)
        r = classify_point(obj, [0.0, 0.0])
        assert r.kind == kind, (a, r.reason)
        assert r.zero_tol == pytest.approx(thr, rel=1e-15)
        neg, zero, *_ = point_index(obj, torch.zeros(2, dtype=f64), hessian=obj.hessian(torch.zeros(2, dtype=f64)))
        assert zero == zeros
        assert neg == (1 if kind == "saddle" else 0)
