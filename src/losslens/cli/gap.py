"""``losslens gap --model digits-mlp --sizes 50,100,200,400,800,1500``: generalisation gap vs training-set size."""
from __future__ import annotations

from typing import Optional

import typer

from ..validation import InputError
from ._app import JSON_OPTION, command, console, emit_json
from ._network import (DATA_OPTION, DEVICE_OPTION, INPUTS_OPTION, LOSS_OPTION, MODEL_HELP, OUTPUT_OPTION,
                       TARGETS_OPTION, DataChoice, progress_bar, training_setup)
from .render import Table, fmt


def parse_sizes(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise InputError(f"--sizes == {text!r}, must be comma-separated integers such as 50,100,200") from None


@command("gap")
def gap_cmd(
    model: str = typer.Option("digits-mlp", "--model", help=MODEL_HELP),
    sizes: str = typer.Option("50,100,200,400,800,1347", "--sizes",
                              help="Training-set sizes (at most 1348 on the digits)."),
    repeats: int = typer.Option(3, "--repeats", help="Runs per size (error bars)."),
    steps: int = typer.Option(300, "--steps", help="Training steps per run."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate (Adam)."),
    seed: int = typer.Option(0, "--seed", help="First seed; repeat r uses seed + r."),
    store: Optional[str] = typer.Option(None, "--store", help="JSON file: finished runs land here; a rerun resumes."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write the gap figure (.png/.svg/.pdf)."),
    data: Optional[str] = DATA_OPTION,
    loss: str = LOSS_OPTION,
    device: str = DEVICE_OPTION,
    inputs: Optional[str] = INPUTS_OPTION,
    targets: Optional[str] = TARGETS_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    json: bool = JSON_OPTION,
):
    """Training error vs test error as the training set grows, with a fitted rate gap ≈ C·N^(−a)."""
    from ..diagnose.gap import generalization_gap
    from ..zoo import make_model

    size_list = parse_sizes(sizes)
    choice = DataChoice(data, loss, "train", device, inputs, targets, output)
    net, loss_fn, train_data, test_data = training_setup(make_model(model), choice, seed)   # fail fast
    if test_data is None:
        raise InputError(f"--data {data!r} has no test split; the gap needs one: return (train, test) or "
                         "{'train': ..., 'test': ...}")
    user = dict(data=(train_data, test_data), loss_fn=loss_fn, data_label=f"{data} {loss}") if data else {}
    move = lambda m: m.to(next(net.parameters()).device) if any(True for _ in net.parameters()) else m
    total = len(set(size_list)) * max(repeats, 1)
    with progress_bar(f"gap study {model}", total, enabled=not json) as advance:
        try:
            study = generalization_gap(lambda s: move(make_model(model, seed=s)), size_list, repeats=repeats,
                                       steps=steps, lr=lr, seed=seed, store=store, progress=advance,
                                       inputs={"model": model, **({} if data is None else choice.settings())},
                                       output=output, **user)
        except InputError as err:      # the API's argument names -> this command's flags
            text = str(err)
            raise InputError("--" + text if text.startswith(("sizes ==", "repeats ==")) else text) from None
    if plot:
        from ..plot import save
        from ..plot.training import gap_figure
        save(gap_figure(study), plot)
    if json:
        emit_json(study)
        return
    table = Table(header_style="bold", title=f"{model}: {study.repeats} run(s) per size, mean ± std")
    for col in ("N", "train error", "test error", "error gap", "loss gap"):
        table.add_column(col, justify="right")
    for i, n in enumerate(study.sizes):
        table.add_row(str(n), f"{fmt(study.train_error[i], 3)} ± {fmt(study.train_error_std[i], 2)}",
                      f"{fmt(study.test_error[i], 3)} ± {fmt(study.test_error_std[i], 2)}",
                      f"{fmt(study.error_gap[i], 3)} ± {fmt(study.error_gap_std[i], 2)}",
                      f"{fmt(study.loss_gap[i], 3)} ± {fmt(study.loss_gap_std[i], 2)}")
    console.print(table)
    console.print(f"[bold]{study.verdict}[/bold]: {study.reason} (R² {fmt(study.r2, 3)})")
