"""Input checks shared by the API and the CLI.

Every check returns the cleaned value or raises :class:`InputError` whose message names the parameter, the bad
value and what is allowed. The CLI prints that message as its one-line exit-2 error.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # torch is imported where a tensor is made: the command line starts without it
    import torch


class InputError(ValueError):
    """Bad user input: the message is one line naming the problem."""


def check_int(name: str, value, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} == {value!r}, must be an integer")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise InputError(f"{name} == {value}, must be an integer {_bounds(lo, hi, False, False)}")
    return value


def _bounds(lo, hi, lo_open: bool, hi_open: bool) -> str:
    """``in [lo, hi]`` with its open ends, or ``>= lo`` / ``<= hi`` when one side is unbounded."""
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}"
    return f"{'<' if hi_open else '<='} {hi}" if hi is not None else ""


def check_float(name: str, value, *, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite float in the interval given by ``lo``/``hi`` (open ends on request)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} == {value!r}, must be a number") from None
    bounds = _bounds(lo, hi, lo_open, hi_open)
    if not math.isfinite(v):
        raise InputError(f"{name} == {v}, must be a finite number {bounds}".rstrip())
    if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and (v > hi or (hi_open and v == hi))):
        raise InputError(f"{name} == {v}, must be {bounds}")
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


def check_point(name: str, x, n: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A point of ``R^n``: text ``"1,2"``, a sequence or a tensor -> finite tensor of shape [n] (float64 by default)."""
    import torch

    dtype = torch.float64 if dtype is None else dtype
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


def check_points(name: str, X, n: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Many points: tensor of shape [m, n] (float64 by default)."""
    import torch

    dtype = torch.float64 if dtype is None else dtype
    t = torch.as_tensor(X, dtype=dtype)
    if t.dim() != 2 or t.shape[1] != n:
        raise InputError(f"{name} has shape {tuple(t.shape)}, must be [m, {n}]")
    return t


def check_finite_data(name: str, t: torch.Tensor, offset: int = 0) -> torch.Tensor:
    """A data tensor (samples along dim 0) whose floating entries are all finite; ``offset``: the index of its first
    sample in the data (named in the message)."""
    import torch

    if (t.is_floating_point() or t.is_complex()) and t.numel() and not bool(torch.isfinite(t).all()):
        bad = ~torch.isfinite(t.reshape(len(t), -1) if t.dim() else t.reshape(1, 1))
        i = int(bad.any(1).nonzero()[0])
        value = t.reshape(len(t), -1)[i][bad[i]][0].item() if t.dim() else t.item()
        raise InputError(f"{name} has non-finite values (sample {offset + i} holds {value}); data must be finite: "
                         "drop or impute those samples")
    return t


# Upper bounds of every count flag of the CLI, by parameter name; ``(command, name)`` overrides the default of a
# name. A count past its bound would only exhaust time or memory (an optimizer trajectory keeps every iterate), so it
# is refused before any work with the bound in the message. Lower bounds stay with each command's own checks.
COUNT_LIMITS: dict = {
    "steps": 1_000_000, ("optimize", "steps"): 100_000, ("compare", "steps"): 100_000,
    ("basins", "steps"): 100_000, ("gradflow", "steps"): 100_000, ("hessian", "slq_steps"): 10_000,
    ("train", "steps"): 10_000_000,
    "starts": 1_000_000, ("points", "starts"): 65_536,
    "max_iter": 100_000, "top": 10_000, "bottom": 10_000, "trace_hvps": 1_000_000, "probes": 10_000,
    "samples": 10_000_000, "max_hvps": 10_000_000, "points": 1_000_000, "subset": 10_000_000, "grid": 4_097,
    "chunk": 10_000_000, "batch_size": 1_000_000, "train_size": 10_000_000, "eval_every": 10_000_000,
    "hessian_every": 10_000_000, "checkpoint_every": 10_000_000, "repeats": 1_000, "max_n": 200,
    "trials": 1_000_000_000, "particles": 1_000_000, "replicates": 1_000, "hidden": 64, "inits": 1_000,
    "seed": 2 ** 63 - 1,
}


def check_counts(command: str, values: dict) -> None:
    """Every integer argument of ``command`` named in :data:`COUNT_LIMITS` is at most its bound (None: not given).

    >>> check_counts("optimize", {"steps": 10 ** 12})
    Traceback (most recent call last):
    ...
    losslens.validation.InputError: --steps == 1000000000000, must be an integer <= 100000
    """
    for name, value in values.items():
        hi = COUNT_LIMITS.get((command, name), COUNT_LIMITS.get(name))
        if hi is not None and isinstance(value, int) and not isinstance(value, bool):
            check_int("--" + name.replace("_", "-"), value, hi=hi)
