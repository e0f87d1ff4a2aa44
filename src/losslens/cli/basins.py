"""``losslens basins EXPR``: many starts as one batch, and the fraction ending at each minimum."""
from __future__ import annotations

from typing import Optional

import typer

from ._choices import OPTIMIZER_METHODS
from ._app import JSON_OPTION, command, console, emit_json
from .optimize import BOX, EXPR, MOMENTUM, NOISE, PLOT, SCHEDULE, SEED, VARS, objectives, step_progress
from .render import Table, fmt, vector


@command("basins")
def basins_cmd(
    expr: str = EXPR,
    method: str = typer.Option("gd", "--method", help=f"One of {', '.join(OPTIMIZER_METHODS)}."),
    starts: int = typer.Option(10000, "--starts", help="Number of starts (a grid for 1-2 variables)."),
    steps: int = typer.Option(1000, "--steps", help="Steps per start (>= 1)."),
    lr: float = typer.Option(0.01, "--lr", help="Learning rate η > 0."),
    layout: Optional[str] = typer.Option(None, "--layout", help="grid (default for 1-2 variables) or random."),
    noise: float = NOISE,
    seed: int = SEED,
    schedule: Optional[str] = SCHEDULE,
    momentum: Optional[float] = MOMENTUM,
    vars: Optional[str] = VARS,
    box: Optional[str] = BOX,
    checkpoint: Optional[str] = typer.Option(None, "--store", help="Save the state here every 100 steps and on "
                                             "Ctrl-C; a rerun with the same arguments resumes from it."),
    plot: Optional[str] = PLOT,
    json: bool = JSON_OPTION,
):
    """Run --starts starts of --method at once; report where they end (local vs global minima, saddles, divergence)."""
    from ..catalog import CATALOG
    from ..optimize import basins

    obj, _ = objectives(expr, vars, box)
    known = CATALOG[expr.strip()].minimum if expr.strip() in CATALOG and vars is None and box is None else None
    with step_progress("basins", steps, json) as advance:
        b = basins(obj, method, None, starts, steps, lr, layout=layout, seed=seed, known_minimum=known,
                   noise=noise, schedule=schedule, momentum=momentum, checkpoint=checkpoint, progress=advance)
    if plot:
        from ..plot import save
        from ..plot.optimize import basin_map
        save(basin_map(b, obj), plot)
    if json:
        emit_json(b)
        return
    table = Table(title=f"{b.settings['method']} on {obj.label}: {b.m} starts in {b.box}, {b.steps} steps",
                  header_style="bold")
    for col in ("end", "kind", "point", "f", "starts", "fraction"):
        table.add_column(col, justify="left" if col in ("end", "kind") else "right")
    for e in sorted(b.endpoints, key=lambda e: -e.count):
        table.add_row(e.role, e.kind, vector(e.point, 6), fmt(e.value, 8), str(e.count), f"{e.fraction:.2%}")
    table.add_row("diverged", "", "", "", str(b.diverged), f"{b.diverged_fraction:.2%}")
    table.add_row("unsettled", "", "", "", str(b.unsettled), f"{b.unsettled_fraction:.2%}")
    console.print(table)
    console.print(f"settled: |grad| <= {fmt(b.scale.gtol, 3)}; ends within {fmt(1e-3 * b.scale.length, 3)} are one "
                  "endpoint" + ("" if known is None else f"; known global minimum {fmt(known, 8)}"))
    if plot:
        console.print(f"figure: {plot}")
