"""Helpers that turn result dataclasses into JSON-ready dicts (the ``--json`` schema).

A top-level ``to_dict()`` is the document ``--json`` prints: it opens with ``schema_version`` (:data:`SCHEMA_VERSION`,
raised when a key is renamed or removed or changes meaning) and ``losslens`` (the package version), then
``verdict`` and ``reason`` (words from :mod:`losslens.verdicts`) when the result has them, then the entries of its
``inputs`` field when it has one (what was analysed, as the caller names it: the model spec, checkpoint, data
source), then its other fields. A field with ``metadata={"json": False}`` (a live model) is left out. A result
nested inside another is written without the two version keys.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import torch

SCHEMA_VERSION = 1
HEADER = ("schema_version", "losslens")


def header() -> dict:
    """``{"schema_version": SCHEMA_VERSION, "losslens": <package version>}``: the first keys of every document."""
    from . import __version__

    return {"schema_version": SCHEMA_VERSION, "losslens": __version__}


def nested(d: dict) -> dict:
    """A result's ``to_dict()`` without the version keys, for a result inside another."""
    return {k: v for k, v in d.items() if k not in HEADER}


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
        return nested(v.to_dict()) if isinstance(v, Result) else v.to_dict()
    if dataclasses.is_dataclass(v):
        return {f.name: jsonable(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if hasattr(v, "item") and callable(v.item):   # numpy scalars
        return jsonable(v.item())
    return v


class VariablesAlias:
    """``variables``: the old name of a result's ``names`` field (the variable names), kept for one release."""

    @property
    def variables(self) -> tuple[str, ...]:
        return self.names


class Result:
    """Mixin for frozen result dataclasses: ``to_dict()`` = the version keys, ``verdict`` and ``reason`` (fields or
    properties) when the result has them, the entries of an ``inputs`` field, then every other field not starting
    with ``_`` and not marked ``metadata={"json": False}``, JSON-ready. On construction the verdict of a type listed
    in :mod:`losslens.verdicts` is checked against its documented words."""

    def __post_init__(self) -> None:
        from .verdicts import check

        check(self)

    def to_dict(self) -> dict:
        d = header()
        for name in ("verdict", "reason"):
            value = getattr(self, name, None)
            if isinstance(value, str):
                d[name] = value
        fields = [f for f in dataclasses.fields(self) if not f.name.startswith("_") and f.metadata.get("json", True)]
        for f in fields:
            if f.name == "inputs":
                d.update(jsonable(getattr(self, f.name)) or {})
        d.update((f.name, jsonable(getattr(self, f.name))) for f in fields if f.name != "inputs")
        return d
