"""Memory budgets of the curvature algorithms: how many length-``n`` vectors they may hold.

The Krylov methods store ``m`` vectors of ``n`` numbers (the basis), which dominates their memory at network size:
``m = 300`` float64 vectors of an 11.2M-parameter ResNet-18 are 26.8 GB. Each algorithm takes ``memory`` (bytes
for its own vectors: basis, Ritz vectors, work vectors; not the model's forward and backward pass) and sizes its
basis to fit, or refuses before any product when even its minimum does not fit. The default budget is
``DEFAULT_FRACTION`` of the memory available when the call starts: ``MemAvailable`` of ``/proc/meminfo`` (or
``psutil`` when installed) for CPU tensors, ``torch.cuda.mem_get_info`` on a CUDA device.
"""
from __future__ import annotations

import os

import torch

from ..validation import InputError, check_float

DEFAULT_FRACTION = 0.5
GB = 1024 ** 3


def available_memory(device: torch.device | str | None = None) -> int:
    """Bytes that can still be allocated on ``device`` (CPU: the operating system's estimate)."""
    device = torch.device(device or "cpu")
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def resolve_budget(memory: float | None, device: torch.device | str | None = None) -> int:
    """``memory`` bytes checked (> 0), or ``DEFAULT_FRACTION`` of :func:`available_memory` when None."""
    if memory is None:
        return int(DEFAULT_FRACTION * available_memory(device))
    return int(check_float("memory", memory, lo=0, lo_open=True))


def check_basis_dtype(dtype: torch.dtype) -> torch.dtype:
    if dtype not in (torch.float32, torch.float64):
        raise InputError(f"basis_dtype == {dtype}, must be torch.float64 (default) or torch.float32 (half the "
                         "memory, orthogonality to ~1e-7)")
    return dtype


def refuse(what: str, n: int, need: int, budget: int, detail: str) -> InputError:
    """The up-front refusal: the numbers and what to change."""
    return InputError(f"memory == {budget / GB:.3g} GB ({budget} bytes) is too small: {what} on n == {n} "
                      f"parameters needs at least {need / GB:.3g} GB ({need} bytes: {detail}); raise memory "
                      "or use basis_dtype=torch.float32")
