"""``losslens constrained "OBJECTIVE" --st "x+y=1" --st "x^2+y^2<=2"``: solve and explain a constrained problem;
``losslens weight-decay "OBJECTIVE" --lam 0.5``: the weight-decay penalty as a ball constraint."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from ..validation import InputError, parse_floats
from ._choices import CONSTRAINED_METHODS, FIGURE_FORMATS
from ._app import JSON_OPTION, command, console, emit_json
from .render import Table, fmt, vector


@command("constrained")
def constrained_cmd(
    objective: str = typer.Argument(..., help="Objective expression (or catalog name), e.g. 'x^2 + y^2'."),
    st: List[str] = typer.Option([], "--st", help="Constraint relations, e.g. 'x+y=1', 'x^2+y^2<=2', '0 <= x <= 1' "
                                 "or 'x >= 0 and y >= 0' (repeat)."),
    method: str = typer.Option("alm", "--method", help=f"One of {', '.join(CONSTRAINED_METHODS)}."),
    start: Optional[str] = typer.Option(None, "--start", help="Start point, comma-separated (default 0)."),
    vars: Optional[str] = typer.Option(None, "--vars", help="Variable order, e.g. y,x (default: natural order)."),
    tol: float = typer.Option(1e-8, "--tol", help="Every KKT residual must reach this."),
    max_iter: Optional[int] = typer.Option(None, "--max-iter", help="Outer iterations (default per method)."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write the figure (2 variables) to this .png/.svg/.pdf."),
    json: bool = JSON_OPTION,
):
    """Minimise OBJECTIVE subject to --st relations: solution, multipliers, active set, KKT table, Lagrangian."""
    if plot and Path(plot).suffix.lower().lstrip(".") not in FIGURE_FORMATS:   # checked before any work
        raise InputError(f"--plot file {plot!r} must end in .png, .svg or .pdf")
    from ..optimize.constrained import solve_constrained

    start = parse_floats("--start", start) if start is not None else None
    r = solve_constrained(objective, st, method, x0=start, vars=vars, tol=tol, max_iter=max_iter)
    if plot:
        from ..plot import save
        from ..plot.constrained import constrained_figure

        save(constrained_figure(r), plot)
    if json:
        emit_json(r)
        return
    console.print(f"[bold]minimise[/bold] {escape(r.objective)}   over ({', '.join(r.names)})   method {r.method}")
    console.print(f"x* = {vector(r.x, 10)}   f(x*) = {fmt(r.value, 12)}")
    if r.constraints:
        t = Table(title="constraints", header_style="bold")
        for col in ("constraint", "standard form", "c(x*)", "multiplier", "active"):
            t.add_column(col, justify="right" if col in ("c(x*)", "multiplier") else "left")
        for c in r.constraints:
            t.add_row(escape(c.text), escape(c.standard), fmt(c.value, 4), fmt(c.multiplier, 8),
                      "yes" if c.active else "no")
        console.print(t)
    if r.cases:
        t = Table(title="pieces where every non-smooth term lifts exactly", header_style="bold")
        for col in ("piece", "verdict", "f", "x"):
            t.add_column(col, justify="right" if col == "f" else "left")
        for c in r.cases:
            t.add_row(escape(c["case"]) + (" (shown below)" if c["chosen"] else ""), c["verdict"], fmt(c["value"], 10),
                      _numbers(c["x"], 8))
        console.print(t)
    if r.epigraph:
        _print_epigraph(r)
    lifted = f" of the lifted problem over ({', '.join(r.lifted_names)})" if r.lifted_names else ""
    lifted += "".join(f" on the piece {c['case']}" for c in r.cases if c["chosen"])
    t = Table(title=f"KKT residuals{lifted} (tol {r.kkt.tol:.1g})", header_style="bold")
    for col in ("condition", "formula", "residual", "ok"):
        t.add_column(col, justify="right" if col == "residual" else "left")
    for cond, formula, value, ok in r.kkt.rows():
        t.add_row(cond, formula, fmt(value, 3), "yes" if ok else "NO")
    if r.subgradient is not None:
        sub = r.subgradient
        t.add_row("subgradient stationarity", f"{sub.condition} (in {', '.join(r.names)})", fmt(sub.stationarity, 3),
                  "yes" if sub.satisfied else "NO")
    console.print(t)
    console.print(f"Lagrangian L = {escape(r.lagrangian)}")
    if r.second_order is not None:
        console.print(f"second order: {r.second_order.verdict} (reduced Hessian eigenvalues "
                      f"{vector(r.second_order.eigenvalues, 4)})")
    console.print(f"{r.iterations} iterations, {r.evaluations['f']} values, {r.evaluations['grad']} gradients, "
                  f"{r.evaluations['hessian']} Hessians, {r.seconds:.3g} s")
    console.print(f"[bold]{r.verdict}[/bold]: {escape(r.reason)}")
    if plot:
        console.print(f"figure: {escape(plot)}")


def _numbers(values, digits: int) -> str:
    return escape("[" + ", ".join(fmt(float(v), digits) for v in values) + "]")


def _print_epigraph(r) -> None:
    """The lifted variables t_j = φ_j(x), their epigraph rows, and the subgradient each selects."""
    t = Table(title="lifted non-smooth terms (exact epigraph form)", header_style="bold")
    for col in ("variable", "φ(x*)", "t*", "subgradient picked", "in ∂φ", "epigraph rows (multiplier)"):
        t.add_column(col, justify="right" if col in ("φ(x*)", "t*") else "left")
    for a in r.epigraph:
        if a.subgradient is not None:
            pick = f"s = {fmt(a.subgradient, 6)} ∈ [-1, 1]" if abs(a.value) <= 1e-6 * max(1.0, abs(a.t)) \
                else f"s = {fmt(a.subgradient, 6)} (sign of the argument)"
        else:
            pick = "weights " + _numbers(a.weights, 4)
        rows = "; ".join(f"{row['text']} ({fmt(row['multiplier'], 6)})" for row in a.rows)
        t.add_row(escape(f"{a.name} = {a.definition}"), fmt(a.value, 8), fmt(a.t, 8), escape(pick),
                  "yes" if a.member else "NO", escape(rows))
    console.print(t)


@command("weight-decay")
def weight_decay_cmd(
    objective: str = typer.Argument(..., help="Objective expression (or catalog name)."),
    lam: float = typer.Option(..., "--lam", help="Weight-decay strength λ > 0 in f + (λ/2)|x|^2."),
    start: Optional[str] = typer.Option(None, "--start", help="Start point, comma-separated (default 0)."),
    json: bool = JSON_OPTION,
):
    """Weight decay is a ball constraint: argmin f + (λ/2)|x|^2 = argmin f over |x| <= r, multiplier λ."""
    from ..optimize.weight_decay import weight_decay_ball

    start = parse_floats("--start", start) if start is not None else None
    r = weight_decay_ball(objective, lam, x0=start)
    if json:
        emit_json(r)
        return
    console.print(f"penalised   argmin f + ({lam:g}/2)|x|^2 = {vector(r.penalized, 10)}")
    console.print(f"radius      r = |x*(λ)| = {fmt(r.radius, 10)}")
    console.print(f"constrained argmin f s.t. |x| <= r   = {vector(r.constrained, 10)}   multiplier {fmt(r.multiplier, 8)}")
    console.print(f"[bold]{'agree' if r.agree else 'differ'}[/bold]: {escape(r.explanation)}")
