"""``losslens hessian --model digits-mlp [--checkpoint F] [--top 5 --bottom 5 --trace --density]``."""
from __future__ import annotations

from typing import Optional

import typer

from ..validation import check_float, check_int
from ._app import JSON_OPTION, command, console, emit_json
from ._network import (DATA_OPTION, DEVICE_OPTION, INPUTS_OPTION, LOSS_OPTION, MODE_OPTION, MODEL_HELP,
                       OUTPUT_OPTION, TARGETS_OPTION, DataChoice, build_model, choose_split, dtype_of,
                       network_objective)
from .render import Table, fmt


@command("hessian")
def hessian_cmd(
    model: str = typer.Option("digits-mlp", "--model", help=MODEL_HELP),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Weights: a training checkpoint or a state "
                                             "dict (loaded with weights_only=True)."),
    top: int = typer.Option(5, "--top", help="How many largest eigenvalues."),
    bottom: int = typer.Option(5, "--bottom", help="How many smallest (most negative) eigenvalues."),
    trace: bool = typer.Option(False, "--trace", help="Add a Hutch++ trace estimate with a 95% interval."),
    trace_hvps: int = typer.Option(99, "--trace-hvps", help="Products for the trace."),
    density: bool = typer.Option(False, "--density", help="Add an SLQ spectral density."),
    probes: int = typer.Option(4, "--probes", help="SLQ probes."),
    slq_steps: int = typer.Option(50, "--slq-steps", help="Lanczos steps per SLQ probe."),
    samples: Optional[int] = typer.Option(None, "--samples", help="Use a fixed random subset of the training set."),
    data: Optional[str] = DATA_OPTION,
    loss: str = LOSS_OPTION,
    mode: str = MODE_OPTION,
    device: str = DEVICE_OPTION,
    batch_size: int = typer.Option(4096, "--batch-size", help="Samples per forward pass (memory; the loss does not "
                                   "depend on it in eval mode). A DataLoader keeps its own batches."),
    inputs: Optional[str] = INPUTS_OPTION,
    targets: Optional[str] = TARGETS_OPTION,
    output: Optional[str] = OUTPUT_OPTION,
    max_hvps: Optional[int] = typer.Option(None, "--max-hvps", help="Bound on Lanczos products."),
    tol: Optional[float] = typer.Option(None, "--tol", help="Relative residual tolerance (default sqrt(eps))."),
    memory: Optional[float] = typer.Option(None, "--memory", help="GB for the Lanczos/SLQ vectors (default half "
                                           "the available memory; a smaller basis restarts)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 or float64."),
    seed: int = typer.Option(0, "--seed", help="Model initialisation, data split and random vectors."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write the spectral density figure (needs --density)."),
    json: bool = JSON_OPTION,
):
    """Extreme Hessian eigenvalues of the training loss (Lanczos), trace and density; min, saddle or degenerate."""
    from ..curvature import hessian_report
    from ..curvature.memory import GB

    check_int("--trace-hvps", trace_hvps, lo=6)
    choice = DataChoice(data, loss, mode, device, inputs, targets, output)
    net = build_model(model, seed=seed, checkpoint=checkpoint)
    obj = network_objective(net, choice, choose_split(choice, "train", seed), samples=samples, batch_size=batch_size,
                            dtype=dtype_of(dtype), seed=seed, label=model)
    r = hessian_report(obj, obj.x0, top=top, bottom=bottom, tol=tol, max_hvps=max_hvps,
                       trace_hvps=trace_hvps if trace else 0, density=density, probes=probes, steps=slq_steps,
                       seed=seed, memory=None if memory is None else check_float("--memory", memory, lo=0, lo_open=True) * GB,
                       inputs={"model": model, "checkpoint": checkpoint, **choice.settings()})
    if plot:
        if r.density is None:
            from ..validation import InputError
            raise InputError("--plot draws the spectral density: add --density")
        from ..plot import save
        from ..plot.curvature import density_figure
        save(density_figure(r), plot)
    if json:
        emit_json(r)
        return
    console.print(f"[bold]{model}[/bold]: {obj.n} parameters, loss on {obj.num_samples} training samples "
                  f"({dtype}, {obj.device}{', streamed' if obj.streaming else ''}); loss {fmt(r.value, 6)}, |grad| {fmt(r.gradient_norm, 3)}")
    if r.eigen is not None:
        e = r.eigen
        table = Table(header_style="bold")
        for col in ("", "eigenvalue", "residual", "converged"):
            table.add_column(col, justify="right")
        for name, vals, res, ok in (("top", e.top_values, e.top_residuals, e.top_converged),
                                    ("bottom", e.bottom_values, e.bottom_residuals, e.bottom_converged)):
            for i, (v, rr, c) in enumerate(zip(vals.tolist(), res.tolist(), ok.tolist())):
                table.add_row(f"{name} {i + 1}", fmt(v, 6), fmt(rr, 2), "yes" if c else "[red]no[/red]")
        console.print(table)
        console.print(f"Lanczos: {e.hvps} HVPs, {e.iterations} iterations, tol {fmt(e.tol, 2)} × {fmt(e.scale, 3)}")
    if r.trace is not None:
        t = r.trace
        console.print(f"trace ≈ {fmt(t.estimate, 6)}  95% interval [{fmt(t.ci_low, 6)}, {fmt(t.ci_high, 6)}]  "
                      f"({t.method}, {t.hvps} HVPs)")
    if r.density is not None:
        d = r.density
        console.print(f"density: {d.probes} probes × {d.steps} steps, {d.hvps} HVPs; share of negative eigenvalues "
                      f"≈ {d.negative_fraction:.3f}; smoothing σ = {fmt(d.sigma, 3)}")
    console.print(f"[bold]{r.kind}[/bold] ({r.curvature}): {r.reason}")
