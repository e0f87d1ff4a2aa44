"""``losslens eval EXPR --at 1,2``: value, gradient, Hessian, eigenvalues and what the point is."""
from __future__ import annotations

from typing import Optional

import typer

from ..validation import check_float
from ._app import JSON_OPTION, command, console, emit_json
from .render import fmt, matrix_table, vector


@command("eval")
def eval_cmd(
    expr: str = typer.Argument(..., help="An expression such as 'x^2 - y^2', or a catalog name."),
    at: str = typer.Option(..., "--at", help="The point, comma-separated: 1,2"),
    vars: Optional[str] = typer.Option(None, "--vars", help="Variable order, e.g. y,x (default: natural order)."),
    tol: Optional[float] = typer.Option(None, "--tol", help="Criticality tolerance (default sqrt(eps))."),
    json: bool = JSON_OPTION,
):
    """Evaluate at a point and classify it: min, max, saddle, degenerate or not_critical."""
    from ..catalog import resolve
    from ..classify import classify_point

    obj = resolve(expr, vars)
    if tol is not None:
        tol = check_float("--tol", tol, lo=0, lo_open=True)
    report = classify_point(obj, obj.point(at, "--at"), tol)
    if json:
        emit_json(report)
        return
    console.print(f"[bold]f[/bold] = {obj.expression.text}   at ({', '.join(obj.names)}) = {vector(report.point)}")
    console.print(f"value       {fmt(report.value, 12)}")
    console.print(f"gradient    {vector(report.gradient, 8)}   |grad| = {fmt(report.gradient_norm, 3)}")
    console.print(matrix_table(report.hessian, obj.names, "Hessian"))
    console.print(f"eigenvalues {vector(report.eigenvalues, 8)}")
    console.print(f"[bold]{report.kind}[/bold]: {report.reason}  (tol {fmt(report.tol, 3)}, "
                  f"zero eigenvalue tol {fmt(report.zero_tol, 3)})")
