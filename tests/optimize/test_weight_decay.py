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
    with pytest.raises(InputError, match="lam == 0.0, must be in"):
        weight_decay_ball("x^2", 0.0)
