import pytest
import torch
from torch import nn

from losslens.landscape import evaluate, gaussian, relu_rows
from losslens.landscape.choose import make_evaluator
from losslens.landscape.relu_rows import ReluRow
from losslens.model import ModelObjective


def always(*_):
    return True


def _row_problem(dtype, seed=0, N=40, h=9, o=6, steps=17):
    g = torch.Generator().manual_seed(seed)
    A, B = torch.randn(N, h, generator=g, dtype=dtype), torch.randn(N, h, generator=g, dtype=dtype)
    betas = torch.linspace(-1.5, 2.0, steps, dtype=torch.float64)
    B[0, :4] = 0.0                                   # never flips: on iff A > 0 (A = 0 gives 0/0)
    A[0, :4] = torch.tensor([1.0, -1.0, 0.0, 2.0], dtype=dtype)
    A[1, 1] = -float(betas[5]) * float(B[1, 1])     # crosses zero exactly at a grid value
    A[2, 2] = 10.0 * abs(float(B[2, 2]))            # crosses far outside the row
    W, E = torch.randn(o, h, generator=g, dtype=dtype), torch.randn(o, h, generator=g, dtype=dtype)
    b, e = torch.randn(o, generator=g, dtype=dtype), torch.randn(o, generator=g, dtype=dtype)
    return A, B, W, E, b, e, betas


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_row_equals_dense_relu_forward_at_every_step(dtype, tol):
    A, B, W, E, b, e, betas = _row_problem(dtype)
    row = ReluRow(A, B, W, E, b, e, float(betas[0]), float(betas[1] - betas[0]), len(betas), when=always)
    assert row.worth and row.flips > 20
    out = torch.empty(len(A), len(W), dtype=dtype)
    for t, beta in enumerate(betas.tolist()):
        row.advance(t)
        dense = (A + beta * B).relu() @ (W + beta * E).T + b + beta * e
        torch.testing.assert_close(row.output(beta, out, relu=False), dense, rtol=tol, atol=tol)
        torch.testing.assert_close(row.output(beta, out, relu=True), dense.relu(), rtol=tol, atol=tol)


def test_row_advances_over_skipped_steps_bit_identically():
    A, B, W, E, b, e, betas = _row_problem(torch.float32, seed=1)
    args = (A, B, W, E, b, e, float(betas[0]), float(betas[1] - betas[0]), len(betas))
    stepwise, jumping = ReluRow(*args, when=always), ReluRow(*args, when=always)
    for t in range(len(betas)):
        stepwise.advance(t)
    jumping.advance(len(betas) - 1)
    assert torch.equal(stepwise.C, jumping.C)


def test_row_declines_when_matmuls_are_cheaper():
    A, B, W, E, b, e, betas = _row_problem(torch.float64)
    row = ReluRow(A, B, W, E, b, e, float(betas[0]), float(betas[1] - betas[0]), len(betas))
    assert not row.worth and not hasattr(row, "C")         # tiny layers: the plain forward wins
    A[3, 3] = float("inf")                                      # an overflowed point: the plain forward reports it
    assert not ReluRow(A, B, W, E, b, e, float(betas[0]), float(betas[1] - betas[0]), len(betas), when=always).worth
    assert not relu_rows.worth_it(1797, 128, 128, 51, 116_636)    # the digits MLP (measured flips per row): 1.46x
    assert relu_rows.worth_it(1797, 512, 512, 51, 455_935)        # h = 512 (measured flips): rows 0.97x of matmuls
    assert not relu_rows.worth_it(1797, 128, 128, 4, 1797 * 128)      # a short row: the coefficients cost more
    assert not relu_rows.worth_it(1797, 128, 10, 51, 116_000)         # a narrow layer: its matmul is cheap


def _relu_net(second=nn.ReLU, bias=True, seed=0, dtype=torch.float64, zero_input=True):
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(70, 6, generator=g), torch.randint(0, 4, (70,), generator=g)
    if zero_input:
        X[0] = 0.0        # with bias-free directions its first-layer slope row B is exactly zero
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 10, bias=bias), second(), nn.Linear(10, 8),
                            nn.ReLU(), nn.Linear(8, 4))
    return net, ModelObjective(net, nn.CrossEntropyLoss(), (X, y), batch_size=32, dtype=dtype)


@pytest.mark.parametrize("second", [nn.ReLU, nn.Tanh])
def test_grid_on_the_row_path_equals_the_exact_loss(monkeypatch, second):
    monkeypatch.setattr(relu_rows, "worth_it", always)
    _, obj = _relu_net(second)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)          # biases not moved: B has a zero row
    L = evaluate(obj, d, (7, 9), [(-1, 1), (-2, 2)], method="fast")
    ev = make_evaluator(obj, d, "fast", axis=L.axes[1])
    ev(torch.tensor([[float(L.axes[0][2]), float(L.axes[1][4])]], dtype=torch.float64))
    assert isinstance(ev._workers[0].rows[0][1], ReluRow)       # the row path ran
    for i, a in enumerate(L.axes[0].tolist()):
        for j, b in enumerate(L.axes[1].tolist()):
            exact = obj.value(d.origin + a * d.vectors[0] + b * d.vectors[1])
            assert float(L.values[i, j]) == pytest.approx(float(exact), rel=1e-12, abs=1e-12)


def test_frozen_or_bias_free_second_layer_and_lines(monkeypatch):
    monkeypatch.setattr(relu_rows, "worth_it", always)
    for frozen in (2, 4):                    # the second Linear (bias-free) itself, or a later one
        net, obj = _relu_net(bias=False, seed=2)
        net[frozen].weight.requires_grad_(False)
        obj = ModelObjective(net, nn.CrossEntropyLoss(), obj.batches[0][:2], dtype=torch.float64)
        for k in (1, 2):
            d = gaussian(obj.x0, k, seed=3, layout=obj.layout, bias="filter")
            L = evaluate(obj, d, 6, (-1, 1), method="fast")
            C = torch.cartesian_prod(*L.axes).view(-1, k)
            exact = torch.stack([obj.value(d.origin + c @ d.vectors) for c in C]).view(L.values.shape)
            torch.testing.assert_close(L.values, exact, rtol=1e-12, atol=1e-12)
            ev = make_evaluator(obj, d, "fast", axis=L.axes[-1])
            ev(C)
            assert isinstance(ev._workers[0].rows[0][1], ReluRow)      # the row path ran


def test_row_path_values_do_not_depend_on_chunks_threads_or_order(monkeypatch):
    monkeypatch.setattr(relu_rows, "worth_it", always)
    _, obj = _relu_net(dtype=torch.float32, seed=4)
    d = gaussian(obj.x0, 2, seed=5, layout=obj.layout)
    whole = evaluate(obj, d, 9, (-1, 1), method="fast").values
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        threaded = evaluate(obj, d, 9, (-1, 1), method="fast", chunk=7).values
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(whole, evaluate(obj, d, 9, (-1, 1), method="fast", chunk=4).values)
    assert torch.equal(whole, threaded)
    ev = make_evaluator(obj, d, "fast", axis=torch.linspace(-1, 1, 9, dtype=torch.float64))
    C = torch.cartesian_prod(*[torch.linspace(-1, 1, 9, dtype=torch.float64)] * 2)
    backwards = torch.cat([ev(C[p:p + 1]) for p in reversed(range(len(C)))]).flip(0)
    assert torch.equal(whole.view(-1), backwards)
    loop = make_evaluator(obj, d, "loop")(C)
    torch.testing.assert_close(whole.view(-1), loop, rtol=3e-6, atol=3e-6)


def test_row_path_needs_a_uniform_axis_and_fits_the_memory_budget(monkeypatch):
    from losslens.landscape import sequential

    _, obj = _relu_net()
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    axis = torch.linspace(-1, 1, 9, dtype=torch.float64)
    assert make_evaluator(obj, d, "fast", axis=axis).axis is not None
    assert make_evaluator(obj, d, "fast", axis=axis ** 3).axis is None            # not uniform
    assert make_evaluator(obj, d, "fast").axis is None
    monkeypatch.setattr(sequential, "PRECOMPUTE_BUDGET", 30_000)      # holds the H_j, not a row's workspace
    small = make_evaluator(obj, d, "fast", axis=axis)
    assert small.first is not None and small.axis is None


@pytest.mark.parametrize("taken", [True, False])
def test_landscape_names_the_path_its_rows_took(monkeypatch, taken):
    monkeypatch.setattr(relu_rows, "worth_it", lambda *args: taken)
    _, obj = _relu_net()
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    L = evaluate(obj, d, 5, (-1, 1), method="fast")
    assert L.evaluator == ("mlp-rows" if taken else "mlp")
    C = torch.cartesian_prod(*L.axes)
    exact = torch.stack([obj.value(d.origin + c @ d.vectors) for c in C]).view(L.values.shape)
    torch.testing.assert_close(L.values, exact, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bias, frozen", [(True, None), (False, 2), (True, 4)])
def test_plain_stack_with_frozen_or_bias_free_layers_equals_the_exact_loss(monkeypatch, bias, frozen):
    # rows declined: every Linear then ReLU takes its matmul, then bias and ReLU in one in-place pass
    monkeypatch.setattr(relu_rows, "worth_it", lambda *args: False)
    net, obj = _relu_net(bias=bias, seed=3)
    if frozen is not None:
        net[frozen].requires_grad_(False)
        obj = ModelObjective(net, nn.CrossEntropyLoss(), obj.batches[0][:2], dtype=torch.float64)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout, bias="filter")
    L = evaluate(obj, d, 5, (-1, 1), method="fast")
    assert L.evaluator == "mlp"
    C = torch.cartesian_prod(*L.axes)
    exact = torch.stack([obj.value(d.origin + c @ d.vectors) for c in C]).view(L.values.shape)
    torch.testing.assert_close(L.values, exact, rtol=1e-12, atol=1e-12)
