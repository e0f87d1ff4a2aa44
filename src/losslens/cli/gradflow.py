"""``losslens gradflow --model digits-deep-sigmoid``: per-layer gradient norms over a few training steps."""
from __future__ import annotations

from typing import Optional

import typer

from ._app import JSON_OPTION, command, console, emit_json
from ._network import (DATA_OPTION, DEVICE_OPTION, INPUTS_OPTION, LOSS_OPTION, MODEL_HELP, OUTPUT_OPTION,
                       TARGETS_OPTION, DataChoice, build_model, training_setup)
from .render import Table, fmt


@command("gradflow")
def gradflow_cmd(
    model: str = typer.Option("digits-deep-sigmoid", "--model", help=MODEL_HELP),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Start from these weights."),
    steps: int = typer.Option(50, "--steps", help="Training steps to watch."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate."),
    batch_size: int = typer.Option(64, "--batch-size", help="Minibatch size."),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam or sgd."),
    seed: int = typer.Option(0, "--seed", help="Initialisation, data split and minibatches."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write the per-layer figure (.png/.svg/.pdf)."),
    data: Optional[str] = DATA_OPTION,
    loss: str = LOSS_OPTION,
    device: str = DEVICE_OPTION,
    inputs: Optional[str] = INPUTS_OPTION,
    targets: Optional[str] = TARGETS_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    json: bool = JSON_OPTION,
):
    """Does the gradient reach the early layers? vanishing, exploding or healthy, with the per-layer norms."""
    from ..diagnose.gradflow import gradient_flow

    choice = DataChoice(data, loss, "train", device, inputs, targets, output)
    net, loss_fn, train_data, _ = training_setup(build_model(model, seed=seed, checkpoint=checkpoint), choice, seed)
    flow = gradient_flow(net, loss_fn, train_data, steps=steps, batch_size=batch_size,
                         optimizer=optimizer, lr=lr, seed=seed,
                         inputs={"model": model, **({} if data is None else choice.settings())}, output=output)
    if plot:
        from ..plot import save
        from ..plot.training import gradflow_figure
        save(gradflow_figure(flow), plot)
    if json:
        emit_json(flow)
        return
    table = Table(header_style="bold", title=f"{model}: RMS gradient per parameter over {len(flow.norms)} steps")
    for col in ("layer", "median", "min", "max"):
        table.add_column(col, justify="right")
    if len(flow.norms):
        med, lo, hi = flow.norms.median(0).values, flow.norms.min(0).values, flow.norms.max(0).values
        for i, name in enumerate(flow.layers):
            if float(hi[i]) == 0:      # never reached by the loss: left out of the verdict
                table.add_row(name, "no gradient (unused by the loss)", "", "")
            else:
                table.add_row(name, fmt(float(med[i]), 3), fmt(float(lo[i]), 3), fmt(float(hi[i]), 3))
    console.print(table)
    console.print(f"[bold]{flow.verdict}[/bold]: {flow.reason}")
