"""``losslens interpolate A.pt B.pt``: the loss on the straight line between two checkpoints."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import typer

from ..validation import check_int
from ._app import JSON_OPTION, command, emit_json
from ._network import (DATA_OPTION, DEVICE_OPTION, INPUTS_OPTION, LOSS_OPTION, MODE_OPTION, OUTPUT_OPTION,
                       TARGETS_OPTION, DataChoice)
from .landscape import distributed_from_env, model_objective, print_summary, progress_bar, write_figures


@command("interpolate")
def interpolate_cmd(
    a: Path = typer.Argument(..., help="Checkpoint at t = 0 (a state dict)."),
    b: Path = typer.Argument(..., help="Checkpoint at t = 1."),
    model: str = typer.Option("digits-mlp", "--model", help="Architecture of both checkpoints."),
    points: int = typer.Option(51, "--points", help="Points on the line (>= 2)."),
    range_: str = typer.Option("0:1", "--range", help="Range of t, e.g. -0.5:1.5."),
    split: str = typer.Option("train", "--split", help="Data: train | test | all."),
    samples: Optional[int] = typer.Option(None, "--samples", help="A fixed random subset of this many "
                                         "samples."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 | float64."),
    data: Optional[str] = DATA_OPTION,
    loss: str = LOSS_OPTION,
    mode: str = MODE_OPTION,
    device: str = DEVICE_OPTION,
    batch_size: int = typer.Option(4096, "--batch-size", help="Samples per forward pass."),
    inputs: Optional[str] = INPUTS_OPTION,
    targets: Optional[str] = TARGETS_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    seed: int = typer.Option(0, "--seed", help="Seed of the data split."),
    out: Optional[Path] = typer.Option(None, "--out", help="Store directory (a rerun resumes)."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the store at --out first."),
    plot: List[Path] = typer.Option([], "--plot", help="Figure file(s): .png/.svg/.pdf."),
    json: bool = JSON_OPTION,
):
    """f(a + t (b − a)) for t in --range (Goodfellow et al. 2015); buffers (e.g. BatchNorm statistics) come from A."""
    from ..landscape.checkpoints import parameters_of
    from ..landscape.grid import MAX_GRID, line_between, parse_range

    check_int("--points", points, lo=2, hi=MAX_GRID)      # named as the user gave it (the grid's check says grid)
    span = parse_range(range_)
    with distributed_from_env():
        obj, settings = model_objective(model, a, split, samples, dtype, seed,
                                        DataChoice(data, loss, mode, device, inputs, targets, output), batch_size)
        xb = parameters_of(obj, b)
        settings = {**settings, "a": str(a), "b": str(b)}
        with progress_bar("interpolate", json) as progress:
            result = line_between(obj, obj.x0, xb, points, span, out=out, fresh=fresh, settings=settings,
                                  progress=progress)
        result = replace(result, figures=write_figures(result, plot, "contour"))
    if int(os.environ.get("RANK", "0")) != 0:
        return
    if json:
        emit_json(result)
        return
    print_summary(result, f"{a} -> {b}")
