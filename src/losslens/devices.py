"""Where a model objective computes: ``device="auto" | "cpu" | "cuda" | "cuda:1" | "mps"`` or a ``torch.device``.

``auto`` is the first present of CUDA, MPS and the CPU. An absent device is refused up front with the devices that
are present, never at the first product.
"""
from __future__ import annotations

import torch

from .validation import InputError

KINDS = ("auto", "cpu", "cuda", "mps")


def available() -> list[str]:
    """The devices present on this machine, CPU first (e.g. ``["cpu", "cuda"]``)."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(device, name: str = "device") -> torch.device:
    """``device`` (text or ``torch.device``) -> a present ``torch.device``; ``auto`` picks CUDA, then MPS, then CPU.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    present = available()
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return torch.device(present[1] if len(present) > 1 else "cpu")
    try:
        dev = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"{name} == {device!r}, must be one of {', '.join(KINDS)} (or cuda:N)") from None
    if dev.type not in KINDS:
        raise InputError(f"{name} == {device!r}, must be one of {', '.join(KINDS)} (or cuda:N)")
    if dev.type not in present:
        raise InputError(f"{name} == {device!r} is not present on this machine; use {' or '.join(present + ['auto'])}")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"{name} == {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


def device_of(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model without tensors)."""
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")
