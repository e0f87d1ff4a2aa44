"""``losslens points EXPR --box ...``: every critical point in a box, its kind, certificates and the global minimum."""
from __future__ import annotations

from typing import Optional

import typer

from ..validation import InputError, check_choice, check_float
from ._app import JSON_OPTION, command, console, emit_json
from .render import Table, fmt


@command("points")
def points_cmd(
    expr: str = typer.Argument(..., help="An expression such as 'x*cos(pi*x)', or a catalog name (brings its box)."),
    box: Optional[str] = typer.Option(None, "--box", help="The box: -1:2,-3:3 (one lo:hi per variable) or -1:1."),
    vars: Optional[str] = typer.Option(None, "--vars", help="Variable order, e.g. y,x."),
    starts: Optional[int] = typer.Option(None, "--starts", help="Number of quasi-random starts (default 256·n)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the scrambled Sobol starts."),
    time_budget: float = typer.Option(10.0, "--time-budget", help="Seconds for the interval proofs (completeness "
                                                                  "and global minimum)."),
    epsilon: float = typer.Option(1e-6, "--epsilon", help="Tolerance of the global-minimum certificate."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write a figure (.png, .svg or .pdf)."),
    view: str = typer.Option("auto", "--view", help="Figure: auto (curve in 1-D, contour in 2-D) or surface."),
    json: bool = JSON_OPTION,
):
    """Find every critical point in the box: min, max, saddle or degenerate, with certificates."""
    from ..catalog import resolve
    from ..critical import find_critical_points

    obj = resolve(expr, vars, box)
    check_choice("--view", view, ("auto", "surface"))
    time_budget = check_float("--time-budget", time_budget, lo=0, lo_open=True)
    if obj.box is None:
        raise InputError("--box is missing: give one lo:hi per variable, e.g. --box=-2:2,-1:3")
    with console.status("finding critical points ...", spinner="dots"):
        r = find_critical_points(obj, starts=starts, seed=seed, time_budget=time_budget, epsilon=epsilon)
    if plot:
        from ..plot import save
        from ..plot.critical import figure

        save(figure(obj, r, view), plot)
    if json:
        emit_json(r)
        return
    console.print(f"[bold]f[/bold] = {r.expression}   on {obj.box}   ({r.starts} starts, seed {r.seed})", markup=True)
    table = Table(show_header=True, header_style="bold")
    for col in [*obj.names, "f", "|grad|", "eigenvalues", "kind", "certified"]:
        table.add_column(col, justify="right" if col not in ("kind",) else "left")
    for p in r.points:
        table.add_row(*(fmt(v, 12) for v in p.point), fmt(p.value, 10), fmt(p.gradient_norm, 2),
                      ", ".join(fmt(v, 4) for v in p.eigenvalues), p.kind, "yes" if p.certified else "no")
    console.print(table)
    for p in r.points:
        if p.evidence is not None:
            console.print(f"  · at {[float(f'{v:.6g}') for v in p.point]}: {p.evidence['statement']}", markup=False)
    shown = {k: v for k, v in r.counts.items() if v or k != "nonsmooth"}      # kinks only when there are some
    console.print(", ".join(f"{v} {k}" for k, v in shown.items()) + f"   ({len(r.points)} points)")
    console.print(f"[bold]complete: {'yes' if r.complete else 'no'}[/bold]  {r.completeness['reason']}", markup=True)
    gm = r.global_minimum
    if gm is not None:
        console.print(f"[bold]global minimum on the box[/bold]: f = {fmt(gm.value, 12)} at "
                      f"{[float(f'{v:.10g}') for v in gm.point]} ({gm.where})")
        console.print(f"  {gm.reason}", markup=False)
    if r.undefined.get("starts_not_finite"):
        console.print(f"f undefined at {r.undefined['starts_not_finite']} of {r.starts} starts; "
                      f"{100 * (r.undefined.get('box_fraction_undefined') or 0):.3g}% of the box proved undefined "
                      "(skipped)", markup=False)
    console.print(f"[dim]{r.seconds:.2f} s[/dim]")
