import math

import pytest
import torch
from torch import nn

from losslens import FunctionObjective, InputError, parse
from losslens.curvature import hessian_report
from losslens.model import ModelObjective

G = torch.Generator().manual_seed(0)
X = torch.randn(30, 3, generator=G, dtype=torch.float64)
Y = X @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 0.1 * torch.randn(30, 1, generator=G,
                                                                                        dtype=torch.float64)


def least_squares_model(X):
    """nn.Linear at the least-squares solution (the minimum-norm one when X is rank deficient)."""
    A = torch.cat([X, torch.ones(len(X), 1, dtype=torch.float64)], 1)
    sol = torch.linalg.pinv(A) @ Y
    model = nn.Linear(X.shape[1], 1).double()
    with torch.no_grad():
        model.weight.copy_(sol[:-1].T)
        model.bias.copy_(sol[-1])
    return model


@pytest.mark.parametrize("text, at, kind, curvature", [
    ("x^2 + 3*y^2", [0, 0], "min", "positive_semidefinite"),
    ("x^2 - y^2", [0, 0], "saddle", "indefinite"),
    ("x^2 + y^4", [0, 0], "degenerate", "positive_semidefinite"),
    ("x^4 + y^4", [0, 0], "degenerate", "flat"),
    ("x^2 + y^2", [1, 0], "not_critical", "positive_semidefinite"),
    ("x^2 - y^2", [0.1, 0.2], "not_critical", "indefinite"),
])
def test_constructed_points(text, at, kind, curvature):
    r = hessian_report(parse(text), at)
    assert (r.kind, r.curvature) == (kind, curvature), r.reason


def test_network_minimum_saddle_and_degenerate_minimum():
    m = ModelObjective(least_squares_model(X), nn.MSELoss(), (X, Y), dtype=torch.float64)
    r = hessian_report(m, m.x0)
    eig = torch.linalg.eigvalsh(m.hessian(m.x0))
    assert r.kind == "min" and r.lambda_min == pytest.approx(float(eig[0]), rel=1e-8)

    Xd = torch.cat([X, X[:, :1]], 1)          # a duplicated feature: a flat direction in parameter space
    d = ModelObjective(least_squares_model(Xd), nn.MSELoss(), (Xd, Y), dtype=torch.float64)
    r = hessian_report(d, d.x0)
    assert r.kind == "degenerate" and abs(r.lambda_min) < r.zero_tol

    # a two-layer linear net at zero weights: f(a, b) = mean (y - b a x)^2, grad 0, H indefinite
    net = nn.Sequential(nn.Linear(3, 1, bias=False), nn.Linear(1, 1, bias=False)).double()
    nn.init.zeros_(net[0].weight), nn.init.zeros_(net[1].weight)
    s = ModelObjective(net, nn.MSELoss(), (X, Y), dtype=torch.float64)
    r = hessian_report(s, s.x0, bottom=2)
    eig = torch.linalg.eigvalsh(s.hessian(s.x0))
    assert r.kind == "saddle" and r.gradient_norm == 0.0
    assert r.lambda_min == pytest.approx(float(eig[0]), rel=1e-8) and r.negative_ratio == pytest.approx(1.0)


def test_unconverged_smallest_is_unknown_not_min():
    A = torch.diag(torch.linspace(1, 2, 80, dtype=torch.float64))
    obj = FunctionObjective(lambda x: 0.5 * x @ (A @ x), n=80)
    r = hessian_report(obj, torch.zeros(80), max_hvps=3)
    assert r.kind == "unknown" and r.curvature == "unknown" and "cannot be ruled out" in r.reason


def test_nan_loss_is_a_verdict_not_a_crash():
    r = hessian_report(FunctionObjective(lambda x: torch.log(x).sum(), n=2), [-1.0, 1.0])
    assert r.kind == "not_finite" and r.eigen is None and math.isnan(r.lambda_max)
    assert r.to_dict()["lambda_max"] is None


def test_trace_and_density_on_request(tiny_model_objective):
    _, obj = tiny_model_objective
    r = hessian_report(obj, obj.x0, top=2, bottom=2, trace_hvps=30, density=True, probes=2, steps=10)
    assert r.trace.hvps == 30 and r.density.hvps == 20 and r.hvps == r.eigen.hvps + 50
    d = r.to_dict()
    assert set(d) >= {"kind", "curvature", "reason", "eigen", "trace", "density", "lambda_max", "hvps"}


def test_model_untouched(tiny_model_objective):
    model, _ = tiny_model_objective
    model.train()
    model.net[0].weight.grad = torch.ones_like(model.net[0].weight)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(1)
    obj = ModelObjective(model, nn.CrossEntropyLoss(), (torch.randn(8, 3, generator=g, dtype=torch.float64),
                                                        torch.randint(0, 2, (8,), generator=g)), dtype=torch.float64)
    hessian_report(obj, obj.x0, trace_hvps=6, density=True, probes=1, steps=3)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()) and model.training
    assert torch.equal(model.net[0].weight.grad, torch.ones_like(model.net[0].weight))
    assert model.net[0].bias.grad is None and model.spare.weight.grad is None


def test_custom_loss_closure_matches_dense_hessian():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 6), nn.Tanh(), nn.Linear(6, 1)).double()
    t = torch.linspace(0, 1, 25, dtype=torch.float64)[:, None]

    def residual_loss(call, batch):       # u'' = -u on [0, 1] via finite differences, plus u(0) = 0
        (pts,) = batch
        h = 1e-2
        u, up, um = call(pts), call(pts + h), call(pts - h)
        return ((up - 2 * u + um) / h ** 2 + u).pow(2).mean() + call(torch.zeros(1, 1, dtype=torch.float64))[0, 0] ** 2

    obj = ModelObjective(model, closure=residual_loss, data=(t,), dtype=torch.float64)
    eig = torch.linalg.eigvalsh(obj.hessian(obj.x0))
    r = hessian_report(obj, obj.x0, top=2, bottom=2, tol=1e-12)
    torch.testing.assert_close(r.eigen.top_values, eig.flip(0)[:2], rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(r.eigen.bottom_values, eig[:2], rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(tol=2.0), r"tol == 2.0, must be in \(0, 1\]"),
    (dict(grad_tol=-1), r"grad_tol == -1.0, must be > 0"),
    (dict(trace_hvps=-3), r"trace_hvps == -3, must be an integer >= 0"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        hessian_report(parse("x^2"), [0.0], **kwargs)
