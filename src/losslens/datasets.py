"""Built-in real data: scikit-learn's bundled ``digits`` (1797 8x8 grey images, 10 classes), loaded offline."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .validation import check_float, check_int


@dataclass(frozen=True)
class Split:
    """Train and test tensors: X [N, 64] standardised with training statistics, y [N] int64 labels 0..9."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def train(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.X_train, self.y_train

    @property
    def test(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.X_test, self.y_test


def digits(seed: int = 0, test_fraction: float = 0.25, train_size: int | None = None,
           dtype: torch.dtype = torch.float32) -> Split:
    """A seeded train/test split of the digits data. ``train_size`` keeps only the first that many training samples
    (the test set is unchanged), for generalisation-gap experiments."""
    from sklearn.datasets import load_digits

    check_float("test_fraction", test_fraction, lo=0, hi=1, lo_open=True, hi_open=True)
    X, y = load_digits(return_X_y=True)
    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.int64)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(X)))
    test, train = perm[:n_test], perm[n_test:]
    if train_size is not None:
        train = train[:check_int("train_size", train_size, lo=1, hi=len(train))]
    mean = X[train].mean(0)
    std = X[train].std(0).clamp_min(1e-6)      # constant border pixels: avoid dividing by zero
    std = torch.where(X[train].std(0) > 0, std, torch.ones_like(std))
    norm = lambda t: ((t - mean) / std).to(dtype)
    return Split(norm(X[train]), y[train], norm(X[test]), y[test])
