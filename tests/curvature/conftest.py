import pytest
import torch
from torch import nn

from losslens.model import ModelObjective


def random_symmetric(eigenvalues, seed=0) -> torch.Tensor:
    """U diag(eigenvalues) Uᵀ with a seeded random orthogonal U (float64)."""
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    U = torch.linalg.qr(torch.randn(len(lam), len(lam), generator=g, dtype=torch.float64)).Q
    return U @ torch.diag(lam) @ U.T


class Unused(nn.Module):
    """A tanh MLP 3-5-2 with a parameter the forward pass never touches."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
        self.spare = nn.Linear(2, 2)

    def forward(self, x):
        return self.net(x)


@pytest.fixture
def tiny_model_objective():
    """A float64 tanh MLP on random classification data, away from any critical point (n = 34 + 6 unused)."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (40,), generator=g)
    torch.manual_seed(0)
    model = Unused().double()
    return model, ModelObjective(model, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
