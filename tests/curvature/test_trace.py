import pytest
import torch

from losslens import InputError
from losslens.curvature import hutch_plus_plus, hutchinson

from .conftest import random_symmetric

DECAYING = random_symmetric(torch.cat([torch.tensor([400.0, 200.0, 100.0, 50.0, -30.0]),
                                       torch.linspace(-0.5, 1.0, 195, dtype=torch.float64)]), seed=2)
FLAT = random_symmetric(torch.linspace(0.5, 1.5, 200), seed=3)


def test_exact_when_the_sketch_holds_the_whole_range():
    A = random_symmetric(torch.cat([torch.tensor([9.0, -4.0, 2.0]), torch.zeros(97, dtype=torch.float64)]))
    r = hutch_plus_plus(A, hvps=12, seed=0, adaptive=False)
    assert r.method == "hutch++" and r.sketch_rank == 4 and r.hvps == 12
    assert r.estimate == pytest.approx(7.0, abs=1e-10) and r.ci_high - r.ci_low < 1e-9


def test_tiny_network_trace_within_interval(tiny_model_objective):
    _, obj = tiny_model_objective
    true = float(torch.trace(obj.hessian(obj.x0)))
    r = hutch_plus_plus(obj, obj.x0, hvps=30, seed=0)
    assert r.ci_low <= true <= r.ci_high


@pytest.mark.parametrize("A, method", [(DECAYING, "hutch++"), (FLAT, "hutchinson")])
def test_adaptive_choice_follows_the_spectrum(A, method):
    assert hutch_plus_plus(A, hvps=60, seed=0).method == method


def coverage(estimator, A, seeds):
    true = float(torch.trace(A))
    return sum((lambda r: r.ci_low <= true <= r.ci_high)(estimator(A, hvps=60, seed=s, confidence=0.9))
               for s in range(seeds)) / seeds


def test_hutch_plus_plus_interval_covers_at_its_stated_rate():
    # binomial(200, 0.9): sd 2.1 %; a CLT interval on tens of skewed samples may undercover a little
    assert 0.83 <= coverage(hutch_plus_plus, DECAYING, 200) <= 0.97


@pytest.mark.slow
@pytest.mark.parametrize("A", [DECAYING, FLAT])
@pytest.mark.parametrize("estimator", [hutch_plus_plus, hutchinson])
def test_interval_covers_the_true_trace_at_its_stated_rate(A, estimator):
    assert 0.85 <= coverage(estimator, A, 500) <= 0.95    # binomial(500, 0.9): sd 1.3 %


def test_hutch_plus_plus_beats_hutchinson_on_a_decaying_spectrum():
    true = float(torch.trace(DECAYING))
    err = lambda est: sum(abs(est(DECAYING, hvps=60, seed=s).estimate - true) for s in range(50))
    assert err(hutch_plus_plus) < err(hutchinson) / 3


def test_flat_spectrum_falls_back_to_exactly_hutchinsons_sample_count():
    r = hutch_plus_plus(FLAT, hvps=60, seed=0)
    assert r.method == "hutchinson" and r.samples == 60 and r.hvps == 60 and r.captured_fraction < 2 / 3


@pytest.mark.parametrize("fn, kwargs, match", [
    (hutch_plus_plus, dict(hvps=5), r"hvps == 5, must be an integer in \[6, inf\]"),
    (hutchinson, dict(hvps=1), r"hvps == 1, must be an integer in \[2, inf\]"),
    (hutchinson, dict(confidence=1.0), r"confidence == 1.0, must be in \(0, 1\)"),
    (hutch_plus_plus, dict(confidence=0), r"confidence == 0.0, must be in \(0, 1\)"),
])
def test_bad_input(fn, kwargs, match):
    with pytest.raises(InputError, match=match):
        fn(torch.eye(10), **kwargs)
