import pytest
import sympy
import torch
from torch import nn

from losslens import parse
from losslens.landscape import Directions, evaluate, gaussian, grid_axes, line_between, parse_range
from losslens.landscape.choose import make_evaluator
from losslens.landscape.sequential import ModelPlaneEvaluator
from losslens.model import ModelObjective
from losslens.validation import InputError

from ._helpers import regression, small_mlp, values_independent_of_threads_and_order


def test_expression_grid_equals_sympy():
    f = parse("x^2*y - sin(x)")
    d = Directions(torch.tensor([0.5, -1.0], dtype=torch.float64), torch.tensor([[1.0, 2.0], [0.0, 1.0]],
                   dtype=torch.float64), "custom")
    L = evaluate(f, d, (7, 5), [(-1, 1), (0, 2)])
    x, y = f.symbols
    exact = sympy.lambdify((x, y), f.sympy, "mpmath")
    for i, a in enumerate(L.axes[0].tolist()):
        for j, b in enumerate(L.axes[1].tolist()):
            want = float(exact(0.5 + a, -1.0 + 2 * a + b))
            assert float(L.values[i, j]) == pytest.approx(want, rel=1e-13, abs=1e-13)
    assert L.origin_value == pytest.approx(float(exact(0.5, -1.0)), rel=1e-14)


@pytest.mark.parametrize("method", ["fast", "values", "loop"])
def test_quadratic_model_grid_equals_closed_form(method):
    obj, A, y = regression()
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout, bias="filter")
    L = evaluate(obj, d, 9, (-2, 2), method=method)
    # f(θ0 + α d1 + β d2) = mean((r0 + α A d1 + β A d2)^2), r0 = A θ0 - y: a quadratic in (α, β)
    r0, u, v = A @ obj.x0 - y[:, 0], A @ d.vectors[0], A @ d.vectors[1]
    a, b = torch.meshgrid(*L.axes, indexing="ij")
    closed = (r0 @ r0 + 2 * a * (r0 @ u) + 2 * b * (r0 @ v) + a * a * (u @ u) + 2 * a * b * (u @ v)
              + b * b * (v @ v)) / len(y)
    torch.testing.assert_close(L.values, closed, rtol=1e-12, atol=1e-12)
    assert L.method == method
    assert L.origin_value == pytest.approx(float(r0 @ r0) / len(y), rel=1e-12)


def test_fast_path_uses_first_layer_identity_and_matches_vmap_and_loop():
    obj = small_mlp(batch_size=25)               # three batches of 25, 25, 10 samples
    d = gaussian(obj.x0, 2, seed=1, layout=obj.layout)
    fast = make_evaluator(obj, d, "fast")
    assert isinstance(fast, ModelPlaneEvaluator) and fast.first is not None and fast.first[0] == 1
    C = torch.tensor([[0.0, 0.0], [0.3, -0.7], [-1.0, 1.0], [2.0, 0.5]], dtype=torch.float64)
    ref = make_evaluator(obj, d, "loop")(C)
    torch.testing.assert_close(fast(C), ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(make_evaluator(obj, d, "values")(C), ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ref, torch.stack([obj.value(d.origin + c.double() @ d.vectors) for c in C]))


def test_fast_path_in_float32_and_with_other_losses():
    obj = small_mlp(dtype=torch.float32)
    d = gaussian(obj.x0, 2, seed=1, layout=obj.layout)
    C = torch.rand(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(make_evaluator(obj, d, "fast")(C), make_evaluator(obj, d, "values")(C),
                               rtol=2e-6, atol=1e-6)
    nll = small_mlp(loss=lambda out, t: nn.functional.cross_entropy(out, t, label_smoothing=0.1))
    dn = gaussian(nll.x0, 2, seed=1, layout=nll.layout)
    torch.testing.assert_close(make_evaluator(nll, dn, "fast")(C), make_evaluator(nll, dn, "loop")(C))


def test_fast_path_values_do_not_depend_on_threads_or_chunking():
    obj = small_mlp(dtype=torch.float32, batch_size=25)
    d = gaussian(obj.x0, 2, seed=2, layout=obj.layout)
    fast = make_evaluator(obj, d, "fast")
    C = torch.cartesian_prod(torch.linspace(-1, 1, 4, dtype=torch.float64), torch.linspace(-1, 1, 3,
                                                                                           dtype=torch.float64))
    one = values_independent_of_threads_and_order(fast, C)
    torch.testing.assert_close(one, make_evaluator(obj, d, "loop")(C), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("act", [nn.Sigmoid, nn.ReLU])
def test_fast_head_with_frozen_and_bias_free_layers(act):
    g = torch.Generator().manual_seed(3)
    X, y = torch.randn(30, 5, generator=g), torch.randint(0, 3, (30,), generator=g)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        net = nn.Sequential(nn.Linear(5, 7), act(), nn.Linear(7, 6, bias=False), nn.Identity(), nn.Tanh(),
                            nn.Linear(6, 3))
    net[2].weight.requires_grad_(False)
    obj = ModelObjective(net, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    fast = make_evaluator(obj, d, "fast")
    assert fast.first is not None and fast.head.layers is not None and fast.head.leading_relu == (act is nn.ReLU)
    C = torch.tensor([[0.0, 0.0], [0.5, -0.25], [-1.0, 2.0]], dtype=torch.float64)
    exact = torch.stack([obj.value(d.origin + c @ d.vectors) for c in C])
    torch.testing.assert_close(fast(C), exact, rtol=1e-13, atol=1e-13)


def test_user_model_is_untouched():
    obj = small_mlp()
    before = {k: v.clone() for k, v in obj.module.state_dict().items()}
    d = gaussian(obj.x0, 2, seed=1, layout=obj.layout)
    evaluate(obj, d, 3, (-1, 1))
    assert all(torch.equal(before[k], v) for k, v in obj.module.state_dict().items())


def test_interrupted_run_resumes_bit_identical(tmp_path):
    obj = small_mlp(dtype=torch.float32)
    d = gaussian(obj.x0, 2, seed=4, layout=obj.layout)
    full = evaluate(obj, d, 6, (-1, 1), chunk=5, out=tmp_path / "full")

    class Stop(Exception):
        pass

    def stop_after_two(done, total):
        if done >= 10:
            raise Stop

    with pytest.raises(Stop):
        evaluate(obj, d, 6, (-1, 1), chunk=5, out=tmp_path / "cut", progress=stop_after_two)
    resumed = evaluate(obj, d, 6, (-1, 1), chunk=5, out=tmp_path / "cut")
    assert resumed.chunks_resumed == 2 and resumed.points_computed == 26
    assert full.values.numpy().tobytes() == resumed.values.numpy().tobytes()
    assert (tmp_path / "cut" / "values.npy").read_bytes() == (tmp_path / "full" / "values.npy").read_bytes()
    with pytest.raises(InputError, match="other settings"):
        evaluate(obj, gaussian(obj.x0, 2, seed=5, layout=obj.layout), 6, (-1, 1), chunk=5, out=tmp_path / "cut")


def test_line_between_two_points():
    f = parse("(x - 1)^2 + y^2")
    L = line_between(f, [0.0, 0.0], [2.0, 2.0], 5)
    torch.testing.assert_close(L.values, torch.tensor([1.0, 0.5, 1.0, 2.5, 5.0], dtype=torch.float64))
    assert L.to_dict()["argmin"] == [0.25]


def test_bad_input():
    f = parse("x^2 + y^2")
    d = Directions(torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64), "axes")
    with pytest.raises(InputError, match="grid == 1, must be an integer in \\[2, 1001\\]"):
        evaluate(f, d, 1, (-1, 1))
    with pytest.raises(InputError, match="range == 1:-1, must have lo < hi"):
        evaluate(f, d, 3, (1, -1))
    with pytest.raises(InputError, match="--range == '1:0', must have lo < hi"):
        parse_range("1:0")
    with pytest.raises(InputError, match="--range == '1', must be lo:hi"):
        parse_range("1")
    with pytest.raises(InputError, match="grid == \\[3, 3, 3\\], must be one size or 2 sizes"):
        grid_axes(2, [3, 3, 3], (-1, 1))
    with pytest.raises(InputError, match="method == 'fast' needs a model objective"):
        evaluate(f, d, 3, (-1, 1), method="fast")
    with pytest.raises(InputError, match="method == 'gpu', must be one of"):
        evaluate(f, d, 3, (-1, 1), method="gpu")
    with pytest.raises(InputError, match="directions live in R\\^3, the objective has 2"):
        evaluate(f, Directions(torch.zeros(3), torch.eye(3)[:2], "axes"), 3, (-1, 1))
    obj = small_mlp()
    obj.distributed = True
    with pytest.raises(InputError, match="shards its data over ranks; build it with distributed=False"):
        evaluate(obj, gaussian(obj.x0, 2, layout=obj.layout), 3, (-1, 1))


def test_closure_objectives_and_tied_parameters():
    from losslens.model import ModelObjective

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(30, 4, generator=g, dtype=torch.float64), torch.randn(30, 4, generator=g, dtype=torch.float64)
    net = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))
    obj = ModelObjective(net, closure=lambda call, b: ((call(b[0]) - b[1]) ** 4).mean(), data=(X, y),
                         dtype=torch.float64)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    C = torch.tensor([[0.2, -0.4], [1.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(make_evaluator(obj, d, "fast")(C), make_evaluator(obj, d, "loop")(C))
    net[2].weight = net[0].weight          # tied: one tensor under two names
    tied = ModelObjective(net, nn.MSELoss(), (X, y), dtype=torch.float64)
    dt = gaussian(tied.x0, 2, seed=0, layout=tied.layout)
    assert make_evaluator(tied, dt, "auto").name == "values"
    with pytest.raises(InputError, match="share \\(tie\\) parameters; use method='values'"):
        make_evaluator(tied, dt, "fast")
