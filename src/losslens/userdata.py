"""The user's data for the network commands: ``--data package.module:factory``, ``--data FILE.pt`` or ``.npz``.

A factory is a zero-argument callable returning any of
  * ``(inputs, targets)`` tensors, a dict of tensors, a ``Dataset`` or a ``DataLoader``  -- the training data;
  * ``(train, test)`` of those, or a dict ``{"train": ..., "test": ...}`` (``test`` optional).
A ``.pt`` file holds the same (tensors and plain containers only: it is loaded with ``torch.load(weights_only=True)``);
an ``.npz`` file is a dict of arrays (``numpy.load(allow_pickle=False)``), one training split whose fields are chosen
with ``--inputs``/``--targets`` (default keys ``inputs`` and ``targets``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .validation import InputError


@dataclass(frozen=True)
class UserData:
    """Training data and optional test data (each tensors, a dict of tensors, a Dataset or a DataLoader)."""

    train: Any
    test: Any | None
    source: str


def load_data(spec: str, flag: str = "--data") -> UserData:
    """``spec`` = ``package.module:factory`` or a ``.pt``/``.npz`` path -> :class:`UserData` (see the module doc)."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"{flag} == {spec!r}, must be package.module:factory or a .pt / .npz file")
    path = Path(spec)
    if path.suffix.lower() in (".pt", ".pth", ".npz") or path.exists():
        return UserData(*_split(_read_file(path, flag), flag, spec), spec)
    if ":" not in spec:
        raise InputError(f"{flag} == {spec!r}: no such file, and not package.module:factory; give a .pt / .npz "
                         "file or a zero-argument data factory")
    from .zoo import call_user, import_spec, required_arguments

    factory = import_spec(spec, flag, "package.module:factory")
    needs = required_arguments(factory)
    if needs:
        raise InputError(f"{flag} factory {spec!r} needs arguments {needs}; give a factory callable with none "
                         "(wrap it: def data(): return make(...))")
    return UserData(*_split(call_user(factory, f"{flag} factory {spec!r}"), flag, spec), spec)


def _read_file(path: Path, flag: str):
    if not path.is_file():
        raise InputError(f"{flag} == {str(path)!r}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: np.array(npz[k]) for k in npz.files}
        except (OSError, ValueError) as err:
            raise InputError(f"{flag} == {str(path)!r} is not a readable .npz file: {err}") from None
        for k, a in arrays.items():
            if a.dtype.kind not in "biuf":
                raise InputError(f"{flag} == {str(path)!r}: array {k!r} holds {a.dtype} values; give numbers (float "
                                 "inputs, int class labels or float targets)")
        return {k: torch.from_numpy(a) for k, a in arrays.items()}
    if suffix not in (".pt", ".pth"):
        raise InputError(f"{flag} == {str(path)!r}: unknown file type {suffix!r}; use .pt (torch.save of tensors) "
                         "or .npz")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - unpickling refuses anything but tensors and plain containers
        raise InputError(f"{flag} == {str(path)!r} cannot be loaded weights-only (tensors, tuples, dicts): "
                         f"{weights_only_reason(err)}") from None


def weights_only_reason(err: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in a few words: the global it would have to import
    (pickled code, never run here), else the first line of the error without terminal escapes."""
    import re

    text = str(err)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return f"it needs pickle code execution ({found.group(1)}), refused"
    unpickler = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
    if unpickler:          # not a torch file, or a damaged one
        return f"not a torch tensor file ({unpickler.group(1).strip()[:120]})"
    first = re.sub(r"\x1b\[[0-9;]*m", "", text).strip().splitlines()
    return first[0][:200] if first else type(err).__name__


def _is_data(obj) -> bool:
    """One split: tensors, a dict of tensors, a Dataset or a DataLoader."""
    from torch.utils.data import DataLoader, Dataset

    if isinstance(obj, (DataLoader, Dataset)):
        return True
    if isinstance(obj, (tuple, list)):
        return len(obj) > 0 and all(isinstance(t, torch.Tensor) for t in obj)
    return isinstance(obj, dict) and len(obj) > 0 and all(isinstance(t, torch.Tensor) for t in obj.values())


def _split(obj, flag: str, spec: str) -> tuple[Any, Any]:
    """(train, test) from what a factory or file gave (NumPy arrays taken as tensors)."""
    from .model import as_tensors

    if isinstance(obj, dict) and "train" in obj:
        obj = {k: as_tensors(v) for k, v in obj.items()}
    elif isinstance(obj, (tuple, list)) and len(obj) == 2 and all(isinstance(o, (tuple, list, dict)) for o in obj):
        obj = tuple(as_tensors(o) for o in obj)
    else:
        obj = as_tensors(obj)
    if isinstance(obj, dict) and "train" in obj:
        extra = set(obj) - {"train", "test"}
        if extra:
            raise InputError(f"{flag} {spec!r} gave a dict with 'train' and also {sorted(extra)}; use only the keys "
                             "'train' and 'test'")
        train, test = obj["train"], obj.get("test")
    elif _is_data(obj):
        train, test = obj, None
    elif isinstance(obj, (tuple, list)) and len(obj) == 2 and all(_is_data(o) for o in obj):
        train, test = obj
    else:
        raise InputError(f"{flag} {spec!r} gave {type(obj).__name__}; it must give (inputs, targets) tensors, a "
                         "dict of tensors, a Dataset, a DataLoader, or (train, test) / {'train': ..., 'test': ...} "
                         "of those")
    for name, part in (("train", train), ("test", test)):
        if part is not None and not _is_data(part):
            raise InputError(f"{flag} {spec!r}: the {name} split is {type(part).__name__}; it must be (inputs, "
                             "targets) tensors, a dict of tensors, a Dataset or a DataLoader")
    return train, test
