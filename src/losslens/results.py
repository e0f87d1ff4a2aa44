"""Helpers that turn result dataclasses into JSON-ready dicts (the ``--json`` schema)."""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import torch


def jsonable(v: Any) -> Any:
    """Tensors -> nested lists, non-finite floats -> None (also numpy/sympy reals), dataclasses -> dicts (via their
    ``to_dict``)."""
    if isinstance(v, torch.Tensor):
        return jsonable(v.detach().cpu().tolist())
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, numbers.Integral):   # numpy and sympy integers
        return int(v)
    if isinstance(v, numbers.Real):   # numpy and fractions: floats, non-finite -> None
        return jsonable(float(v))
    if getattr(v, "is_number", None) is True:   # a sympy number: oo, nan, zoo and complex ones -> None
        try:
            return jsonable(float(v))
        except (TypeError, ValueError):
            return None
    if isinstance(v, (list, tuple)):
        return [jsonable(u) for u in v]
    if isinstance(v, dict):
        return {str(k): jsonable(u) for k, u in v.items()}
    if hasattr(v, "to_dict"):
        return v.to_dict()
    if dataclasses.is_dataclass(v):
        return {f.name: jsonable(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if hasattr(v, "item") and callable(v.item):   # numpy scalars
        return jsonable(v.item())
    return v


class Result:
    """Mixin for frozen result dataclasses: ``to_dict()`` = every field, JSON-ready."""

    def to_dict(self) -> dict:
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if not f.name.startswith("_")}
