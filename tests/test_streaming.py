"""Streamed model objectives: a DataLoader / Dataset is read batch by batch on every pass, never held whole."""
import math
import weakref

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from losslens.model import ModelObjective
from losslens.validation import InputError

g = torch.Generator().manual_seed(3)
X = torch.randn(40, 3, generator=g, dtype=torch.float64)
Y = torch.tanh(X @ torch.randn(3, 2, generator=g, dtype=torch.float64))


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()


class Counted(Dataset):
    """(X, Y) whose collated batches are counted while alive: ``peak`` = most batches held at once."""

    def __init__(self):
        self.live = self.peak = self.made = 0

    def __len__(self):
        return len(X)

    def __getitem__(self, i):
        return i

    def collate(self, idx):
        idx = torch.tensor(idx)
        xb, yb = X[idx].clone(), Y[idx].clone()
        self.live += 1
        self.made += 1
        self.peak = max(self.peak, self.live)
        weakref.finalize(xb, self._gone)
        return xb, yb

    def _gone(self):
        self.live -= 1


def test_streamed_value_gradient_hvp_match_in_memory_and_hold_one_batch():
    ds = Counted()
    loader = DataLoader(ds, batch_size=4, collate_fn=ds.collate)     # 10 batches
    streamed = ModelObjective(net(), nn.MSELoss(), loader, dtype=torch.float64)
    memory = ModelObjective(net(), nn.MSELoss(), (X, Y), dtype=torch.float64, batch_size=7)
    assert streamed.streaming and not memory.streaming and streamed.num_samples == 40
    x = streamed.x0 + 0.1
    v = torch.randn(3, streamed.n, generator=g, dtype=torch.float64)
    ds.peak, ds.made = ds.live, 0
    H = memory.hessian(x)
    torch.testing.assert_close(streamed.value(x), memory.value(x), rtol=1e-13, atol=0)
    torch.testing.assert_close(streamed.grad(x), memory.grad(x), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(streamed.hvp(x, v), v @ H, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(streamed.hvp_at(x)(v[0]), H @ v[0], rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(streamed.hessian(x), H, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(streamed.values(torch.stack([x, 2 * x])), memory.values(torch.stack([x, 2 * x])),
                               rtol=1e-12, atol=0)
    vg = streamed.value_and_grad(x)
    torch.testing.assert_close(vg[1], memory.grad(x), rtol=1e-12, atol=1e-15)
    # each call reads the 10 batches again; the dense Hessian once per block of 16 columns
    assert ds.made == (6 + math.ceil(streamed.n / 16)) * 10
    assert ds.peak <= 2                 # the current batch and at most the one being collated


def test_streamed_lanczos_matches_dense():
    from losslens.curvature import lanczos

    obj = ModelObjective(net(), nn.MSELoss(), DataLoader(TensorDataset(X, Y), batch_size=5), dtype=torch.float64)
    eig = torch.linalg.eigvalsh(ModelObjective(net(), nn.MSELoss(), (X, Y), dtype=torch.float64).hessian(obj.x0))
    r = lanczos(obj, obj.x0, top=2, bottom=2, tol=1e-10, seed=0)
    torch.testing.assert_close(torch.as_tensor(r.top_values), eig.flip(0)[:2], rtol=0, atol=1e-9)
    torch.testing.assert_close(torch.as_tensor(r.bottom_values), eig[:2], rtol=0, atol=1e-9)


def test_dataset_is_batched_in_order_and_dict_batches_need_selectors():
    class Dicts(Dataset):
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return {"features": X[i], "label": Y[i], "id": i}

    memory = ModelObjective(net(), nn.MSELoss(), (X, Y), dtype=torch.float64)
    obj = ModelObjective(net(), nn.MSELoss(), Dicts(), batch_size=6, inputs="features", targets="label",
                         dtype=torch.float64)
    assert obj.streaming and obj._batch_sizes == [6] * 6 + [4]
    torch.testing.assert_close(obj.value(obj.x0), memory.value(obj.x0), rtol=1e-13, atol=0)
    in_memory_dict = ModelObjective(net(), nn.MSELoss(), {"inputs": X, "targets": Y}, dtype=torch.float64)
    torch.testing.assert_close(in_memory_dict.value(obj.x0), memory.value(obj.x0), rtol=0, atol=0)
    tuples = ModelObjective(net(), nn.MSELoss(), (Y, X), inputs=1, targets=0, dtype=torch.float64)
    torch.testing.assert_close(tuples.value(obj.x0), memory.value(obj.x0), rtol=0, atol=0)
    with pytest.raises(InputError, match=r"dicts with keys \['features', 'label', 'id'\]; say which .*inputs="):
        ModelObjective(net(), nn.MSELoss(), Dicts())
    with pytest.raises(InputError, match=r"inputs == 'x' is not a key of the data batches; keys: \['features'"):
        ModelObjective(net(), nn.MSELoss(), Dicts(), inputs="x", targets="label")
    with pytest.raises(InputError, match=r"inputs == 5: data batches are tuples of 2; give a position 0..1"):
        ModelObjective(net(), nn.MSELoss(), (X, Y), inputs=5, targets=0)
    with pytest.raises(InputError, match="give both inputs and targets"):
        ModelObjective(net(), nn.MSELoss(), (X, Y), inputs=0)
    with pytest.raises(InputError, match="batches are single tensors"):
        ModelObjective(net(), closure=lambda call, b: call(b[0]).sum(), data=DataLoader(X, batch_size=5), inputs=0,
                       targets=0)
    with pytest.raises(InputError, match="inputs == 'n' selects a int, not a tensor"):
        ModelObjective(net(), nn.MSELoss(), [{"n": 3, "y": Y}], inputs="n", targets="y")


def test_order_must_be_deterministic_and_sources_re_iterable():
    shuffled = DataLoader(TensorDataset(X, Y), batch_size=8, shuffle=True)
    with pytest.raises(InputError, match=r"a different batch 0 on a second pass .*shuffle=False"):
        ModelObjective(net(), nn.MSELoss(), shuffled, dtype=torch.float64)
    with pytest.raises(InputError, match=r"data is a one-shot iterator \(generator\)"):
        ModelObjective(net(), nn.MSELoss(), ((X[i:i + 8], Y[i:i + 8]) for i in range(0, 40, 8)))
    with pytest.raises(InputError, match="the DataLoader gave no batches"):
        ModelObjective(net(), nn.MSELoss(), [])
    with pytest.raises(InputError, match="subset == 5: a random subset needs in-memory tensors"):
        ModelObjective(net(), nn.MSELoss(), DataLoader(TensorDataset(X, Y), batch_size=8), subset=5)

    class Growing:          # a source whose later passes differ after the checked batches
        def __init__(self):
            self.passes = 0

        def __iter__(self):
            self.passes += 1
            n = 5 if self.passes <= 3 else 4    # passes: the iter() probe, the scan, the order check
            return iter([(X[i:i + 8], Y[i:i + 8]) for i in range(0, 8 * n, 8)])

    obj = ModelObjective(net(), nn.MSELoss(), Growing(), dtype=torch.float64, check_batches=1)
    with pytest.raises(InputError, match="gave 4 batches on this pass, 5 before"):
        obj.value(obj.x0)

    class Resized(Growing):
        def __iter__(self):
            self.passes += 1
            size = 8 if self.passes <= 3 else 4
            return iter([(X[i:i + size], Y[i:i + size]) for i in range(0, 40, 8)])

    obj = ModelObjective(net(), nn.MSELoss(), Resized(), dtype=torch.float64, check_batches=1)
    with pytest.raises(InputError, match=r"changed between passes \(batch 0 has 4 samples now\)"):
        obj.value(obj.x0)


def test_streamed_landscape_uses_values_and_matches_in_memory():
    from losslens.landscape.directions import gaussian
    from losslens.landscape.grid import evaluate

    streamed = ModelObjective(net(), nn.MSELoss(), DataLoader(TensorDataset(X, Y), batch_size=9), dtype=torch.float64)
    memory = ModelObjective(net(), nn.MSELoss(), (X, Y), dtype=torch.float64)
    d = gaussian(memory.x0, 2, seed=0, layout=memory.layout)
    a, b = evaluate(streamed, d, 4), evaluate(memory, d, 4)
    assert a.method == "values"
    torch.testing.assert_close(torch.as_tensor(a.values), torch.as_tensor(b.values), rtol=1e-12, atol=1e-14)
    same = ModelObjective(net(), nn.MSELoss(), DataLoader(TensorDataset(X, Y), batch_size=9), dtype=torch.float64)
    other = ModelObjective(net(), nn.MSELoss(), DataLoader(TensorDataset(X, Y + 1), batch_size=9),
                           dtype=torch.float64)
    assert streamed.fingerprint() == same.fingerprint() != other.fingerprint()
