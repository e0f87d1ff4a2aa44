import math

import pytest
import torch
from torch import nn

from losslens import InputError
from losslens.diagnose.gradflow import GradientFlowMonitor, flow_verdict, gradient_flow, layer_of


def test_monitor_records_the_rms_gradient_of_each_layer_and_removes_its_hook():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    X, y = torch.randn(10, 4), torch.randint(0, 3, (10,))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with GradientFlowMonitor(net, opt) as mon, GradientFlowMonitor(net) as manual:
        nn.CrossEntropyLoss()(net(X[:5]), y[:5]).backward()
        nn.CrossEntropyLoss()(net(X[5:]), y[5:]).backward()      # two passes in one step: gradients add up
        want = [(layer.weight.grad.pow(2).sum() + layer.bias.grad.pow(2).sum(),
                 layer.weight.numel() + layer.bias.numel()) for layer in (net[0], net[2])]
        manual.step()
        opt.step()                                                # the hook records before the update
        rms = mon.norms[0]
    assert mon.layers == ("0", "2") and len(mon.norms) == 1
    for i, (sq, n) in enumerate(want):
        assert float(rms[i]) == pytest.approx(math.sqrt(float(sq) / n), rel=1e-6)
    assert torch.equal(manual.norms, mon.norms)
    assert not opt._optimizer_step_pre_hooks
    opt.zero_grad()
    nn.CrossEntropyLoss()(net(X), y).backward()
    opt.step()
    assert len(mon.norms) == 1


@pytest.mark.parametrize("norms, verdict", [
    ([[1e-5, 1.0], [2e-5, 1.0]], "vanishing"),
    ([[500.0, 1.0], [300.0, 1.0]], "exploding"),
    ([[5e3, 4e3], [5e3, 4e3]], "exploding"),
    ([[0.3, 1.0], [0.5, 1.0]], "healthy"),
    ([[0.3, float("nan")]], "not_finite"),
])
def test_verdicts_on_constructed_norms(norms, verdict):
    assert flow_verdict(("a", "b"), torch.tensor(norms)).verdict == verdict


def test_layers_without_gradient_are_left_out():
    flow = flow_verdict(("a", "b", "unused"), torch.tensor([[0.5, 1.0, 0.0], [0.5, 1.0, 0.0]]))
    assert flow.verdict == "healthy" and flow.ratio == 0.5 and "a vs b" in flow.reason
    assert flow_verdict(("a", "b"), torch.tensor([[0.5, 0.0]])).verdict == "unknown"


def test_unused_parameter_reads_zero():
    class WithSpare(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.spare = nn.Linear(3, 4), nn.Linear(4, 2), nn.Linear(2, 2)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    m = WithSpare()
    with GradientFlowMonitor(m) as mon:
        m(torch.randn(5, 3)).sum().backward()
        mon.step()
    assert mon.layers == ("a", "b", "spare") and float(mon.norms[0, 2]) == 0.0 and float(mon.norms[0, 0]) > 0


def test_one_layer_is_unknown_and_layer_names():
    assert flow_verdict(("a",), torch.ones(3, 1)).verdict == "unknown"
    assert layer_of("net.0.weight") == "net.0" and layer_of("scale") == "scale"


def test_deep_sigmoid_vanishes_and_relu_mlp_is_healthy():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(128, 16, generator=g)
    y = (X[:, 0] > 0).long()
    torch.manual_seed(0)
    deep = nn.Sequential(*[m for _ in range(8) for m in (nn.Linear(16, 16), nn.Sigmoid())], nn.Linear(16, 2))
    shallow = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2))
    assert gradient_flow(deep, nn.CrossEntropyLoss(), (X, y), steps=5).verdict == "vanishing"
    assert gradient_flow(shallow, nn.CrossEntropyLoss(), (X, y), steps=5).verdict == "healthy"


def test_nan_loss_is_a_verdict():
    # finite data (NaN data is refused up front), a NaN weight: the loss is NaN from the first step
    X, y = torch.ones(8, 2), torch.zeros(8, dtype=torch.long)
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    flow = gradient_flow(model, nn.CrossEntropyLoss(), (X, y), steps=3)
    assert flow.verdict == "not_finite" and "step 1" in flow.reason


@pytest.mark.parametrize("kwargs, match", [
    (dict(low=0), r"low == 0.0, must be > 0"),
    (dict(low=1.0, high=0.5), r"high == 0.5, must be > 1.0"),
    (dict(blowup=-1), r"blowup == -1.0, must be > 0"),
])
def test_bad_thresholds(kwargs, match):
    with pytest.raises(InputError, match=match):
        flow_verdict(("a", "b"), torch.ones(2, 2), **kwargs)


class _HeadFirst(nn.Module):
    """A deep sigmoid body registered after its head: registration order is output -> input."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(8, 2)
        self.body = nn.Sequential(*[m for _ in range(10) for m in (nn.Linear(8, 8), nn.Sigmoid())])

    def forward(self, x):
        return self.head(self.body(x))


class _Attention(nn.Module):
    """The attention's out_proj is read by the attention, never called: it follows the attention."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(3, 4)
        self.head = nn.Linear(4, 2)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x):
        h = self.embed(x)
        return self.head(self.attn(h, h, h)[0].mean(1))


def test_layers_run_input_to_output_whatever_the_registration_order():
    # the head registered first was taken for the first layer: a vanishing body read as ratio > 100, "exploding"
    from losslens.diagnose.flowmonitor import forward_order

    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 8, generator=g)
    y = (X[:, 0] > 0).long()
    torch.manual_seed(0)
    flow = gradient_flow(_HeadFirst(), nn.CrossEntropyLoss(), (X, y), steps=5, seed=0)
    assert flow.layers[0] == "body.0" and flow.layers[-1] == "head" and flow.verdict == "vanishing"
    layers = ("head", "attn", "attn.out_proj", "embed")
    assert forward_order(_Attention(), torch.randn(2, 5, 3), layers) == [3, 1, 2, 0]
    assert forward_order(_Attention(), torch.randn(2, 5, 7), layers) == [0, 1, 2, 3]      # a failing forward
    assert forward_order(nn.Linear(2, 2), torch.randn(1, 2), ("weight",)) == [0]            # the model's own
