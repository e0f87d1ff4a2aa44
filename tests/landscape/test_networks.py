"""The network path of the fast evaluator against the plain per-point ``functional_call`` (``obj.value``)."""
import copy

import pytest
import torch
from torch import nn

from losslens.landscape import evaluate, gaussian
from losslens.landscape import fusion, networks
from losslens.landscape.choose import make_evaluator
from losslens.landscape.networks import NetworkEvaluator, first_layer
from losslens.model import ModelObjective
from losslens.zoo import ResNet, make_model

from ._helpers import values_independent_of_threads_and_order

POINTS = torch.tensor([[0.0, 0.0], [0.4, -0.3], [0.4, 0.7], [-1.0, 1.0], [1.5, -2.0]], dtype=torch.float64)


def _seeded(factory, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()


def small_cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 3 * 3, 3))


def tiny_resnet():
    net = ResNet(2, (3, 5), 3)
    for m in net.modules():           # statistics and affine parameters away from (0, 1) (trained-like)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.5, 0.5)
    return net


def layernorm_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(72, 10), nn.LayerNorm(10), nn.ReLU(), nn.Linear(10, 8, bias=False),
                         nn.LayerNorm(8, elementwise_affine=False), nn.GELU(), nn.Linear(8, 3))


MODELS = {"cnn": small_cnn, "resnet": tiny_resnet, "layernorm-mlp": layernorm_mlp}
FIRST = {"cnn": "0", "resnet": "conv1", "layernorm-mlp": "1"}


def objective(name, dtype=torch.float64, mode="eval", batch_size=4096, freeze=(), n=23):
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(n, 2, 6, 6, generator=g), torch.randint(0, 3, (n,), generator=g)
    net = _seeded(MODELS[name])
    for p in freeze:
        net.get_parameter(p).requires_grad_(False)
    return ModelObjective(net, nn.CrossEntropyLoss(), (X, y), dtype=dtype, mode=mode, batch_size=batch_size)


def plain(obj, d, C):
    """The reference: one functional_call forward per point (ModelObjective.value)."""
    with torch.no_grad():
        return torch.stack([obj.value(d.origin + c.to(d.origin.dtype) @ d.vectors) for c in C])


CASES = [("cnn", "eval"), ("resnet", "eval"), ("resnet", "train"), ("layernorm-mlp", "eval")]


@pytest.mark.parametrize("name,mode", CASES)
def test_network_path_equals_plain_forward_in_float64(name, mode):
    obj = objective(name, mode=mode, batch_size=10)          # batches of 10, 10, 3 (train: statistics per batch)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout, bias="filter")
    ev = make_evaluator(obj, d, "fast")
    assert isinstance(ev, NetworkEvaluator) and ev.path == "network"
    assert ev.first_layer == FIRST[name] and ev.tables is not None
    assert ev.channels_last == (name != "layernorm-mlp") and ev.fused
    torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name,mode", CASES)
def test_network_path_in_float32_within_1e5_relative(name, mode):
    obj = objective(name, dtype=torch.float32, mode=mode)
    d = gaussian(obj.x0, 2, seed=1, layout=obj.layout)
    got, want = make_evaluator(obj, d, "fast")(POINTS), plain(obj, d, POINTS)
    assert float(((got - want).abs() / want.abs()).max()) <= 1e-5


def test_train_mode_uses_each_points_own_batch_statistics():
    """train and eval BatchNorm give different values, each equal to its own plain forward; and train mode's value
    is the hand-computed one with the batch's mean and biased variance."""
    train, ev = objective("resnet", mode="train"), objective("resnet", mode="eval")
    d = gaussian(train.x0, 2, seed=2, layout=train.layout)
    a, b = make_evaluator(train, d, "fast")(POINTS), make_evaluator(ev, d, "fast")(POINTS)
    assert float((a - b).abs().min()) > 1e-3
    torch.testing.assert_close(a, plain(train, d, POINTS), rtol=1e-12, atol=1e-13)

    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 3))
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(9, 2, 6, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (9,), generator=g)
    obj = ModelObjective(_seeded(lambda: net), nn.CrossEntropyLoss(), (X, y), dtype=torch.float64, mode="train")
    dn = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    c = torch.tensor([[0.3, -0.6]], dtype=torch.float64)
    p = obj.unflatten(dn.origin + c[0] @ dn.vectors)
    h = nn.functional.conv2d(X, p["0.weight"], p["0.bias"])
    mu, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
    h = ((h - mu) / torch.sqrt(var + 1e-5) * p["1.weight"].view(1, 3, 1, 1) + p["1.bias"].view(1, 3, 1, 1)).relu()
    want = nn.functional.cross_entropy(h.flatten(1) @ p["4.weight"].T + p["4.bias"], y)
    assert float(make_evaluator(obj, dn, "fast")(c)[0]) == pytest.approx(float(want), rel=1e-12)


def test_frozen_and_bias_free_layers():
    """A frozen first-layer weight (its direction part is zero, it stays in H₀), a frozen BatchNorm weight, and the
    bias-free convolutions of the ResNet."""
    for name, freeze in (("resnet", ("conv1.weight", "blocks.0.bn1.weight")), ("cnn", ("0.weight",)),
                         ("layernorm-mlp", ("1.bias", "2.weight"))):
        obj = objective(name, freeze=freeze)
        assert not any(b.name in freeze for b in obj.layout)
        d = gaussian(obj.x0, 2, seed=3, layout=obj.layout, bias="filter")
        ev = make_evaluator(obj, d, "fast")
        assert ev.first_layer == FIRST[name] and ev.tables is not None
        torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)


def test_values_do_not_depend_on_threads_chunking_or_order():
    obj = objective("resnet", dtype=torch.float32, mode="train", batch_size=10)
    d = gaussian(obj.x0, 2, seed=4, layout=obj.layout)
    ev = make_evaluator(obj, d, "fast")
    C = torch.cartesian_prod(torch.linspace(-1, 1, 3, dtype=torch.float64), torch.linspace(-1, 1, 4,
                                                                                           dtype=torch.float64))
    one = values_independent_of_threads_and_order(ev, C)
    L = evaluate(obj, d, (3, 4), (-1, 1), chunk=5)
    assert L.evaluator == "network" and L.to_dict()["evaluator"] == "network"
    assert torch.equal(L.values.reshape(-1), one)
    assert torch.equal(evaluate(obj, d, (3, 4), (-1, 1), chunk=1).values, L.values)


def test_no_first_layer_identity_when_it_does_not_apply(monkeypatch):
    """A first layer run twice, two layers reading the data, or tables beyond the memory budget: the copy's own
    first layer runs, and the values are still the plain ones."""

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(72, 5), nn.Linear(5, 3)

        def forward(self, x):
            x = x.flatten(1)
            return self.b(torch.tanh(self.a(x) + self.a(x).sin()))

    class TwoStems(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Conv2d(2, 3, 3), nn.Conv2d(2, 3, 3), nn.Linear(48, 3)

        def forward(self, x):
            return self.c((self.a(x).relu() * self.b(x)).flatten(1))

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(7, 2, 6, 6, generator=g), torch.randint(0, 3, (7,), generator=g)
    for factory in (Twice, TwoStems):
        net = _seeded(factory)
        assert first_layer(net, (X, y)) is None
        obj = ModelObjective(net, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
        d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
        ev = make_evaluator(obj, d, "fast")
        assert ev.first_layer is None and ev.tables is None
        torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)
    monkeypatch.setattr(networks, "PRECOMPUTE_BUDGET", 1000)
    obj = objective("resnet")
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    ev = make_evaluator(obj, d, "fast")
    assert ev.first_layer == "conv1" and ev.tables is None
    torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)


def test_a_forward_that_cannot_take_channels_last_runs_contiguous():
    class Viewing(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(2, 3, 3), nn.Linear(48, 3)

        def forward(self, x):
            return self.fc(self.conv(x).view(len(x), -1))     # .view needs contiguous memory

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(7, 2, 6, 6, generator=g), torch.randint(0, 3, (7,), generator=g)
    obj = ModelObjective(_seeded(Viewing), nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    ev = make_evaluator(obj, d, "fast")
    assert not ev.channels_last and ev.first_layer == "conv"
    torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)


def test_closure_objective_and_digits_models_pick_their_path():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(20, 64, generator=g, dtype=torch.float64), torch.randint(0, 10, (20,), generator=g)
    cnn = ModelObjective(make_model("digits-cnn"), nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    d = gaussian(cnn.x0, 2, seed=0, layout=cnn.layout)
    ev = make_evaluator(cnn, d, "fast")
    assert ev.path == "network" and ev.first_layer == "1" and ev.channels_last   # Unflatten, then the Conv2d
    torch.testing.assert_close(ev(POINTS), plain(cnn, d, POINTS), rtol=1e-12, atol=1e-13)
    mlp = ModelObjective(make_model("digits-mlp"), nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    dm = gaussian(mlp.x0, 2, seed=0, layout=mlp.layout)
    assert make_evaluator(mlp, dm, "fast", axis=torch.linspace(-1, 1, 5, dtype=torch.float64)).path == "mlp-rows"
    assert make_evaluator(mlp, dm, "fast").path == "mlp"
    Xi = X.view(20, 1, 8, 8)
    closure = ModelObjective(_seeded(small_cnn_digits), closure=lambda call, b: (call(b[0]) ** 2).mean(),
                             data=(Xi, y), dtype=torch.float64)
    dc = gaussian(closure.x0, 2, seed=0, layout=closure.layout)
    ev = make_evaluator(closure, dc, "fast")
    assert ev.path == "network" and ev.first_layer is None
    torch.testing.assert_close(ev(POINTS), plain(closure, dc, POINTS), rtol=1e-12, atol=1e-13)


def small_cnn_digits():
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(108, 2))


def test_folding_factors_are_kept_only_for_batchnorms_no_direction_moves():
    from losslens.landscape.fusion import ConvBN

    obj = objective("resnet", mode="eval")
    for bias, kept in (("zero", True), ("filter", False)):     # Li et al.'s default leaves BatchNorm's γ, β alone
        d = gaussian(obj.x0, 2, seed=0, layout=obj.layout, bias=bias)
        ev = make_evaluator(obj, d, "fast")
        folds = [m for m in ev._worker(0).fused.modules() if isinstance(m, ConvBN)]
        assert len(folds) >= 4 and all(m.fixed == kept for m in folds)
        for _ in range(2):            # the second call reads the kept factors
            torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)


def test_fused_graph_folds_eval_batchnorm_and_keeps_shared_tensors_intact():
    """eval: the five BatchNorms after block convolutions are folded (the stem's follows the precomputed first layer);
    train: none is. A tensor read twice (``h`` below) is never overwritten in place."""
    for mode, folded in (("eval", 5), ("train", 0)):
        obj = objective("resnet", mode=mode)
        d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
        ev = make_evaluator(obj, d, "fast")
        code = ev._worker(0).fused.code
        # five ReLUs: each residual sum and its ReLU are one in-place pass; the stem's ReLU joins the first layer's
        # sum, and so does its BatchNorm: eval: folded into the tables (weight and bias do not move: zero in Li et
        # al.'s directions); train: the batch statistics of the sum from the centred tables' Gram matrices
        assert code.count("_bn(") == folded and code.count("_add_relu_(") == 2 and ".add_(" not in code
        assert code.count(".relu_()") == 2 and ev._worker(0).fused_combined.relu
        assert ev.stem is not None and "self.bn1(" not in code
        assert (ev.stem[2] is None) == (mode == "eval") and (ev._worker(0).fused_combined.norm is None) == (
            mode == "eval")
        torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)
    obj = objective("resnet", freeze=("bn1.weight",))
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout, bias="filter")       # bn1.bias moves: no stem folding
    ev = make_evaluator(obj, d, "fast")
    assert ev.stem is None and ev.fused and "self.bn1(" in ev._worker(0).fused.code
    obj = objective("resnet", freeze=("bn1.weight", "bn1.bias"))
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout, bias="filter")
    ev = make_evaluator(obj, d, "fast")
    assert ev.stem is not None and "self.bn1(" not in ev._worker(0).fused.code
    torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn, self.fc = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Linear(48, 3)

        def forward(self, x):
            h = self.bn(self.conv(x))
            return self.fc((torch.relu(h) + h + torch.relu(h * 2)).flatten(1))

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(7, 2, 6, 6, generator=g), torch.randint(0, 3, (7,), generator=g)
    obj = ModelObjective(_seeded(Shared), nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout, bias="filter")
    ev = make_evaluator(obj, d, "fast")
    assert ev.fused and "torch.relu(bn)" in ev._worker(0).fused.code      # h has three readers
    torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)


def test_float32_convolutions_take_their_relu_and_residual_sum_in_one_call():
    """In float32 every block convolution of the ResNet is one oneDNN call with its ReLU (and the residual sum,
    accumulated in place); values stay within 1e-5 of the plain forward, eval and train BatchNorm."""
    for mode, calls in (("eval", 4), ("train", 0)):
        obj = objective("resnet", dtype=torch.float32, mode=mode)
        d = gaussian(obj.x0, 2, seed=5, layout=obj.layout)
        ev = make_evaluator(obj, d, "fast")
        code = ev._worker(0).fused.code
        if fusion.CONV_POINTWISE is not None and torch.backends.mkldnn.is_available():
            assert code.count("_pw(") == calls and ("_add_relu_(" in code) == (mode == "train")
        got, want = ev(POINTS), plain(obj, d, POINTS)
        assert float(((got - want).abs() / want.abs()).max()) <= 1e-5


class ReadAfterSum(nn.Module):
    """``r`` is read after ``relu(conv(h) + r)``: the sum may not be written into it."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.fc = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(3, 3, 3, padding=1), nn.Linear(3, 3)

    def forward(self, x):
        r = self.a(x)
        s = torch.relu(self.b(r.relu()) + r)
        return self.fc((s + r).mean((2, 3)))


class InputResidual(nn.Module):
    """The residual is the data itself (two layers read it: no first-layer tables): never written in place."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.fc = nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 1), nn.Linear(2, 3)

    def forward(self, x):
        t = self.b(x)
        return self.fc((torch.relu(self.a(x) + x) * t).mean((2, 3)))


@pytest.mark.parametrize("factory", [ReadAfterSum, InputResidual])
def test_a_residual_read_later_or_given_is_not_overwritten(factory):
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(7, 2, 6, 6, generator=g), torch.randint(0, 3, (7,), generator=g)
    obj = ModelObjective(_seeded(factory), nn.CrossEntropyLoss(), (X, y), dtype=torch.float32)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    X0 = X.clone()
    ev = make_evaluator(obj, d, "fast")
    got, want = ev(POINTS), plain(obj, d, POINTS)
    assert float(((got - want).abs() / want.abs()).max()) <= 1e-5 and torch.equal(X, X0)
    assert ev._worker(0).fused is not None
    fused = ev._worker(0).fused
    sums = [n for n in fused.graph.nodes if n.op == "call_module" and len(n.args) == 2]
    assert sums == []                 # the sum stays a separate pass


@pytest.mark.parametrize("affine,k", [(True, 2), (False, 2), (True, 1)])
def test_train_mode_stem_statistics_from_the_grams_equal_the_batch_statistics(affine, k):
    """Conv → BatchNorm (batch statistics; its weight and bias moving on the grid, or absent) → ReLU: the stem's
    variance comes from the Gram matrices of the centred tables, per batch; equal to the plain forward's batch
    statistics in float64, and within 1e-5 in float32, for three batches, on a plane and a line."""
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, affine=affine), nn.ReLU(), nn.Flatten(),
                        nn.Linear(48, 3))
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(23, 2, 6, 6, generator=g) * 3 + 1, torch.randint(0, 3, (23,), generator=g)
    C = torch.tensor([[0.3, -0.6], [-1.0, 1.0], [2.0, 0.1], [0.0, 0.0]], dtype=torch.float64)[:, :k]
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        obj = ModelObjective(_seeded(lambda: copy.deepcopy(net)), nn.CrossEntropyLoss(), (X, y), dtype=dtype,
                             mode="train", batch_size=10)
        d = gaussian(obj.x0, k, seed=0, layout=obj.layout, bias="filter")
        if affine:
            assert bool(d.vectors[:, obj.layout[2].offset].ne(0).any())     # the BatchNorm's weight moves
        ev = make_evaluator(obj, d, "fast")
        assert ev.fused and ev.stem is not None and ev.stem[0] == "1" and len(ev.stem[2]) == 3
        got, want = ev(C), plain(obj, d, C)
        assert float(((got - want).abs() / want.abs()).max()) <= tol


class SpareResNet(nn.Module):
    """The tiny ResNet with a parameter that the forward never uses (its direction part moves nothing)."""

    def __init__(self):
        super().__init__()
        self.net, self.spare = tiny_resnet(), nn.Linear(3, 3)

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_an_unused_parameter_changes_nothing(mode):
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(23, 2, 6, 6, generator=g), torch.randint(0, 3, (23,), generator=g)
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        obj = ModelObjective(_seeded(SpareResNet), nn.CrossEntropyLoss(), (X, y), dtype=dtype, mode=mode)
        assert any(b.name.startswith("spare.") for b in obj.layout)
        d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
        ev = make_evaluator(obj, d, "fast")
        assert ev.path == "network" and ev.first_layer == "net.conv1" and ev.fused and ev.stem is not None
        got, want = ev(POINTS), plain(obj, d, POINTS)
        assert float(((got - want).abs() / want.abs()).max()) <= tol


class WholeBatch(nn.Module):
    """A forward that only takes its whole batch of 7 (a fixed reshape)."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(2, 3, 3), nn.Linear(7 * 48, 7 * 3)

    def forward(self, x):
        return self.fc(self.conv(x).reshape(1, 7 * 48)).view(7, 3)


def test_first_layer_probe_falls_back_to_the_whole_batch():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(7, 2, 6, 6, generator=g), torch.randint(0, 3, (7,), generator=g)
    net = _seeded(WholeBatch)
    with pytest.raises(RuntimeError):
        net(X[:networks.PROBE])
    assert first_layer(net, (X, y)) == "conv"
    obj = ModelObjective(net, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    ev = make_evaluator(obj, d, "fast")
    assert ev.first_layer == "conv" and ev.tables is not None
    torch.testing.assert_close(ev(POINTS), plain(obj, d, POINTS), rtol=1e-12, atol=1e-13)


class Odd(nn.Module):
    """Convolutions of every shape the one-call path takes: depthwise (groups), dilated, strided, bias-free, a sum
    ``h + conv(k)`` read twice (out of place, then written into ``h``), and a sum whose convolution reads the other
    operand itself (never written in place: oneDNN would read what it writes)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.dw = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=4)
        self.down = nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False)
        self.proj, self.same, self.again = nn.Conv2d(6, 6, 1), nn.Conv2d(6, 6, 3, padding=1), nn.Conv2d(6, 6, 1)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        h = self.stem(x).relu()
        h = torch.relu(self.dw(h))
        h = self.down(h).relu()
        h = torch.relu(h + self.same(self.proj(h)))
        h = torch.relu(h + self.again(h))
        return self.fc(h.mean((2, 3)))


def test_grouped_dilated_strided_and_bias_free_convolutions_in_one_call():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(9, 2, 8, 8, generator=g), torch.randint(0, 3, (9,), generator=g)
    obj = ModelObjective(_seeded(Odd), nn.CrossEntropyLoss(), (X, y), dtype=torch.float32)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    ev = make_evaluator(obj, d, "fast")
    assert ev.first_layer == "stem" and ev.fused
    obj_net = ev._worker(0).net
    if fusion.CONV_POINTWISE is not None and torch.backends.mkldnn.is_available():
        calls = [m for m in ev._worker(0).fused.modules() if isinstance(m, fusion.ConvPointwise)]
        assert [c.conv for c in calls] == [obj_net.dw, obj_net.down, obj_net.same]
    got, want = ev(POINTS), plain(obj, d, POINTS)
    assert float(((got - want).abs() / want.abs()).max()) <= 1e-5


class _DropoutEncoder(nn.Module):
    """Dropout before the first layer, inside attention and after it: every mask must be the objective's."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.embed = nn.Linear(3, 4)
        self.block = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.3, batch_first=True)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.block(self.embed(self.drop(x))).mean(1))


@pytest.mark.parametrize("factory, shape", [
    (lambda: nn.Sequential(nn.Dropout(0.3), nn.Linear(3, 6), nn.Tanh(), nn.Dropout(0.4), nn.Linear(6, 2)), (3,)),
    (lambda: nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.3), nn.Linear(6, 2)), (3,)),
    (_DropoutEncoder, (5, 3)),
])
@pytest.mark.parametrize("threads", [1, 2])
def test_train_mode_dropout_takes_the_objectives_fixed_masks(factory, shape, threads):
    # the network path used to run the copy's own random dropout: values off by 0.05-0.2 from f
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(3)
    X, y = torch.randn(14, *shape, generator=g), torch.randint(0, 2, (14,), generator=g)
    obj = ModelObjective(_seeded(factory), nn.CrossEntropyLoss(), (X, y), batch_size=5, mode="train",
                         dtype=torch.float64, seed=4)
    originals = (F.dropout, F.scaled_dot_product_attention)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        ev = NetworkEvaluator(obj, gaussian(obj.x0, 2, seed=0, layout=obj.layout))
        got = ev(POINTS)
    finally:
        torch.set_num_threads(before)
    want = torch.stack([obj.value(ev.points(POINTS[i:i + 1])[0]) for i in range(len(POINTS))])
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)
    assert (F.dropout, F.scaled_dot_product_attention) == originals     # nothing left swapped


class _NormedConv(nn.Module):
    """A weight-normed convolution first (not a Sequential: the network path)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.utils.parametrizations.weight_norm(nn.Conv2d(2, 3, 3, padding=1))
        self.head = nn.Linear(3 * 6 * 6, 3)

    def forward(self, x):
        return self.head(torch.tanh(self.conv(x)).flatten(1))


@pytest.mark.parametrize("factory, shape", [
    (lambda: nn.Sequential(nn.utils.parametrizations.weight_norm(nn.Linear(3, 4)), nn.Tanh(), nn.Linear(4, 3)), (3,)),
    (lambda: nn.Sequential(nn.utils.parametrizations.orthogonal(nn.Linear(3, 3)), nn.ReLU(), nn.Linear(3, 3)), (3,)),
    (lambda: nn.Sequential(nn.utils.parametrizations.spectral_norm(nn.Linear(3, 4)), nn.Tanh(), nn.Linear(4, 3)), (3,)),
    (_NormedConv, (2, 6, 6)),
])
def test_a_parametrized_first_layer_is_run_as_it_is_not_as_linear_tables(factory, shape):
    # weight = g·v/‖v‖ (or an orthogonal map, or W/σ) is not linear in the parameters: H₀ + Σ c_j H_j was off by
    # 0.1-0.3 from f on the grid
    g = torch.Generator().manual_seed(5)
    X, y = torch.randn(10, *shape, generator=g), torch.randint(0, 3, (10,), generator=g)
    obj = ModelObjective(_seeded(factory), nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    ev = make_evaluator(obj, gaussian(obj.x0, 2, seed=0, layout=obj.layout), "fast")
    want = torch.stack([obj.value(x) for x in ev.points(POINTS)])
    torch.testing.assert_close(ev(POINTS), want, rtol=1e-12, atol=1e-13)
