"""``losslens train --model digits-mlp``: train on digits with checkpoints; train vs test, curvature, gradient flow."""
from __future__ import annotations

from typing import Optional

import typer

from ..validation import check_int
from ._app import JSON_OPTION, command, console, emit_json
from ._network import (DATA_OPTION, DEVICE_OPTION, INPUTS_OPTION, LOSS_OPTION, MODEL_HELP, OUTPUT_OPTION,
                       TARGETS_OPTION, DataChoice, build_model, progress_bar, training_setup)
from .render import Table, fmt


@command("train")
def train_cmd(
    model: str = typer.Option("digits-mlp", "--model", help=MODEL_HELP),
    steps: int = typer.Option(500, "--steps", help="Minibatch steps."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate."),
    batch_size: int = typer.Option(64, "--batch-size", help="Minibatch size."),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam or sgd."),
    train_size: Optional[int] = typer.Option(None, "--train-size", help="Use only this many training samples."),
    eval_every: int = typer.Option(50, "--eval-every", help="Evaluate train and test every this many steps."),
    hessian_every: int = typer.Option(0, "--hessian-every", help="Record Hessian extremes every K steps (0: never)."),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Checkpoint file: saved as training goes, "
                                             "resumed from when it exists."),
    checkpoint_every: int = typer.Option(100, "--checkpoint-every", help="Steps between checkpoints."),
    seed: int = typer.Option(0, "--seed", help="Initialisation, data split and minibatches."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write train/test curves (.png/.svg/.pdf)."),
    plot_hessian: Optional[str] = typer.Option(None, "--plot-hessian", help="Write eigenvalues over training."),
    data: Optional[str] = DATA_OPTION,
    loss: str = LOSS_OPTION,
    device: str = DEVICE_OPTION,
    inputs: Optional[str] = INPUTS_OPTION,
    targets: Optional[str] = TARGETS_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    json: bool = JSON_OPTION,
):
    """Train a model on digits (or --data): train vs test loss and accuracy, the gap, Hessian extremes, gradient
    flow. A Dataset or DataLoader is read into memory (minibatches are drawn at random)."""
    from ..diagnose.training import train

    hessian_every = check_int("--hessian-every", hessian_every, lo=0)
    steps = check_int("--steps", steps, lo=1)
    choice = DataChoice(data, loss, "train", device, inputs, targets, output)
    net, loss_fn, train_data, test_data = training_setup(build_model(model, seed=seed), choice, seed, train_size)
    at = range(hessian_every, steps + 1, hessian_every) if hessian_every else ()
    with progress_bar(f"training {model}", steps, enabled=not json) as advance:
        run = train(net, loss_fn, train_data, test_data, steps=steps, batch_size=batch_size,
                    optimizer=optimizer, lr=lr, seed=seed, eval_every=eval_every, curvature_at=at,
                    checkpoint=checkpoint, checkpoint_every=checkpoint_every, progress=advance,
                    inputs={"model": model, **({} if data is None else choice.settings())}, output=output)
    if plot:
        from ..plot import save
        from ..plot.training import training_figure
        save(training_figure(run), plot)
    if plot_hessian and run.curvature:
        from ..plot import save
        from ..plot.curvature import eigenvalues_over_training_figure
        save(eigenvalues_over_training_figure(run), plot_hessian)
    if json:
        emit_json(run)
        return
    h = run.history
    table = Table(header_style="bold", title=f"{model}" + (f" (resumed at step {run.resumed_from})"
                                                           if run.resumed_from else ""))
    for col in ("step", "train loss", "test loss", "train acc", "test acc", "error gap"):
        table.add_column(col, justify="right")
    for i in range(len(h.get("step", []))):
        table.add_row(str(h["step"][i]), fmt(h["train_loss"][i], 4), fmt(h["test_loss"][i], 4),
                      fmt(h["train_accuracy"][i], 4), fmt(h["test_accuracy"][i], 4), fmt(h["error_gap"][i], 3))
    console.print(table)
    for c in run.curvature:
        console.print(f"step {c['step']}: λ_max {fmt(c['lambda_max'], 5)}, λ_min {fmt(c['lambda_min'], 5)} "
                      f"({c['curvature']}, {c['hvps']} HVPs)")
    if run.gradflow is not None:
        console.print(f"gradient flow [bold]{run.gradflow.verdict}[/bold]: {run.gradflow.reason}")
    console.print(f"[bold]{run.verdict}[/bold]: {run.reason}")
    if run.checkpoint:
        console.print(f"checkpoint: {run.checkpoint}")
