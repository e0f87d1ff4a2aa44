"""Small objectives shared by the landscape tests."""
import torch
from torch import nn

from losslens.model import ModelObjective


def regression(seed=0, dtype=torch.float64):
    """Linear regression with MSE: the loss is an exact quadratic in (w, b); returns (obj, A, y) with A = [X, 1]."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randn(40, 1, generator=g, dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(3, 1))
    obj = ModelObjective(net, nn.MSELoss(), (X, y), batch_size=16, dtype=dtype)
    return obj, torch.cat([X, torch.ones(40, 1, dtype=torch.float64)], dim=1), y


def small_mlp(seed=0, dtype=torch.float64, batch_size=4096, loss=None):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(60, 8, generator=g)
    y = torch.randint(0, 4, (60,), generator=g)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
    return ModelObjective(net, loss or nn.CrossEntropyLoss(), (X, y), batch_size=batch_size, dtype=dtype)


def values_independent_of_threads_and_order(ev, C):
    """``ev(C)`` [m] with 1 and 3 worker threads and one point at a time in reverse order: bit-identical (the caller's
    thread setting restored); returns the values."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = ev(C)
        torch.set_num_threads(3)
        three = ev(C)
        assert torch.get_num_threads() == 3                  # the caller's setting is restored
    finally:
        torch.set_num_threads(threads)
    singles = torch.cat([ev(c[None]) for c in C.flip(0)]).flip(0)
    assert torch.equal(one, three) and torch.equal(one, singles)
    return one
