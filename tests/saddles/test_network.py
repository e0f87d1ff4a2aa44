import pytest
import torch

from losslens import InputError
from losslens.saddles.network import (_fit, CriticalPoint, digits_objective, network_saddles, newton_mr,
                                      point_index, tiny_mlp)


def _independent_loss(obj, x):
    """Cross-entropy of 64-h-10 tanh MLP written by hand from the flat vector (nn.Linear layout)."""
    X, y = obj.batches[0]
    h = (x.numel() - 10) // 75
    W1 = x[:64 * h].view(h, 64)
    b1 = x[64 * h:65 * h]
    W2 = x[65 * h:75 * h].view(10, h)
    b2 = x[75 * h:]
    z = torch.tanh(X @ W1.T + b1) @ W2.T + b2
    return (torch.logsumexp(z, 1) - z.gather(1, y[:, None])[:, 0]).mean()


@pytest.mark.slow
def test_newton_mr_reaches_a_critical_point_whose_index_matches_a_dense_hessian():
    obj = digits_objective(tiny_mlp(4, seed=0), samples=100)
    x, it, hvps, ok = newton_mr(obj, obj.x0, tol=1e-6, max_iter=30, minres_iter=50)
    assert ok and hvps > 0
    g = torch.autograd.functional.jacobian(lambda v: _independent_loss(obj, v), x)
    assert float(g.norm()) <= 1e-6
    H = torch.autograd.functional.hessian(lambda v: _independent_loss(obj, v), x)
    ev = torch.linalg.eigvalsh(H)
    neg, zero, lo, hi = point_index(obj, x)
    scale = float(ev.abs().max())
    # the two Hessians differ by rounding: only eigenvalues within 10x of the zero threshold may change class
    ambiguous = int(((ev.abs() > 1e-10 * scale) & (ev.abs() < 1e-8 * scale)).sum())
    assert abs(neg - int((ev < -1e-9 * scale).sum())) <= ambiguous
    assert abs(zero - int((ev.abs() <= 1e-9 * scale).sum())) <= ambiguous
    assert neg > 0          # started at the initialisation: a saddle
    assert lo == pytest.approx(float(ev[0]), abs=1e-8) and hi == pytest.approx(float(ev[-1]), rel=1e-8)
    assert zero >= 1        # adding a constant to all output biases leaves cross-entropy unchanged


def _pt(loss, index, ok=True):
    return CriticalPoint("s", loss, loss, 0.0, ok, 1, 1, 100, int(index * 100), 0, index, -1.0, 1.0)


def test_fit_verdicts():
    rising = [_pt(l, i) for l, i in [(0.1, 0.0), (0.5, 0.05), (1.0, 0.1), (1.5, 0.2), (2.0, 0.3), (2.2, 0.35)]]
    slope, intercept, rho, p, verdict, reason = _fit(rising)
    assert verdict == "index_rises_with_loss" and rho == pytest.approx(1.0) and slope > 0 and "a minimum" in reason
    falling = [_pt(l, 0.4 - i) for l, i in [(0.1, 0.0), (0.5, 0.05), (1.0, 0.1), (1.5, 0.2), (2.0, 0.3), (2.2, 0.35)]]
    assert _fit(falling)[4] == "not_observed"
    assert _fit(rising[:4])[4] == "unknown"
    assert _fit(rising[:4] + [_pt(3.0, 0.9, ok=False)] * 3)[4] == "unknown"   # unconverged points do not count


@pytest.mark.slow
def test_network_experiment_small():
    r = network_saddles(hidden=2, samples=40, inits=2, steps=(0, 30, 200), max_iter=40, seed=0)
    assert len(r.points) == 6 and r.n_params == 64 * 2 + 2 + 20 + 10
    for p in r.points:
        assert (p.gradient_norm <= r.tol) == p.converged
        assert p.negative + p.zero <= p.n and p.index == p.negative / p.n


def test_bad_input():
    with pytest.raises(InputError, match=r"hidden == 0, must be an integer in \[1, 64\]"):
        network_saddles(hidden=0)
    with pytest.raises(InputError, match=r"samples == 5, must be an integer in \[10, "):
        digits_objective(tiny_mlp(2), samples=5)
    with pytest.raises(InputError, match=r"tol == 0.0, must be in \(0, inf\]"):
        network_saddles(tol=0)
    with pytest.raises(InputError, match=r"steps == -1, must be an integer"):
        network_saddles(steps=(0, -1))
