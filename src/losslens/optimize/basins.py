"""Basins of attraction: many starts, one batch, where each one ends.

:func:`basins` runs one method from ``m`` starts in a box at once: the starts are the rows of one parameter tensor
``X`` [m, n], stepped by one optimizer whose update is independent per row (see :mod:`losslens.optimize.methods`),
with all gradients from one backward pass (:mod:`losslens.optimize.batch`). There is no Python loop over starts.

Each start then gets a label:

* ``-1`` diverged: a value, gradient or coordinate became non-finite, or the run left the box uphill
  (outside the box with f above its start value);
* ``-2`` unsettled: finite, but ‖∇f‖ > gtol at the end (still moving, or slowed on a plateau);
* ``j >= 0``: ended at endpoint ``j``, a cluster of settled end points (‖∇f‖ <= gtol) within ``1e-3 ℓ`` of the
  cluster's first member, classified by :func:`losslens.classify_point` at its member with the smallest gradient
  (the classification tolerance widened just enough to accept gtol, so the tests agree; Newton on x³ ends at 5e-7
  with f'' > 0, which that test calls ``degenerate``: the curvature vanishes ahead).

Minima get a role: ``global_min`` when ``known_minimum`` is given and the value matches it (within
``gtol · ℓ + sqrt(eps) · max(1, |f*|)``); otherwise the lowest found is ``lowest_min`` (global unknown) unless some
start or scale sample has a lower value, which makes every found minimum ``local_min``; the others are
``local_min``. ``gtol``, ``ℓ`` are those of :mod:`losslens.optimize.verdict`, measured on the box.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ..classify import classify_point
from ..interrupts import held_interrupt
from ..objective import Box, Objective, expression_text
from ..tolerances import default_tol
from ..results import Result, jsonable
from ..storage import CorruptFile, load_torch_bytes, read_sealed, write_torch
from ..validation import InputError, check_choice, check_float, check_int
from .batch import values_and_grads
from .methods import Settings, Stepper, settings
from .verdict import SLOW, TOL, Scale, measure_scale

DIVERGED, UNSETTLED = -1, -2
CLUSTER = 1e-3
MAX_STARTS = 10 ** 7


@dataclass(frozen=True)
class Endpoint(Result):
    """Where a group of starts ended: ``point`` [n], ``value``, ``kind`` (classify_point's word), ``role``
    (``global_min``, ``lowest_min``, ``local_min``, or the kind for non-minima), ``eigenvalues`` [n], ``count``
    starts and their ``fraction`` of all starts."""

    point: torch.Tensor
    value: float
    kind: str
    role: str
    eigenvalues: torch.Tensor
    count: int
    fraction: float


@dataclass(frozen=True)
class BasinMap(Result):
    """Outcome of every start: ``starts`` [m, n], ``ends`` [m, n], ``end_values`` [m], ``end_gradient_norms`` [m],
    ``labels`` [m] (endpoint index, -1 diverged, -2 unsettled), ``endpoints``, the ``diverged`` / ``unsettled``
    counts and fractions, ``grid`` (points per axis when the starts are a grid, else None), ``expression`` (the
    objective's formula, None without one). ``verdict``: ``one_endpoint``, ``several_endpoints`` or ``none_settled``;
    ``reason``: the starts per endpoint role."""

    objective: str
    names: tuple[str, ...]
    settings: dict
    box: Box
    steps: int
    grid: tuple[int, ...] | None
    starts: torch.Tensor
    ends: torch.Tensor
    end_values: torch.Tensor
    end_gradient_norms: torch.Tensor
    labels: torch.Tensor
    endpoints: tuple[Endpoint, ...]
    diverged: int
    diverged_fraction: float
    unsettled: int
    unsettled_fraction: float
    known_minimum: float | None
    scale: Scale
    expression: str | None = None

    @property
    def verdict(self) -> str:
        k = len(self.endpoints)
        return "none_settled" if k == 0 else "one_endpoint" if k == 1 else "several_endpoints"

    @property
    def reason(self) -> str:
        ends = ", ".join(f"{e.count} at a {e.role} (f = {e.value:.6g})" for e in self.endpoints)
        return (f"of {self.m} starts: {ends + '; ' if ends else ''}{self.diverged} diverged, {self.unsettled} "
                "unsettled")

    @property
    def m(self) -> int:
        return len(self.labels)


def start_points(box: Box, m: int, layout: str, seed: int, dtype: torch.dtype) -> tuple[torch.Tensor, tuple | None]:
    """``m`` starts in ``box``: a ``grid`` of cell centres (about m^(1/n) per axis, n <= 2) or seeded ``random``."""
    if layout == "random":
        return box.sample(m, seed=seed, dtype=dtype), None
    if box.n > 2:
        raise InputError(f"layout == 'grid' needs 1 or 2 variables, the objective has {box.n}; use layout random")
    k = max(1, round(m ** (1.0 / box.n)))
    axes = [lo + (hi - lo) * (torch.arange(k, dtype=dtype) + 0.5) / k for lo, hi in zip(box.lo, box.hi)]
    mesh = torch.meshgrid(*axes, indexing="xy")          # row-major over (y, x): ready for imshow
    return torch.stack([c.reshape(-1) for c in mesh], dim=1), (k,) * box.n


def descend(objective: Objective, s: Settings, X0: torch.Tensor, steps: int,
            progress: Callable[[int], None] | None = None, checkpoint: str | Path | None = None,
            checkpoint_every: int = 100) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``steps`` steps of ``s`` from every row of ``X0`` [m, n] at once.

    Returns ends [m, n], end values [m], end gradients [m, n] and the first non-finite step per row [m] (-1: none).
    With ``checkpoint``, the whole state is written there (atomically, sealed with its sha256: a changed byte is
    refused on resume) every ``checkpoint_every`` steps, on Ctrl-C (after the step in progress) and at the end; a
    rerun with the same objective, settings, starts and steps resumes from it and gives the same numbers as an
    uninterrupted run.
    """
    stepper = Stepper(objective, s, X0, steps)
    first_bad = torch.full((len(X0),), -1, dtype=torch.long)
    key = _fingerprint(objective, s, steps)
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if checkpoint.exists():
            first_bad = _resume(checkpoint, key, X0, stepper)
            if progress is not None:
                progress(stepper.k)
    with held_interrupt() as interrupted:      # Ctrl-C: the step in progress is finished and saved first
        for k in range(stepper.k, steps):
            v, g = values_and_grads(objective, stepper.X.detach())
            bad = ~(torch.isfinite(v) & torch.isfinite(g).all(dim=1) & torch.isfinite(stepper.X.detach()).all(dim=1))
            first_bad[bad & (first_bad < 0)] = k
            stepper.step(g, v)
            due = checkpoint is not None and (stepper.k % checkpoint_every == 0 or stepper.k == steps)
            if due:
                _save(checkpoint, key, X0, stepper, first_bad)
            if progress is not None:
                progress(k + 1)
            if interrupted:
                if checkpoint is not None and not due:
                    _save(checkpoint, key, X0, stepper, first_bad)
                raise KeyboardInterrupt
    X = stepper.X.detach()
    v, g = values_and_grads(objective, X)
    bad = ~(torch.isfinite(v) & torch.isfinite(g).all(dim=1) & torch.isfinite(X).all(dim=1))
    first_bad[bad & (first_bad < 0)] = steps
    return X.clone(), v, g, first_bad


def _fingerprint(objective: Objective, s: Settings, steps: int) -> str:
    expr = getattr(objective, "expression", None)
    return json.dumps({"objective": str(expr) if expr is not None else objective.label, "names": objective.names,
                       "settings": jsonable(s.to_dict()), "steps": steps}, sort_keys=True)


def _save(path: Path, key: str, X0: torch.Tensor, stepper: Stepper, first_bad: torch.Tensor) -> None:
    write_torch(path, {"key": key, "starts": X0, "stepper": stepper.state_dict(), "first_bad": first_bad})


def _resume(path: Path, key: str, X0: torch.Tensor, stepper: Stepper) -> torch.Tensor:
    try:
        state = load_torch_bytes(read_sealed(path))
    except CorruptFile as err:
        raise InputError(f"checkpoint {str(path)!r} cannot be read (corrupt: {err.reason}); delete it to start "
                         "over") from None
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user error
        raise InputError(f"checkpoint {str(path)!r} cannot be read ({type(err).__name__}); delete it to start "
                         "over") from None
    if not isinstance(state, dict) or state.get("key") != key or not isinstance(state.get("starts"), torch.Tensor) \
            or not torch.equal(state["starts"], X0):
        raise InputError(f"checkpoint {str(path)!r} belongs to another run (objective, method, settings, starts "
                         "or steps differ); delete it or choose another path")
    try:
        stepper.load_state_dict(state["stepper"])
        return state["first_bad"].clone()
    except Exception as err:  # noqa: BLE001 - a mis-shaped file fails in many ways (key, type, size)
        raise InputError(f"checkpoint {str(path)!r} has this run's key but its content does not fit "
                         f"({type(err).__name__}); delete it to start over") from None


def _clusters(ends: torch.Tensor, settled: torch.Tensor, radius: float) -> torch.Tensor:
    """Greedy clustering: each unassigned settled end joins the cluster of the first one within ``radius``."""
    labels = torch.full((len(ends),), UNSETTLED, dtype=torch.long)
    todo = settled.clone()
    j = 0
    while bool(todo.any()):
        i = int(torch.nonzero(todo)[0])
        members = todo & (torch.linalg.vector_norm(ends - ends[i], dim=1) <= radius)
        labels[members] = j
        todo &= ~members
        j += 1
    return labels


def basins(objective: Objective, method: str = "gd", box: Box | str | None = None, starts: int = 10000,
           steps: int = 1000, lr: float = 0.01, *, layout: str | None = None, seed: int = 0,
           known_minimum: float | None = None, tol: float = TOL, progress: Callable[[int], None] | None = None,
           checkpoint: str | Path | None = None, checkpoint_every: int = 100, **method_kwargs: Any) -> BasinMap:
    """Run ``method`` from ``starts`` points of ``box`` (default: the objective's box) for ``steps`` steps each, all
    at once, and report the fraction ending at each minimum, saddle, maximum, diverging or unsettled.

    ``layout``: ``grid`` (default for 1-2 variables; the map is an image) or ``random`` (seeded by ``seed``).
    ``method_kwargs`` go to :func:`losslens.optimize.methods.settings` (``momentum``, ``noise``, ``schedule``, ...).
    ``checkpoint``: a file where the run's state lands every ``checkpoint_every`` steps; rerunning resumes there.

    >>> from losslens import parse
    >>> b = basins(parse("himmelblau"), "gd", starts=400, steps=300, lr=0.01)
    >>> sorted(e.role for e in b.endpoints if e.kind == "min")
    ['lowest_min', 'lowest_min', 'lowest_min', 'lowest_min']
    """
    s = settings(method, lr, seed=seed, **method_kwargs)
    steps = check_int("steps", steps, lo=1)
    m = check_int("starts", starts, lo=1, hi=MAX_STARTS)
    tol = check_float("tol", tol, lo=0, lo_open=True)
    box = Box.coerce(box if box is not None else objective.box, objective.n)
    if box is None:
        raise InputError("box is missing: the objective has no default box, give one such as -2:2,-2:2")
    layout = layout or ("grid" if objective.n <= 2 else "random")
    check_choice("layout", layout, ("grid", "random"))
    if known_minimum is not None:
        known_minimum = check_float("known_minimum", known_minimum)
    X0, grid = start_points(box, m, layout, seed, objective.dtype)
    lo, hi = box.tensors(objective.dtype)
    scale = measure_scale(_boxed(objective, box), (lo + hi) / 2, tol, SLOW, seed)
    if s.method == "perturbed-gd":
        from dataclasses import replace
        s = replace(s, perturb_radius=s.perturb_radius or 1e-3 * scale.length, perturb_gtol=scale.gslow)
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, lo=1)
    ends, v, g, first_bad = descend(objective, s, X0, steps, progress, checkpoint, checkpoint_every)
    gn = torch.linalg.vector_norm(g, dim=1)
    v0 = objective.values(X0)
    outside = ~((ends >= lo) & (ends <= hi)).all(dim=1)
    diverged = (first_bad >= 0) | (outside & (v > v0))
    settled = ~diverged & (gn <= scale.gtol) & scale.finite      # no finite tolerance: nothing counts as settled
    labels = _clusters(ends, settled, CLUSTER * scale.length)
    labels[diverged] = DIVERGED
    endpoints = _endpoints(objective, ends, v, gn, labels, scale, known_minimum,
                           float(torch.nan_to_num(v0, nan=math.inf).min()))
    nd, nu = int(diverged.sum()), int((labels == UNSETTLED).sum())
    M = len(X0)
    return BasinMap(objective.label, objective.names, s.to_dict(), box, steps, grid, X0, ends, v, gn, labels,
                    endpoints, nd, nd / M, nu, nu / M, known_minimum, scale, expression_text(objective))


def _boxed(objective: Objective, box: Box) -> Objective:
    """The objective seen on ``box`` (for the scale), without changing the caller's object."""
    if objective.box == box:
        return objective
    import copy
    o = copy.copy(objective)
    o.box = box
    return o


def _endpoints(objective, ends, v, gn, labels, scale, known_minimum, lowest_start) -> tuple[Endpoint, ...]:
    M = len(labels)
    raw = []
    for j in range(int(labels.max()) + 1 if len(labels) and int(labels.max()) >= 0 else 0):
        members = torch.nonzero(labels == j).reshape(-1)
        i = int(members[gn[members].argmin()])
        f_i = float(v[i])
        tol = max(default_tol(objective.dtype), float(gn[i]) / max(1.0, abs(f_i)))
        rep = classify_point(objective, ends[i], tol)
        raw.append((rep, rep.kind, len(members)))
    mins = [r.value for r, kind, _ in raw if kind == "min"]
    lowest = min(mins) if mins else None
    out = []
    for rep, kind, count in raw:
        role = kind
        if kind == "min":
            eq = lambda a, b: abs(a - b) <= scale.gtol * scale.length + default_tol(objective.dtype) * max(1.0, abs(b))
            if known_minimum is not None:
                role = "global_min" if eq(rep.value, known_minimum) else "local_min"
            elif eq(rep.value, lowest) and not lowest_start < lowest - scale.gtol * scale.length:
                role = "lowest_min"
            else:
                role = "local_min"
        out.append(Endpoint(rep.point, rep.value, kind, role, rep.eigenvalues, count, count / M))
    return tuple(out)
