"""Evaluate an objective on a line or plane grid: ``L[i, j] = f(θ₀ + α_i d₁ + β_j d₂)``, chunked, resumable, sharded.

Grid points are numbered in row-major order (``p = i · g₂ + j``) and cut into fixed chunks of ``chunk`` points. A
chunk's values depend only on its points (every evaluator computes each point on its own), so the grid is the same
whether it is computed in one run, resumed after a crash, or shared out over ``torch.distributed`` ranks: rank ``r``
of ``W`` takes every ``W``-th of the chunks still to do, writes them to the store (or gathers them with
``all_gather_object`` when there is no store) and rank 0 assembles ``values.npy``. With a store, all ranks must see
the same directory (one machine, or a shared file system).

Evaluators (see :mod:`losslens.landscape.evaluators`): ``values`` (``obj.values(X)``: column-wise for analytic
objectives, ``vmap`` over ``functional_call`` for models), ``loop`` (one ``obj.value`` per point, the plain
reference), ``fast`` (models: Linear/activation stacks through :mod:`.relu_rows` and the first-layer identity, other
networks through :mod:`.networks`; the result's ``evaluator`` says which) and ``auto`` (``fast`` where it applies,
else ``values``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ..results import Result, header, jsonable
from ..validation import InputError, check_float, check_int
from .directions import Directions
from .choose import make_evaluator
from .store import VALUES, LandscapeStore

Progress = Callable[[int, int], None]   # (points done in this run, points this rank has to do)
MAX_GRID = 1001


@dataclass(frozen=True)
class Landscape(Result):
    """A loss landscape on a grid.

    ``axes``: one coordinate vector per direction, [g₁] (and [g₂]); ``values``: f on the grid, [g₁] or [g₁, g₂]
    (``values[i, j]`` at ``α = axes[0][i], β = axes[1][j]``), in the evaluator's dtype; ``origin_value``: f(θ₀);
    ``directions``: how the plane was made; ``method``: evaluator used; ``seconds``: wall time of this run;
    ``points_computed``: grid points evaluated by this run (the rest were resumed from ``store``);
    ``world_size``: ranks that shared the work; ``store_notes``: one line per stored file that did not verify (a
    changed byte, a truncated file) and was deleted and recomputed; ``evaluator``: the path that computed the values
    (``mlp-rows``, ``mlp``: Linear/activation stacks; ``network``: any other network; ``values``, ``loop``);
    ``inputs``: what was evaluated as the caller names it (the ``settings`` given to :func:`evaluate`: expression
    and box, or model, checkpoint, data; its entries open ``to_dict``); ``figures``: files drawn from it (set by the
    command line). ``verdict``: ``finite`` or ``not_finite`` (some values NaN or infinite).
    """

    axes: tuple[torch.Tensor, ...]
    values: torch.Tensor
    origin_value: float
    directions: Directions
    method: str
    seconds: float
    points_computed: int
    chunks_resumed: int
    world_size: int = 1
    store: str | None = None
    store_notes: tuple[str, ...] = ()
    evaluator: str | None = None
    inputs: dict = field(default_factory=dict)
    figures: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        return "finite" if bool(torch.isfinite(self.values).all()) else "not_finite"

    @property
    def reason(self) -> str:
        bad = int((~torch.isfinite(self.values)).sum())
        return (f"{bad} of {self.values.numel()} grid values are NaN or infinite" if bad
                else f"all {self.values.numel()} grid values are finite")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)

    def argmin(self) -> tuple[float, ...]:
        """Grid coordinates of the smallest finite value."""
        v = torch.where(torch.isfinite(self.values), self.values, torch.inf)
        idx = np.unravel_index(int(torch.argmin(v)), self.shape)
        return tuple(float(a[i]) for a, i in zip(self.axes, idx))

    def to_dict(self) -> dict:
        finite = self.values[torch.isfinite(self.values)]
        return {
            **header(), "verdict": self.verdict, "reason": self.reason, **jsonable(self.inputs),
            "shape": list(self.shape), "axes": [a.tolist() for a in self.axes],
            "values": _json_values(self.values), "origin_value": _finite(self.origin_value),
            "min": _finite(float(finite.min())) if finite.numel() else None,
            "max": _finite(float(finite.max())) if finite.numel() else None,
            "argmin": list(self.argmin()) if finite.numel() else None,
            "non_finite": int(self.values.numel() - finite.numel()),
            "directions": self.directions.to_dict(), "method": self.method, "seconds": self.seconds,
            "points_computed": self.points_computed, "chunks_resumed": self.chunks_resumed,
            "world_size": self.world_size, "store": self.store, "store_notes": list(self.store_notes),
            "evaluator": self.evaluator, "figures": list(self.figures),
        }


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _json_values(values: torch.Tensor):
    return [[_finite(float(u)) for u in row] for row in values] if values.dim() == 2 else \
        [_finite(float(u)) for u in values]


def parse_range(text: str, name: str = "--range") -> tuple[float, float]:
    """``"-1:1"`` -> (-1.0, 1.0), lo < hi."""
    parts = str(text).split(":")
    if len(parts) != 2:
        raise InputError(f"{name} == {text!r}, must be lo:hi such as -1:1")
    lo = check_float(name + " lo", parts[0])
    hi = check_float(name + " hi", parts[1])
    if not lo < hi:
        raise InputError(f"{name} == {text!r}, must have lo < hi")
    return lo, hi


def grid_axes(k: int, grid, ranges) -> tuple[torch.Tensor, ...]:
    """Coordinates along each of ``k`` directions: ``linspace(lo, hi, g)`` in float64.

    ``grid``: int (all axes) or one int per axis, each >= 2; ``ranges``: (lo, hi) for all axes or one per axis.
    """
    grids = [grid] * k if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool) else list(grid)
    if len(grids) != k:
        raise InputError(f"grid == {grid!r}, must be one size or {k} sizes")
    grids = [check_int("grid", g, lo=2, hi=MAX_GRID) for g in grids]
    if ranges and isinstance(ranges[0], (int, float)):
        ranges = [tuple(ranges)] * k
    ranges = list(ranges)
    if len(ranges) != k:
        raise InputError(f"range == {ranges!r}, must be one lo:hi or {k}")
    axes = []
    for g, r in zip(grids, ranges):
        if len(r) != 2:
            raise InputError(f"range == {r!r}, must be (lo, hi)")
        lo, hi = check_float("range lo", r[0]), check_float("range hi", r[1])
        if not lo < hi:
            raise InputError(f"range == {lo:g}:{hi:g}, must have lo < hi")
        ax = torch.linspace(lo, hi, g, dtype=torch.float64)
        # the origin exactly on the grid when the range holds it (linspace gives ±1e-17 there)
        axes.append(torch.where(ax.abs() <= 1e-12 * (hi - lo), torch.zeros_like(ax), ax))
    return tuple(axes)


def grid_coefficients(axes: Sequence[torch.Tensor]) -> torch.Tensor:
    """All grid points' coordinates in row-major order, [Π g_j, k] float64."""
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=1)


def _rank_world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def evaluate(obj, directions: Directions, grid=51, ranges=(-1.0, 1.0), *, out=None, chunk: int | None = None,
             method: str = "auto", fresh: bool = False, settings: dict | None = None,
             progress: Progress | None = None) -> Landscape:
    """f on the grid spanned by ``directions`` around ``directions.origin``.

    ``grid``: points per axis (>= 2); ``ranges``: coordinate interval(s) ``(lo, hi)``; ``out``: store directory (results
    land chunk by chunk; a rerun with the same settings resumes; other settings are refused unless ``fresh``);
    ``chunk``: points per chunk (default: :func:`_default_chunk`); ``method``: evaluator;
    ``settings``: extra manifest entries (e.g. the data fingerprint and model name from the CLI), kept as the
    result's ``inputs``;
    ``progress(done, total)``: called after each chunk.
    """
    t0 = time.perf_counter()
    rank, world = _rank_world()
    axes = grid_axes(directions.k, grid, ranges)
    if directions.origin.numel() != obj.n:
        raise InputError(f"directions live in R^{directions.origin.numel()}, the objective has {obj.n} parameters")
    if getattr(obj, "distributed", False):
        raise InputError("the objective shards its data over ranks; build it with distributed=False: a landscape "
                         "shares out grid points, each rank evaluating the whole data")
    evaluator = make_evaluator(obj, directions, method, axis=axes[-1])
    C = grid_coefficients(axes)
    points = C.shape[0]
    default_chunk = _default_chunk(obj, axes, evaluator.path)
    chunk = check_int("chunk", chunk if chunk is not None else default_chunk, lo=1)
    n_chunks = -(-points // chunk)

    store = None
    if out is not None:
        manifest = {"directions": directions.settings(), "grid": [len(a) for a in axes],
                    "ranges": [[float(a[0]), float(a[-1])] for a in axes], "objective": evaluator.describe(),
                    **(settings or {})}
        store = _open_store(out, manifest, points, chunk, fresh, directions, rank, world)
        done = store.done()
        _barrier(world)  # every rank has read the same done set before anyone writes
    else:
        done = set()
    todo = [i for i in range(n_chunks) if i not in done]
    mine = todo[rank::world]
    total_mine = sum(min((i + 1) * chunk, points) - i * chunk for i in mine)

    computed: dict[int, np.ndarray] = {}
    count = 0
    if progress is not None:
        progress(0, total_mine)
    for i in mine:
        a, b = i * chunk, min((i + 1) * chunk, points)
        vals = evaluator(C[a:b]).detach().cpu().numpy()
        if store is not None:
            store.write_chunk(i, vals)
        else:
            computed[i] = vals
        count += b - a
        if progress is not None:
            progress(count, total_mine)

    if store is not None:
        _barrier(world)
        if rank == 0:
            flat = store.assemble()
        _barrier(world)
        if rank != 0:
            flat = store.read_values()
    else:
        if world > 1:
            import torch.distributed as dist

            gathered: list = [None] * world
            dist.all_gather_object(gathered, computed)
            for part in gathered:
                computed.update(part)
        flat = np.concatenate([computed[i] for i in range(n_chunks)])
    values = torch.from_numpy(flat.copy()).reshape(*[len(a) for a in axes])
    at_zero = [int(torch.nonzero(a == 0)[0]) if bool((a == 0).any()) else None for a in axes]
    if None in at_zero:
        origin_value = float(evaluator(torch.zeros(1, directions.k, dtype=torch.float64))[0])
    else:          # θ₀ is a grid point: its value is already on the grid
        origin_value = float(values[tuple(at_zero)])
    return Landscape(axes, values, origin_value, directions, evaluator.name, time.perf_counter() - t0,
                     count, len(done), world, str(out) if out is not None else None,
                     tuple(store.notes) if store is not None else (), evaluator.path, dict(settings or {}))


def _default_chunk(obj, axes, path: str = "") -> int:
    """Points per chunk: for models, whole rows of the last axis (at least two, so that two threads or ranks share
    rows without splitting one) and at least 32 points; a line is cut into chunks of 32. The ``network`` path keeps
    no state along rows: at least 64 chunks (ranks then share the grid evenly), at most 32 points each. Else 65536."""
    if not hasattr(obj, "layout"):
        return 65536
    if path == "network":
        return max(1, min(32, math.prod(len(a) for a in axes) // 64))
    g = len(axes[-1])
    return g * max(2, -(-32 // g)) if len(axes) > 1 else 32


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def _open_store(out, manifest, points, chunk, fresh, directions, rank, world) -> LandscapeStore:
    """Rank 0 opens (checks or creates) the store and clears partial chunks; the others wait, then share its error."""
    error = None
    store = None
    if rank == 0:
        try:
            store = LandscapeStore.open(out, manifest, points, chunk, fresh=fresh)
            store.discard_partial()
            store.check_file(VALUES)
            store.write_directions(directions.origin, directions.vectors)
        except InputError as err:
            error = str(err)
    if world > 1:
        import torch.distributed as dist

        box = [error]
        dist.broadcast_object_list(box, src=0)
        error = box[0]
    if error is not None:
        raise InputError(error)
    if store is None:
        store = LandscapeStore.open(out, manifest, points, chunk, create=False)
    return store


def line_between(obj, a, b, points: int = 51, span=(0.0, 1.0), **kwargs) -> Landscape:
    """f along the straight line ``a + t (b − a)`` for ``t`` in ``span`` (Goodfellow et al. 2015 interpolation)."""
    from .directions import line

    dtype = getattr(obj, "dtype", torch.float64)
    return evaluate(obj, line(torch.as_tensor(a, dtype=dtype), torch.as_tensor(b, dtype=dtype)), points, span,
                    **kwargs)
