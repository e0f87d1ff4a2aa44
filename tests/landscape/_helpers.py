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
