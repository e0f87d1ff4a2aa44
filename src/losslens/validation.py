"""Input checks shared by the API and the CLI.

Every check returns the cleaned value or raises :class:`InputError` whose message names the parameter, the bad
value and what is allowed. The CLI prints that message as its one-line exit-2 error.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch


class InputError(ValueError):
    """Bad user input: the message is one line naming the problem."""


def check_int(name: str, value, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} == {value!r}, must be an integer")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise InputError(f"{name} == {value}, must be an integer in [{lo if lo is not None else '-inf'}, "
                         f"{hi if hi is not None else 'inf'}]")
    return value


def check_float(name: str, value, *, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite float in the interval given by ``lo``/``hi`` (open ends on request)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} == {value!r}, must be a number") from None
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    interval = f"{left}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}{right}"
    if not math.isfinite(v):
        raise InputError(f"{name} == {v}, must be a finite number in {interval}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise InputError(f"{name} == {v}, must be in {interval}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise InputError(f"{name} == {v}, must be in {interval}")
    return v


def check_choice(name: str, value, choices: Sequence[str]) -> str:
    if value not in choices:
        raise InputError(f"{name} == {value!r}, must be one of {', '.join(map(repr, choices))}")
    return value


def parse_floats(name: str, text: str) -> list[float]:
    """Comma-separated finite numbers, e.g. ``"1,-2.5,3e-1"``."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{name} is empty, must be comma-separated numbers such as 1,2")
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            v = float(part)
        except ValueError:
            raise InputError(f"{name} == {text!r}: {part!r} is not a number") from None
        if not math.isfinite(v):
            raise InputError(f"{name} == {text!r}: {part!r} is not finite, coordinates must be finite numbers")
        out.append(v)
    return out


def check_point(name: str, x, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A point of ``R^n``: text ``"1,2"``, a sequence or a tensor -> finite tensor of shape [n]."""
    if isinstance(x, str):
        x = parse_floats(name, x)
    try:
        t = torch.as_tensor(x, dtype=dtype)
    except (TypeError, ValueError, RuntimeError):
        raise InputError(f"{name} == {x!r}, must be a vector of {n} numbers") from None
    t = t.reshape(-1) if t.dim() == 0 else t
    if t.dim() != 1 or t.numel() != n:
        raise InputError(f"{name} has {t.numel()} coordinate(s) (shape {tuple(t.shape)}), the objective has {n} "
                         f"variable(s)")
    if not torch.isfinite(t).all():
        i = int((~torch.isfinite(t)).nonzero()[0])
        shown = f"{name} == {t.tolist()}" if n <= 8 else f"{name}[{i}] == {float(t[i])} (of {n} coordinates)"
        raise InputError(f"{shown}, coordinates must be finite")
    return t


def check_points(name: str, X, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Many points: tensor of shape [m, n]."""
    t = torch.as_tensor(X, dtype=dtype)
    if t.dim() != 2 or t.shape[1] != n:
        raise InputError(f"{name} has shape {tuple(t.shape)}, must be [m, {n}]")
    return t
