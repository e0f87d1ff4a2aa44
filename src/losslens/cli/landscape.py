"""``losslens landscape``: a loss surface of a typed function over its box, or of a network around its parameters.

Rerunning with the same ``--out`` resumes; under ``torchrun`` the grid points are shared out over the ranks.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from ..validation import InputError, check_choice
from ._app import JSON_OPTION, command, console, emit_json
from ._network import (DATA_OPTION, DEVICE_OPTION, INPUTS_OPTION, LOSS_OPTION, MODE_OPTION, OUTPUT_OPTION,
                       TARGETS_OPTION, DataChoice, choose_split, dtype_of, network_objective)
from .render import fmt, print_notes


class RateColumn(ProgressColumn):
    """Points per second."""

    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f} pts/s" if task.speed else "- pts/s")


@contextlib.contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar with rate and ETA, shown on rank 0 only; yields the ``progress(done, total)`` callback."""
    rank = int(os.environ.get("RANK", "0"))
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), RateColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=quiet or rank != 0 or not console.is_terminal) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextlib.contextmanager
def distributed_from_env() -> Iterator[None]:
    """Under torchrun (WORLD_SIZE > 1) join a gloo process group (NCCL is for GPU tensors) for the command."""
    import torch.distributed as dist

    started = False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
        started = True
    try:
        yield
    except BaseException:
        if started:            # no barrier: the other ranks may never get here
            dist.destroy_process_group()
        raise
    if started:
        dist.barrier()         # every rank is done with gloo before any tears it down (else a rank can abort)
        dist.destroy_process_group()


def model_objective(name: str, checkpoint: Optional[Path], split: str, subset: Optional[int], dtype: str,
                    seed: int, choice: Optional[DataChoice] = None, batch_size: int = 4096):
    """The mean loss of a built-in (or ``package.module:factory``) model on the digits data or ``--data``, with
    the choice's loss, mode and device; the objective is not sharded over ranks (a landscape shares out grid
    points instead)."""
    from ..landscape.checkpoints import load_into
    from ..zoo import make_model

    choice = choice or DataChoice()
    torch_dtype = dtype_of(dtype)
    model = make_model(name, seed=seed)
    if checkpoint is not None:
        load_into(model, checkpoint)
    obj = network_objective(model, choice, choose_split(choice, split, seed), samples=subset, batch_size=batch_size,
                            dtype=torch_dtype, seed=seed, label=name, distributed=False)
    extra = {} if choice == DataChoice() else choice.settings()
    return obj, {"model": name, "checkpoint": str(checkpoint) if checkpoint else None, "split": split,
                 "subset": subset, **extra, "data": obj.fingerprint()[:16]}


def expression_plane(expr: str, box: Optional[str], vars: Optional[str]):
    """An expression's coordinate axes over its box: origin 0, directions e_1 (, e_2), ranges = the box."""
    import torch

    from ..catalog import resolve
    from ..landscape.directions import Directions
    from ..objective import Box

    obj = resolve(expr, vars)
    if obj.n not in (1, 2):
        raise InputError(f"landscape EXPR needs 1 or 2 variables, {obj.expression.text!r} has {obj.n}; use "
                         f"losslens.landscape.evaluate with directions for planes in higher dimensions")
    b = Box.parse(box, obj.n) if box is not None else obj.box
    if b is None:
        raise InputError(f"--box is missing for {obj.expression.text!r}, e.g. --box=-2:2")
    dirs = Directions(torch.zeros(obj.n, dtype=obj.dtype), torch.eye(obj.n, dtype=obj.dtype), "axes", None,
                      {"names": list(obj.names)})
    # the variable order is a setting of its own: with another order the same box spans other variables
    return obj, dirs, list(zip(b.lo, b.hi)), {"expression": obj.expression.text, "vars": ",".join(obj.names),
                                              "box": str(b)}


def make_directions(obj, dirs: str, seed: int, bias: str, trajectory: List[Path]):
    from ..landscape import directions as D
    from ..landscape.checkpoints import parameters_of

    check_choice("--dirs", dirs, ("filter", "gaussian", "hessian", "pca"))
    if dirs != "pca" and trajectory:
        raise InputError("--trajectory is only used with --dirs pca")
    if dirs in ("filter", "gaussian"):
        return D.gaussian(obj.x0, 2, seed=seed, layout=obj.layout, normalize="filter" if dirs == "filter" else "none",
                          bias=bias)
    if dirs == "hessian":
        return D.hessian_eigen(obj, obj.x0, ("top", "bottom"), seed=seed)
    import torch

    files = expand_trajectory(trajectory)
    return D.pca(torch.stack([parameters_of(obj, f) for f in files]))


def expand_trajectory(paths: List[Path]) -> list[Path]:
    """Checkpoint files in training order: directories contribute their *.pt files in natural name order."""
    from ..expr import natural_order

    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            names = natural_order([f.name for f in p.glob("*.pt")])
            files += [p / n for n in names]
        else:
            files.append(p)
    if len(files) < 3:
        raise InputError(f"--dirs pca needs --trajectory with at least 3 checkpoints, got {len(files)}")
    return files


def write_figures(result, plot: List[Path], kind: str) -> tuple[str, ...]:
    """Draw ``result`` into each file of ``plot`` (rank 0 only); the paths written."""
    from ..plot.landscape import save_figure

    if int(os.environ.get("RANK", "0")) != 0:
        return ()
    return tuple(str(save_figure(result, p, kind)) for p in plot)


def print_summary(result, what: str) -> None:
    d = result.to_dict()
    console.print(f"[bold]{what}[/bold]: {'x'.join(map(str, d['shape']))} grid, {d['directions']['kind']} directions"
                  f"{'' if d['directions']['seed'] is None else ', seed ' + str(d['directions']['seed'])}")
    extremes = "no finite value" if d["argmin"] is None else \
        f"min {fmt(d['min'])} at ({', '.join(fmt(v) for v in d['argmin'])})   max {fmt(d['max'])}"
    console.print(f"f at origin {fmt(result.origin_value)}   {extremes}"
                  + (f"   non-finite {d['non_finite']}" if d["non_finite"] else ""))
    info = result.directions.info
    if "eigenvalues" in info:
        console.print("Hessian eigenvalues " + ", ".join(f"{w} {fmt(v)} ({info['method']})"
                                                      for w, v in zip(info["which"], info["eigenvalues"]))
                      + ("" if info.get("converged", True) else "  [not converged: the directions are estimates]"))
    if "explained_variance_ratio" in info:
        console.print("explained variance " + ", ".join(f"PC{j + 1} {100 * v:.1f}%"
                                                     for j, v in enumerate(info["explained_variance_ratio"])))
    console.print(f"{result.points_computed} points computed in {result.seconds:.2f} s ({result.method}: "
                  f"{result.evaluator}, {result.world_size} rank(s)), {result.chunks_resumed} chunk(s) resumed")
    if result.store:
        console.print(f"store {result.store}")
    for f in result.figures:
        console.print(f"wrote {f}")


@command("landscape")
def landscape_cmd(
    expr: Optional[str] = typer.Argument(None, help="An expression or catalog name (omit with --model)."),
    box: Optional[str] = typer.Option(None, "--box", help="For EXPR: lo:hi per variable, e.g. -2:2,-1:3."),
    vars: Optional[str] = typer.Option(None, "--vars", help="For EXPR: variable order."),
    model: Optional[str] = typer.Option(None, "--model", help="digits-mlp, digits-cnn, ... or package.module:factory"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="State dict to load into the model."),
    dirs: str = typer.Option("filter", "--dirs", help="filter | gaussian | hessian | pca"),
    bias: str = typer.Option("zero", "--bias", help="Filter normalisation of 1-D parameters: zero | copy | filter."),
    trajectory: List[Path] = typer.Option([], "--trajectory", help="Checkpoints (files or a directory) for pca."),
    grid: int = typer.Option(51, "--grid", help="Points per axis (>= 2)."),
    range_: str = typer.Option("-1:1", "--range", help="Coordinate range lo:hi along each direction."),
    seed: int = typer.Option(0, "--seed", help="Seed for directions, model init and data split."),
    split: str = typer.Option("train", "--split", help="Data: train | test | all."),
    samples: Optional[int] = typer.Option(None, "--samples", help="A fixed random subset of this many "
                                         "samples."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 | float64 (models)."),
    data: Optional[str] = DATA_OPTION,
    loss: str = LOSS_OPTION,
    mode: str = MODE_OPTION,
    device: str = DEVICE_OPTION,
    batch_size: int = typer.Option(4096, "--batch-size", help="Samples per forward pass (models)."),
    inputs: Optional[str] = INPUTS_OPTION,
    targets: Optional[str] = TARGETS_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    method: str = typer.Option("auto", "--method", help="auto | fast | values | loop."),
    chunk: Optional[int] = typer.Option(None, "--chunk", help="Points per stored chunk."),
    out: Optional[Path] = typer.Option(None, "--out", help="Store directory: results land chunk by chunk; a rerun "
                                                           "resumes."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the store at --out first."),
    plot: List[Path] = typer.Option([], "--plot", help="Figure file(s): .png/.svg/.pdf, or .html (interactive)."),
    kind: str = typer.Option("contour", "--kind", help="contour | filled | surface"),
    json: bool = JSON_OPTION,
):
    """Evaluate f on a grid: over EXPR's box, or on a plane through a network's parameters."""
    from ..landscape.grid import evaluate, parse_range
    from ..plot.landscape import KINDS

    check_choice("--kind", kind, KINDS)
    if (expr is None) == (model is None):
        raise InputError("give exactly one of EXPR and --model")
    if grid <= 1:
        raise InputError(f"--grid == {grid}, must be an integer >= 2")
    with distributed_from_env():
        if expr is not None:
            obj, directions, ranges, settings = expression_plane(expr, box, vars)
        else:
            ranges = parse_range(range_)
            obj, settings = model_objective(model, checkpoint, split, samples, dtype, seed,
                                            DataChoice(data, loss, mode, device, inputs, targets, output), batch_size)
            directions = make_directions(obj, dirs, seed, bias, trajectory)
        with progress_bar("landscape", json) as progress:
            result = evaluate(obj, directions, grid, ranges, out=out, chunk=chunk, method=method, fresh=fresh,
                              settings=settings, progress=progress)
        result = replace(result, figures=write_figures(result, plot, kind))
    if int(os.environ.get("RANK", "0")) != 0:
        return
    print_notes(result.store_notes)
    if json:
        emit_json(result)
        return
    print_summary(result, settings.get("expression") or settings.get("model"))
