import math

import pytest
import torch
from torch import nn

from losslens import InputError
from losslens.curvature import hutch_plus_plus, hutchinson
from losslens.curvature.operator import HessianOperator

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


@pytest.mark.parametrize("estimator", [hutch_plus_plus, hutchinson])
def test_tiny_network_95_percent_intervals_hold_the_dense_trace(tiny_model_objective, estimator):
    # products of the network itself (not a dense stand-in); binomial(40, 0.95): mean 38, sd 1.4
    _, obj = tiny_model_objective
    true = float(torch.trace(obj.hessian(obj.x0)))
    hits = sum((lambda r: r.ci_low <= true <= r.ci_high)(estimator(obj, obj.x0, hvps=30, seed=s)) for s in range(40))
    assert hits >= 34


def test_low_rank_plus_noise_hutch_plus_plus_is_far_better_than_hutchinson():
    """A = L + E, L PSD of rank r = 5 (eigenvalues 100..20), E symmetric noise with ‖E‖_F = 1; m = 60, k = 20.

    Hutchinson (Rademacher): E err² = 2 (‖A‖_F² − Σ A_ii²) / m exactly. Hutch++: given the sketch, its error is
    Hutchinson's on R = (I − P) A (I − P) with m − 2k probes, so E[err² | S] ≤ 2 ‖(I − P) A‖_F² / (m − 2k), and
    E ‖(I − P) A‖_F² ≤ (1 + r / (p − 1)) Σ_{j>r} σ_j² (Halko, Martinsson, Tropp 2011, Thm 10.5, oversampling
    p = k − r) with Σ_{j>r} σ_j² ≤ ‖A − L‖_F² = ‖E‖_F² (L has rank r). A factor 4 allows for a 30-seed average
    and a Rademacher (not Gaussian) sketch.
    """
    n, r, m, seeds = 200, 5, 60, 30
    k = m // 3
    g = torch.Generator().manual_seed(7)
    U = torch.linalg.qr(torch.randn(n, r, generator=g, dtype=torch.float64)).Q
    L = U @ torch.diag(torch.tensor([100.0, 80.0, 60.0, 40.0, 20.0], dtype=torch.float64)) @ U.T
    E = torch.randn(n, n, generator=g, dtype=torch.float64)
    E = (E + E.T) / torch.linalg.norm(E + E.T)
    A = L + E
    true = float(torch.trace(A))
    hutch_mse = 2 * (float((A * A).sum()) - float((torch.diagonal(A) ** 2).sum())) / m
    hpp_mse_bound = 2 * (1 + r / (k - r - 1)) * 1.0 / (m - 2 * k)
    assert hutch_mse / hpp_mse_bound > 1000                       # the theory says: far better
    mse = lambda est, **kw: sum((est(A, hvps=m, seed=s, **kw).estimate - true) ** 2 for s in range(seeds)) / seeds
    hpp = mse(hutch_plus_plus, adaptive=False)
    hut = mse(hutchinson)
    assert hpp <= 4 * hpp_mse_bound
    assert hut >= hutch_mse / 4                                    # chi-square with 30 dof: far above a quarter
    assert math.sqrt(hut) > 10 * math.sqrt(hpp)
    assert all(hutch_plus_plus(A, hvps=m, seed=s).method == "hutch++" for s in range(5))


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
    (hutch_plus_plus, dict(hvps=5), r"hvps == 5, must be an integer >= 6"),
    (hutchinson, dict(hvps=1), r"hvps == 1, must be an integer >= 2"),
    (hutchinson, dict(confidence=1.0), r"confidence == 1.0, must be in \(0, 1\)"),
    (hutch_plus_plus, dict(confidence=0), r"confidence == 0.0, must be in \(0, 1\)"),
])
def test_bad_input(fn, kwargs, match):
    with pytest.raises(InputError, match=match):
        fn(torch.eye(10), **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("steps", [0, 500])
def test_interval_coverage_on_the_digits_network_hessian(steps):
    """digits-small-mlp at initialisation and after the standard training (Adam, lr 1e-3, 500 steps of 64): the 90 %
    intervals of both estimators hold the dense Hessian's trace at the stated rate over 300 seeds (binomial sd 1.7 %)."""
    from losslens import ModelObjective, digits, make_model
    from losslens.diagnose.training import train

    split = digits(seed=0, dtype=torch.float64)
    model = make_model("digits-small-mlp", seed=0).double()
    if steps:
        model = train(model, nn.CrossEntropyLoss(), split.train, steps=steps, seed=0, eval_every=steps,
                      monitor_gradients=False).model
    H = ModelObjective(model, nn.CrossEntropyLoss(), split.train, dtype=torch.float64)
    H = H.hessian(H.x0)
    true = float(torch.trace(H))
    for estimator in (hutch_plus_plus, hutchinson):
        hits = sum((lambda r: r.ci_low <= true <= r.ci_high)(estimator(H, hvps=100, seed=s, confidence=0.9))
                   for s in range(300))
        assert 0.85 <= hits / 300 <= 0.95


def test_memory_budget_lowers_the_sketch_rank_to_what_fits():
    """n = 100, batch 16: a probe block takes 2·16·100·8 bytes, each sketch column 4·100·8; a budget for k = 4
    columns keeps a rank-3 Hessian exact although hvps = 30 would ask for k = 10, and k = 2 no longer holds it."""
    A = random_symmetric(torch.cat([torch.tensor([9.0, -4.0, 2.0]), torch.zeros(97, dtype=torch.float64)]))
    block, column = 2 * 16 * 100 * 8, 4 * 100 * 8
    r = hutch_plus_plus(A, hvps=30, seed=0, adaptive=False, memory=block + 4 * column)
    assert (r.method, r.sketch_rank, r.memory, r.hvps) == ("hutch++", 4, block + 4 * column, 30)
    assert r.estimate == pytest.approx(7.0, abs=1e-9)
    r2 = hutch_plus_plus(A, hvps=30, seed=0, adaptive=False, memory=block + 2 * column)
    assert r2.sketch_rank == 2 and abs(r2.estimate - 7.0) > 1e-6
    unbounded = hutch_plus_plus(A, hvps=30, seed=0, adaptive=False)
    assert unbounded.sketch_rank == 10


class _WidestBlock(HessianOperator):
    """A matrix operator that records the largest block of vectors multiplied at once."""

    widest = 0

    def matvec(self, v):
        self.widest = max(self.widest, 1 if v.dim() == 1 else v.shape[0])
        return super().matvec(v)

    __call__ = matvec


def test_probes_are_drawn_a_block_at_a_time_within_the_budget():
    op = _WidestBlock(matrix=FLAT)
    r = hutchinson(op, hvps=50, seed=0, memory=2 * 3 * 200 * 8)          # room for 3 probes and their products
    assert op.widest == 3 and r.hvps == 50 and r.samples == 50
    assert r.ci_low <= float(FLAT.trace()) <= r.ci_high


def test_no_room_for_a_sketch_is_plain_hutchinson_and_no_room_for_a_probe_is_refused():
    r = hutch_plus_plus(DECAYING, hvps=30, seed=0, memory=2 * 200 * 8)
    assert (r.method, r.sketch_rank, r.samples, r.hvps) == ("hutchinson", 0, 30, 30)
    with pytest.raises(InputError, match=r"memory == .* is too small: a trace probe on n == 200 parameters needs "
                                         r"at least .* \(3200 bytes"):
        hutchinson(DECAYING, hvps=10, memory=3199)
