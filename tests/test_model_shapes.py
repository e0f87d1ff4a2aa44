"""Model shapes nobody wrote for the examples: extremes of Lanczos on HVPs vs the dense float64 Hessian.

The reference is written independently of :class:`ModelObjective`: ``functional_call`` on a float64 copy of the model,
its Hessian built column by column with plain ``torch.autograd`` double backward (no vmap) and checked against
central differences of the gradient. Not ``torch.func.hessian``: on torch 2.13 (CPU) it returns a wrong, non-symmetric
matrix for a BatchNorm net in train mode and for ``nn.MultiheadAttention`` (off by 0.15 where the HVPs agree with
finite differences to 1e-9), and so does ``jacrev(jacrev(f))``; ``ModelObjective.hessian`` therefore assembles the
dense Hessian from HVPs.
"""
import copy

import pytest
import torch
from torch import nn
from torch.func import functional_call, replace_all_batch_norm_modules_

from losslens.curvature import lanczos
from losslens.landscape import evaluate, gaussian
from losslens.model import ModelObjective

g = torch.Generator().manual_seed(0)


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.head = nn.Linear(3 * 4 * 4, 3)

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.conv(x))).flatten(1))


class Encoder(nn.Module):
    """One attention block: MultiheadAttention with weights returned (the explicit softmax path), LayerNorm, MLP."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(2, 4)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)
        self.norm = nn.LayerNorm(4)
        self.mlp = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 4))
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        h = self.embed(x)
        a, _ = self.attn(h, h, h, need_weights=True)
        h = self.norm(h + a)
        return self.out((h + self.mlp(h)).mean(1))


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(2, 3, batch_first=True)
        self.out = nn.Linear(3, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h[:, -1])


class UnusedFrozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 2)
        self.unused = nn.Linear(5, 5)
        self.a.weight.requires_grad_(False)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


class DictOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))

    def forward(self, x):
        return {"logits": self.body(x), "features": x}


def cases():
    y3 = torch.randint(0, 3, (12,), generator=g)
    y2 = torch.randint(0, 2, (10,), generator=g)
    return {
        "batchnorm-eval": (ConvBN, (torch.randn(12, 1, 4, 4, generator=g),), y3, nn.CrossEntropyLoss(), "eval", {}),
        "batchnorm-train": (ConvBN, (torch.randn(12, 1, 4, 4, generator=g),), y3, nn.CrossEntropyLoss(), "train", {}),
        "transformer": (Encoder, (torch.randn(10, 5, 2, generator=g),), y2, nn.CrossEntropyLoss(), "eval", {}),
        "lstm": (lambda: Recurrent(nn.LSTM), (torch.randn(8, 4, 2, generator=g),), torch.randn(8, 1, generator=g),
                 nn.MSELoss(), "eval", {}),
        "gru": (lambda: Recurrent(nn.GRU), (torch.randn(8, 4, 2, generator=g),), torch.randn(8, 1, generator=g),
                nn.MSELoss(), "eval", {}),
        "unused-frozen": (UnusedFrozen, (torch.randn(10, 3, generator=g),), y2, nn.CrossEntropyLoss(), "eval", {}),
        "dict-output": (DictOut, (torch.randn(10, 3, generator=g),), y2, nn.CrossEntropyLoss(), "eval",
                        {"output": "logits"}),
    }


CASES = cases()


def reference_loss(model, inputs, targets, loss, mode, output):
    """(x0, f): the mean loss as a function of the trainable parameters [n], in float64, by ``functional_call``."""
    net = copy.deepcopy(model).double()
    net.train(mode == "train")
    if mode == "train":
        replace_all_batch_norm_modules_(net)
    trainable = [(k, p) for k, p in net.named_parameters() if p.requires_grad]
    rest = {k: p.detach() for k, p in net.named_parameters() if not p.requires_grad}
    rest.update({k: b for k, b in net.named_buffers()})
    X = tuple(t.double() for t in inputs)
    y = targets.double() if targets.is_floating_point() else targets

    def f(x):
        parts, i = dict(rest), 0
        for k, p in trainable:
            parts[k] = x[i:i + p.numel()].view(p.shape)
            i += p.numel()
        out = functional_call(net, parts, X)
        return loss(out[output] if output else out, y)

    return torch.cat([p.detach().reshape(-1) for _, p in trainable]), f


def dense_reference(model, inputs, targets, loss, mode, output) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0, dense Hessian) of the mean loss over the trainable parameters, in float64."""
    x0, f = reference_loss(model, inputs, targets, loss, mode, output)
    xg = x0.clone().requires_grad_(True)
    grad = torch.autograd.grad(f(xg), xg, create_graph=True)[0]
    H = torch.stack([torch.autograd.grad(grad[i], xg, retain_graph=True)[0] for i in range(len(x0))])
    eps, v = 1e-5, torch.randn(len(x0), generator=g, dtype=torch.float64)
    gradient = lambda x: torch.autograd.grad(f(x.requires_grad_(True)), x)[0]
    fd = (gradient(x0 + eps * v) - gradient(x0 - eps * v)) / (2 * eps)
    torch.testing.assert_close(H @ v, fd, rtol=1e-6, atol=1e-7)      # the reference itself is right
    return x0, H


def snapshot(model):
    return ({k: v.clone() for k, v in model.state_dict().items()}, model.training,
            [p.grad for p in model.parameters()])


@pytest.mark.parametrize("name", list(CASES))
def test_extremes_match_the_dense_hessian_and_the_model_is_untouched(name):
    make, inputs, targets, loss, mode, extra = CASES[name]
    torch.manual_seed(1)
    model = make()
    model.train(name == "batchnorm-eval")      # a mode the objective must not change (nor copy into its eval)
    if isinstance(model, ConvBN):              # non-trivial running statistics
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 1.5)
    before = snapshot(model)
    obj = ModelObjective(model, loss, (*inputs, targets), dtype=torch.float64, mode=mode, **extra)
    x0, H = dense_reference(model, inputs, targets, loss, mode, extra.get("output"))
    torch.testing.assert_close(obj.x0, x0)
    eig = torch.linalg.eigvalsh(H)
    r = lanczos(obj, obj.x0, top=2, bottom=2, tol=1e-9, seed=0)
    scale = float(eig.abs().max())
    assert max(abs(a - b) for a, b in zip(r.top_values, eig.flip(0)[:2].tolist())) <= 1e-7 * scale
    assert max(abs(a - b) for a, b in zip(r.bottom_values, eig[:2].tolist())) <= 1e-7 * scale
    v = torch.randn(obj.n, generator=g, dtype=torch.float64)
    torch.testing.assert_close(obj.hvp(obj.x0, v), H @ v, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(obj.hessian(obj.x0), H, rtol=1e-9, atol=1e-11)
    after = snapshot(model)
    assert after[1] == before[1] and all(g is None for g in after[2])
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0])
    if name == "unused-frozen":
        names = [b.name for b in obj.layout]
        assert "a.weight" not in names and "unused.weight" in names
        unused = [b for b in obj.layout if b.name.startswith("unused")]
        g0 = obj.grad(obj.x0)
        assert all(g0[b.offset:b.offset + b.numel].abs().max() == 0 for b in unused)


@pytest.mark.parametrize("name", ["lstm", "batchnorm-eval"])
def test_streamed_shapes_match_in_memory(name):
    from torch.utils.data import DataLoader, TensorDataset

    make, inputs, targets, loss, mode, extra = CASES[name]
    torch.manual_seed(1)
    model = make()
    memory = ModelObjective(model, loss, (*inputs, targets), dtype=torch.float64, mode=mode)
    streamed = ModelObjective(model, loss, DataLoader(TensorDataset(*inputs, targets), batch_size=3),
                              dtype=torch.float64, mode=mode)
    v = torch.randn(2, memory.n, generator=g, dtype=torch.float64)
    torch.testing.assert_close(streamed.hvp(streamed.x0, v), memory.hvp(memory.x0, v), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_landscape_grid_matches_the_reference_loss(name):
    make, inputs, targets, loss, mode, extra = CASES[name]
    torch.manual_seed(1)
    model = make()
    obj = ModelObjective(model, loss, (*inputs, targets), dtype=torch.float64, mode=mode, **extra)
    _, f = reference_loss(model, inputs, targets, loss, mode, extra.get("output"))
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    L = evaluate(obj, d, 4, (-1, 1), method="fast")
    with torch.no_grad():
        exact = torch.stack([f(d.origin + torch.stack([a, b]) @ d.vectors) for a in L.axes[0] for b in L.axes[1]])
    torch.testing.assert_close(L.values.reshape(-1), exact, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("loss", [nn.HuberLoss(delta=0.5), nn.SmoothL1Loss(beta=0.5)])
def test_huber_and_smooth_l1_hvps_match_the_dense_hessian(loss):
    # forward-mode AD has no formula for huber_loss_backward (NotImplementedError, not a RuntimeError): hvp failed
    make = lambda: Recurrent(nn.GRU)
    inputs, targets = (torch.randn(8, 4, 2, generator=g),), torch.randn(8, 1, generator=g)
    torch.manual_seed(1)
    model = make()
    obj = ModelObjective(model, loss, (*inputs, targets), dtype=torch.float64)
    _, H = dense_reference(model, inputs, targets, loss, "eval", None)
    V = torch.randn(3, obj.n, generator=g, dtype=torch.float64)
    torch.testing.assert_close(obj.hvp(obj.x0, V[0]), H @ V[0], rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(obj.hvp(obj.x0, V), V @ H, rtol=1e-9, atol=1e-11)


def test_values_and_grads_of_a_recurrent_model_without_batching_rules():
    # vmap over parameter vectors has no batching rule for aten::lstm: values/grads (landscape 'values') crashed
    make, inputs, targets, loss, mode, extra = CASES["lstm"]
    torch.manual_seed(1)
    model = make()
    obj = ModelObjective(model, loss, (*inputs, targets), dtype=torch.float64)
    _, f = reference_loss(model, inputs, targets, loss, mode, None)
    P = obj.x0 + 0.1 * torch.randn(3, obj.n, generator=g, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(obj.values(P), torch.stack([f(p) for p in P]), rtol=1e-12, atol=1e-14)
    grads = []
    for p in P:
        p = p.clone().requires_grad_(True)
        grads.append(torch.autograd.grad(f(p), p)[0])
    grads = torch.stack(grads)
    torch.testing.assert_close(obj.grads(P), grads, rtol=1e-10, atol=1e-12)


def test_a_model_with_the_deprecated_weight_norm_hook_is_refused_in_one_line():
    # it cannot be deep-copied (its weight is a non-leaf attribute): a RuntimeError from copy.deepcopy, exit 1
    import warnings

    from losslens import InputError
    from losslens.diagnose.training import train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nn.Sequential(nn.utils.weight_norm(nn.Linear(3, 2)))
    data = (torch.randn(4, 3), torch.randint(0, 2, (4,)))
    message = r"the model cannot be copied \(copy.deepcopy: .*\); the deprecated torch.nn.utils.weight_norm"
    with pytest.raises(InputError, match=message):
        ModelObjective(model, nn.CrossEntropyLoss(), data)
    with pytest.raises(InputError, match=message):
        train(model, nn.CrossEntropyLoss(), data, steps=1)


def test_weight_normed_layers_have_the_hessian_of_their_formula():
    # torch._weight_norm's double backward is wrong on torch 2.13 (a non-symmetric Hessian): HVPs were off by 0.06
    # from finite differences of the gradient; the reference is written out by hand, w = g · v / ‖v‖ (rows)
    X, y = torch.randn(12, 3, generator=g, dtype=torch.float64), torch.randint(0, 2, (12,), generator=g)
    torch.manual_seed(2)
    normed = nn.utils.parametrizations.weight_norm(nn.Linear(3, 4))
    model = nn.Sequential(normed, nn.Tanh(), nn.Linear(4, 2))
    obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    names = ("0.parametrizations.weight.original0", "0.parametrizations.weight.original1")
    at = {b.name: b for b in obj.layout}

    def f(x):
        part = lambda name: x[at[name].offset:at[name].offset + at[name].numel].view(at[name].shape)
        gain, v = part(names[0]), part(names[1])
        w = gain * v / v.norm(dim=1, keepdim=True)
        h = torch.tanh(X @ w.T + part("0.bias"))
        return nn.functional.cross_entropy(h @ part("2.weight").T + part("2.bias"), y)

    x0 = obj.x0
    assert float(obj.value(x0)) == pytest.approx(float(f(x0)), rel=1e-13)
    H = torch.autograd.functional.hessian(f, x0)
    v = torch.randn(obj.n, generator=g, dtype=torch.float64)
    grad = lambda x: torch.autograd.grad(f(x.requires_grad_(True)), x)[0]
    torch.testing.assert_close(H @ v, (grad(x0 + 1e-5 * v) - grad(x0 - 1e-5 * v)) / 2e-5, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(obj.hvp(x0, v), H @ v, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(obj.hessian(x0), H, rtol=1e-10, atol=1e-12)
    eig = torch.linalg.eigvalsh(H)
    r = lanczos(obj, x0, top=1, bottom=1, tol=1e-10, seed=0)
    assert abs(float(r.top_values[0]) - float(eig[-1])) <= 1e-8
    assert abs(float(r.bottom_values[0]) - float(eig[0])) <= 1e-8


class _Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(7, 4, mode="mean")
        self.out = nn.Linear(4, 3)

    def forward(self, i):
        return self.out(torch.tanh(self.bag(i)))


@pytest.mark.parametrize("make, loss", [
    (_Bag, nn.CrossEntropyLoss()),
    (lambda: nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 3)), nn.MultiMarginLoss(p=2)),
])
def test_an_operation_without_a_second_derivative_is_one_input_error(make, loss):
    # torch has no double backward for _embedding_bag_backward or multi_margin_loss_backward: a RuntimeError or a
    # NotImplementedError escaped every Hessian product (exit 1); values and gradients still work
    from losslens import InputError
    from losslens.curvature import hessian_report

    X = torch.randint(0, 7, (6, 3), generator=g) if make is _Bag else torch.randn(6, 4, generator=g)
    obj = ModelObjective(make(), loss, (X, torch.randint(0, 3, (6,), generator=g)), dtype=torch.float64)
    assert torch.isfinite(obj.grad(obj.x0)).all()
    message = r"the model or loss has no second derivative in torch \(.*derivative for .* is not implemented"
    for call in (lambda: obj.hvp(obj.x0, obj.x0), lambda: obj.hvp_at(obj.x0)(obj.x0), lambda: obj.hessian(obj.x0),
                 lambda: hessian_report(obj, obj.x0)):
        with pytest.raises(InputError, match=message):
            call()


def test_values_of_a_loss_with_data_dependent_control_flow():
    # F.gaussian_nll_loss checks `if torch.any(var < 0)`: vmap over points refused it (RuntimeError, exit 1)
    X, y = torch.randn(9, 3, generator=g, dtype=torch.float64), torch.randn(9, 1, generator=g, dtype=torch.float64)
    nll = lambda out, t: nn.functional.gaussian_nll_loss(out[:, :1], t, nn.functional.softplus(out[:, 1:]) + 0.1)
    torch.manual_seed(3)
    obj = ModelObjective(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)), nll, (X, y), dtype=torch.float64)
    P = obj.x0 + 0.2 * torch.randn(4, obj.n, generator=g, dtype=torch.float64)

    def by_hand(x):          # the network and the Gaussian negative log-likelihood written out
        w = {b.name: x[b.offset:b.offset + b.numel].view(b.shape) for b in obj.layout}
        out = torch.tanh(X @ w["0.weight"].T + w["0.bias"]) @ w["2.weight"].T + w["2.bias"]
        var = nn.functional.softplus(out[:, 1:]) + 0.1
        return 0.5 * (var.log() + (out[:, :1] - y) ** 2 / var).mean()

    torch.testing.assert_close(obj.values(P), torch.stack([by_hand(p) for p in P]), rtol=1e-12, atol=1e-14)
    grads = torch.stack([torch.func.grad(by_hand)(p) for p in P])
    torch.testing.assert_close(obj.grads(P), grads, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("script", [torch.jit.script, lambda m: torch.jit.trace(m, torch.zeros(2, 3))])
def test_a_torchscript_model_is_refused_in_one_line(script):
    # .to() on a scripted copy made non-leaf parameters: a RuntimeError (objective) or ValueError (training), exit 1
    from losslens import InputError
    from losslens.diagnose.training import train

    data = (torch.randn(6, 3, generator=g), torch.randint(0, 2, (6,), generator=g))
    for model in (script(nn.Sequential(nn.Linear(3, 2))), nn.Sequential(script(nn.Sequential(nn.Linear(3, 2))))):
        with pytest.raises(InputError, match=r"is a TorchScript module \(torch.jit.script/trace\); give the nn.Module"):
            ModelObjective(model, nn.CrossEntropyLoss(), data)
        with pytest.raises(InputError, match=r"is a TorchScript module"):
            train(model, nn.CrossEntropyLoss(), data, steps=1)
