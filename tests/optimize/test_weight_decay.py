import pytest
import torch

from losslens.optimize.weight_decay import weight_decay_ball
from losslens.validation import InputError


@pytest.mark.parametrize("lam", [0.1, 1.0, 4.0])
def test_quadratic_closed_form(lam):
    # f = ½‖x − a‖²_D with D = diag(1, 10), a = (1, 2): penalised minimiser x_i = D_i a_i / (D_i + λ)
    r = weight_decay_ball("0.5*(x-1)^2 + 5*(y-2)^2", lam)
    expected = torch.tensor([1 / (1 + lam), 20 / (10 + lam)], dtype=torch.float64)
    assert torch.allclose(r.penalized, expected, atol=1e-8)
    assert r.radius == pytest.approx(float(expected.norm()), abs=1e-8)
    assert torch.allclose(r.constrained, expected, atol=1e-6)
    assert r.multiplier == pytest.approx(lam, abs=1e-6) and r.agree


def test_rosenbrock_agrees_and_reports():
    r = weight_decay_ball("rosenbrock", 0.5)
    assert r.agree and r.distance <= 1e-6 and "lambda" in r.explanation
    d = r.to_dict()
    assert d["lam"] == 0.5 and d["verdict"] == "agree" and d["reason"] == r.explanation
    assert "penalized_result" not in d and "constrained_result" not in d    # their numbers are the fields above


def test_bad_lambda():
    with pytest.raises(InputError, match="lam == 0.0, must be > 0.0"):
        weight_decay_ball("x^2", 0.0)


@pytest.mark.parametrize("objective, lam, x_star", [
    ("x^2", 1.0, 0.0),            # argmin x^2 + x^2/2 = 0: r = 0, the ball {0}; ∇(x^2/2) = 0 there, any μ >= 0 fits
    ("-x^2", 3.0, 0.0),           # -x^2 + 1.5 x^2 = x^2/2: minimum 0, r = 0
    ("0*x", 1.0, 0.0),            # f = 0: argmin x^2/2 = 0
    ("abs(x-1)", 0.5, 1.0),       # 0 ∈ [-1, 1] + 0.5·1 at x = 1; on |x| <= 1 every μ in [0, 1] is a multiplier
])
def test_agree_where_the_multiplier_is_not_unique(objective, lam, x_star):
    r = weight_decay_ball(objective, lam)
    assert r.penalized.tolist() == pytest.approx([x_star], abs=1e-8)
    assert r.radius == pytest.approx(abs(x_star), abs=1e-8)
    assert r.constrained.tolist() == pytest.approx([x_star], abs=1e-6)
    assert r.agree and r.verdict == "agree" and r.to_dict()["verdict"] == "agree"


@pytest.mark.parametrize("objective, lam", [("-x^2", 1.0), ("x^4 - 2*x^2", 1.0)])
def test_no_verdict_when_the_penalised_solve_ends_at_a_maximum(objective, lam):
    """-x^2 + x^2/2 is unbounded below; x^4 - 1.5 x^2 has its minima at ±sqrt(3)/2, and the default start 0 is its
    local maximum (f'' = -3). Neither end is a minimiser to compare."""
    r = weight_decay_ball(objective, lam)
    assert r.penalized_result.verdict in ("not_min", "unbounded")
    assert not r.agree and r.verdict == "unknown" and "nothing to compare" in r.reason
    assert weight_decay_ball(objective, lam + 10.0).verdict == "agree"     # λ > 2: both convex, minimum 0
