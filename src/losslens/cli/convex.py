"""``losslens convex EXPR`` and ``losslens convex-set SET``: prove, refute or say unknown."""
from __future__ import annotations

from typing import Optional

import typer

from ..validation import InputError, check_float, parse_floats
from ._app import JSON_OPTION, command, console, emit_json

BUDGET = typer.Option(10.0, "--time-budget", help="Wall-clock safety net in seconds: work budgets decide, past this "
                                                   "the answer becomes 'unknown'.")
PLOT = typer.Option(None, "--plot", help="Write a figure (.png, .svg or .pdf).")


@command("convex")
def convex_cmd(
    expr: str = typer.Argument(..., help="An expression such as 'x^4 + x^2', or a catalog name."),
    box: Optional[str] = typer.Option(None, "--box", help="Decide on this box: -1:2,0:3 (default: whole space "
                                                          "or the natural domain)."),
    where: Optional[str] = typer.Option(None, "--where", help="Restrict the region: 'x >= 0 and y > 1'."),
    around: Optional[str] = typer.Option(None, "--around", help="Local convexity: largest cube around 1,2."),
    vars: Optional[str] = typer.Option(None, "--vars", help="Variable order, e.g. y,x."),
    time_budget: float = BUDGET,
    seed: int = typer.Option(0, "--seed", help="Seed of the witness search."),
    plot: Optional[str] = PLOT,
    json: bool = JSON_OPTION,
):
    """Convex, strictly/strongly convex (with μ), concave, not_convex (with a checked witness) or unknown."""
    from ..catalog import resolve
    from ..convexity import check_convexity, local_convexity

    obj = resolve(expr, vars)
    time_budget = check_float("--time-budget", time_budget, lo=0, lo_open=True)
    if around is not None:
        given = [name for name, v in (("--box", box), ("--where", where)) if v is not None]
        if given:
            raise InputError(f"--around == {around!r} decides on cubes around that point and takes no "
                             f"{' or '.join(given)}; drop {' and '.join(given)}, or drop --around to decide on the "
                             f"region")
        r = local_convexity(obj, parse_floats("--around", around), time_budget=time_budget, seed=seed)
        if plot:
            _plot_local(obj, r, plot)
        if json:
            emit_json(r)
            return
        console.print(f"[bold]f[/bold] = {obj.expression.text}   around ({', '.join(obj.names)}) = {list(r.point)}")
        console.print(f"[bold]convex on |x − p|∞ <= {r.radius:.6g}[/bold]")
        console.print(r.reason, markup=False)
        return
    r = check_convexity(obj, box, where=where, time_budget=time_budget, seed=seed)
    if plot:
        _plot_function(obj, r, box, plot)
    if json:
        emit_json(r)
        return
    console.print(f"[bold]f[/bold] = {r.expression}   on {r.domain['text']}")
    console.print(f"[bold]{r.verdict}[/bold]" + (f"  μ = {r.modulus:.6g}" if r.modulus is not None else ""))
    console.print(r.reason, markup=False)
    for p in r.proofs[:1]:
        for line in p.trace[:12]:
            console.print(f"  · {line}", markup=False)
        if p.boxes_total:
            console.print(f"  · {p.boxes_total} boxes in the certificate (--json lists them)", markup=False)
    console.print(f"[dim]tried: {', '.join(r.tried)}; {r.seconds:.2f} s[/dim]")


def _plot_function(obj, r, box, path):
    from ..plot import save
    from ..objective import Box
    from ..plot.convexity import function_figure, sublevel_figure

    b = Box.parse(box, obj.n) if box else None
    if obj.n == 1:
        fig = function_figure(obj, r, b)
    else:
        fig = sublevel_figure(obj, b or Box.cube(-2, 2, obj.n), result=r)
    save(fig, path)


def _plot_local(obj, r, path):
    from ..plot import save
    from ..objective import Box
    from ..plot.convexity import function_figure, sublevel_figure

    half = max(2 * (r.failed_radius or r.radius or 1.0), 1e-3)
    b = Box(tuple(p - half for p in r.point), tuple(p + half for p in r.point))
    fig = function_figure(obj, r, b) if obj.n == 1 else sublevel_figure(obj, b)
    if obj.n == 2 and r.radius > 0:
        import matplotlib.patches as patches

        ax = fig.axes[0]
        ax.add_patch(patches.Rectangle((r.point[0] - r.radius, r.point[1] - r.radius), 2 * r.radius, 2 * r.radius,
                                       fill=False, color="C3", lw=1.5, label="proved convex"))
        if r.failure_point:
            ax.scatter([r.failure_point[0]], [r.failure_point[1]], color="k", marker="x", label="Hessian not PSD")
        ax.legend(loc="best", fontsize=8)
    save(fig, path)


@command("convex-set")
def convex_set_cmd(
    set_text: str = typer.Argument(..., metavar="SET", help="Inequalities: 'x^2+y^2<=1 and y>=x^2' ('or' for "
                                                             "unions), or a function with --level."),
    level: Optional[float] = typer.Option(None, "--level", help="SET is a function f: decide {f <= level}."),
    at: Optional[str] = typer.Option(None, "--at", help="Membership of this point: 1,2"),
    vars: Optional[str] = typer.Option(None, "--vars", help="Variable order, e.g. y,x."),
    time_budget: float = BUDGET,
    seed: int = typer.Option(0, "--seed", help="Seed of the witness search."),
    plot: Optional[str] = PLOT,
    json: bool = JSON_OPTION,
):
    """Is the set convex? A proof per constraint, or a witness pair whose mix leaves the set."""
    from ..convexity import check_set
    from ..convexity.sets import parse_set, sublevel_set

    spec = sublevel_set(set_text, level, vars) if level is not None else parse_set(set_text, vars)
    r = check_set(spec, at=parse_floats("--at", at) if at is not None else None, time_budget=time_budget, seed=seed)
    if plot:
        from ..plot import save
        from ..plot.convexity import set_figure

        save(set_figure(spec, r), plot)
    if json:
        emit_json(r)
        return
    console.print(f"set {r.text}   over ({', '.join(r.variables)})", markup=False)
    console.print(f"[bold]{r.verdict}[/bold]")
    console.print(r.reason, markup=False)
    for row in r.constraints:
        console.print(f"  · {row['constraint']}:  g = {row['g']}  is {row['g_verdict']}"
                      + (f"  ({row['rule']})" if row.get("rule") and row["g_verdict"] not in
                         ("convex", "strictly_convex", "strongly_convex", "affine") else ""), markup=False)
    if r.membership is not None:
        inside = r.membership["inside"]
        console.print(f"point {r.membership['point']}: "
                      + ("inside" if inside else ("outside" if inside is False else "undecided (on the boundary)")))
