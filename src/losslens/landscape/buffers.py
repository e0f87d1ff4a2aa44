"""Reused buffers: ``reused(store, key, shape, like, dtype)`` is ``store[key]``, made empty on first use (or when the
shape, dtype or device changes) on ``like``'s device with ``dtype`` (default ``like``'s). Landscape evaluation writes
each grid point's activations into the same memory: fresh memory for every point or row costs page faults comparable
to its arithmetic (measured on the digits MLP)."""
from __future__ import annotations

import torch


def reused(store: dict, key, shape, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    dtype = dtype or like.dtype
    t = store.get(key)
    if t is None or t.shape != torch.Size(shape) or t.dtype != dtype or t.device != like.device:
        t = store[key] = like.new_empty(shape, dtype=dtype)
    return t
