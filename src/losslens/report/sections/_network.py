"""Training runs on digits shared by several sections (each section caches its own results on disk)."""
from __future__ import annotations

from functools import lru_cache

from torch import nn

from ...datasets import digits
from ...diagnose.training import train
from ...zoo import make_model


@lru_cache(maxsize=4)
def trained(name: str, steps: int, seed: int):
    """A seeded Adam run of a built-in model on the digits split, with evaluations along the way and the Hessian's
    extreme eigenvalues after the first step and at the end."""
    split = digits(seed=seed)
    return train(make_model(name, seed), nn.CrossEntropyLoss(), split.train, split.test, steps=steps,
                 batch_size=64, lr=1e-3, seed=seed, eval_every=max(steps // 20, 1), curvature_at=(1, steps),
                 curvature_samples=256, curvature_hvps=60)
