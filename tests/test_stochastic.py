"""Attention and dropout inside a model objective: dense-Hessian ground truth from finite differences."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from losslens import InputError
from losslens.curvature import lanczos
from losslens.model import ModelObjective


class Encoder(nn.Module):
    """A one-layer Transformer encoder (d=8, 2 heads) with a linear head: n = 467."""

    def __init__(self, dropout=0.0):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=dropout, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.enc(x).mean(1))


def _encoder_objective(mode, dropout=0.1, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 5, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (6,), generator=g)
    torch.manual_seed(0)
    return ModelObjective(Encoder(dropout), nn.CrossEntropyLoss(), (X, y), mode=mode, dtype=dtype, seed=seed,
                          batch_size=4)


def _fd_hvp(obj, x, v, eps=1e-5):
    return (obj.grad(x + eps * v) - obj.grad(x - eps * v)) / (2 * eps)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_transformer_hvp_hessian_and_values_match_finite_differences(mode):
    obj = _encoder_objective(mode)
    x = obj.x0
    v = torch.randn(obj.n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    truth = _fd_hvp(obj, x, v)
    torch.testing.assert_close(obj.hvp(x, v), truth, rtol=0, atol=1e-7)
    torch.testing.assert_close(obj.hvp(x, torch.stack([v, 2 * v]))[1], 2 * truth, rtol=0, atol=2e-7)
    torch.testing.assert_close(obj.hvp_at(x)(v), truth, rtol=0, atol=1e-7)
    H = obj.hessian(x)
    torch.testing.assert_close(H @ v, truth, rtol=0, atol=1e-7)
    X = torch.stack([x, x + 0.01 * v])
    torch.testing.assert_close(obj.values(X), torch.stack([obj.value(x), obj.value(x + 0.01 * v)]), rtol=0,
                               atol=1e-12)
    # the gradient is the derivative of the value (same dropout masks in both)
    e = 1e-6
    torch.testing.assert_close((obj.value(x + e * v) - obj.value(x - e * v)) / (2 * e), obj.grad(x) @ v,
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_transformer_lanczos_matches_dense_eigenvalues(mode):
    obj = _encoder_objective(mode)
    eig = torch.linalg.eigvalsh(obj.hessian(obj.x0))
    r = lanczos(obj, obj.x0, top=2, bottom=2, tol=1e-10, seed=0)
    torch.testing.assert_close(r.top_values, eig.flip(0)[:2], rtol=0, atol=1e-8)
    torch.testing.assert_close(r.bottom_values, eig[:2], rtol=0, atol=1e-8)


def test_train_mode_dropout_is_fixed_by_the_seed():
    a, b = _encoder_objective("train", dropout=0.3), _encoder_objective("train", dropout=0.3)
    ra, rb = (lanczos(o, o.x0, top=1, bottom=1, seed=0) for o in (a, b))
    assert torch.equal(ra.top_values, rb.top_values) and torch.equal(ra.bottom_values, rb.bottom_values)
    assert a.value(a.x0) == a.value(a.x0) == b.value(b.x0)
    other = _encoder_objective("train", dropout=0.3, seed=1)
    assert other.value(other.x0) != a.value(a.x0)          # the masks follow the seed
    ev = _encoder_objective("eval", dropout=0.3)
    assert ev.value(ev.x0) != a.value(a.x0)                 # and dropout is really active in training mode
    assert "seed 0" in a.randomness and "4 samples" in a.randomness and "eval" in ev.randomness


def test_fixed_dropout_keeps_the_expected_fraction_and_scale():
    from losslens.stochastic import FixedRandomness

    u = torch.ones(200, 500, dtype=torch.float64)
    with FixedRandomness(seed=3, batch=0):
        out = F.dropout(u, p=0.25)
        again = F.dropout(u, p=0.25)                          # the second call of a pass: another mask
        feat = F.dropout2d(torch.ones(4, 6, 3, 3), p=0.5)
    kept = out != 0
    assert abs(kept.double().mean() - 0.75) < 0.01 and torch.allclose(out[kept], torch.full_like(out[kept], 4 / 3))
    assert not torch.equal(out, again)
    assert (feat.flatten(2).std(2) == 0).all()               # one mask entry per channel
    with FixedRandomness(seed=3, batch=0):
        assert torch.equal(F.dropout(u, p=0.25), out)         # same (seed, batch, call): same mask


def test_train_mode_batchnorm_uses_batch_statistics_of_the_stated_batch_size():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(10, 3, generator=g, dtype=torch.float64)
    y = torch.randn(10, 1, generator=g, dtype=torch.float64)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).double()
    obj = ModelObjective(model, nn.MSELoss(), (X, y), mode="train", dtype=torch.float64, batch_size=4)
    lin1, bn, lin2 = model

    def batch_loss(xb, yb):
        h = lin1(xb)
        h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + bn.eps) * bn.weight + bn.bias
        return F.mse_loss(lin2(h), yb)

    with torch.no_grad():
        expect = sum(batch_loss(X[i:i + 4], y[i:i + 4]) * len(X[i:i + 4]) for i in range(0, 10, 4)) / 10
    assert float(obj.value(obj.x0)) == pytest.approx(float(expect), rel=1e-12)
    whole = ModelObjective(model, nn.MSELoss(), (X, y), mode="train", dtype=torch.float64, batch_size=10)
    assert float(whole.value(whole.x0)) != pytest.approx(float(expect), rel=1e-6)
    assert model.training and float(bn.running_mean.abs().sum()) == 0.0     # the user's model is untouched


def test_rnn_inter_layer_dropout_is_refused_in_train_mode():
    class Rnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(3, 4, num_layers=2, dropout=0.2, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0][:, -1]

    data = (torch.randn(5, 2, 3), torch.randn(5, 4))
    with pytest.raises(InputError, match=r"module 'rnn' \(LSTM, dropout=0.2\) draws its inter-layer dropout inside "
                                         r"a fused kernel, so mode='train' cannot fix its masks"):
        ModelObjective(Rnn(), nn.MSELoss(), data, mode="train")
    assert ModelObjective(Rnn(), nn.MSELoss(), data, mode="eval").n > 0


def test_threads_each_with_their_own_masks_while_attention_swaps_functional_names():
    # a thread inside multi_head_attention_forward swaps F.dropout; another thread's nn.Dropout then called the
    # swapped name and got a random mask (landscape worker threads); each thread must keep its own fixed masks.
    # One objective per thread (functional_call swaps a module's tensors: one module is not shared by threads).
    import threading

    objs = [_encoder_objective("train", dropout=0.3) for _ in range(2)]
    points = [objs[0].x0 + 0.01 * k for k in range(6)]
    want = [float(objs[0].value(x)) for x in points]
    got = [[], []]

    def work(i):
        for _ in range(4):
            got[i].append([float(objs[i].value(x)) for x in points])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(row == want for rows in got for row in rows)
    assert F.dropout.__module__ == "torch.nn.functional" and not hasattr(F.dropout, "original")
