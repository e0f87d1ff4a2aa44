"""``losslens project --set l1 --radius 1 --at 0.8,0.6``: exact Euclidean projection onto a convex set."""
from __future__ import annotations

from typing import Optional

import typer

from ..validation import InputError, parse_floats
from ._choices import PROJECTION_SETS
from ._app import JSON_OPTION, command, console, emit_json
from .render import fmt, vector


def _matrix(text: str) -> list[list[float]]:
    rows = [parse_floats("--A", r) for r in text.split(";")]
    if len({len(r) for r in rows}) != 1:
        raise InputError(f"--A == {text!r}: rows have different lengths, write rows as 1,2;3,4")
    return rows


@command("project")
def project_cmd(
    set: str = typer.Option(..., "--set", help=f"One of {', '.join(PROJECTION_SETS)}."),
    at: str = typer.Option(..., "--at", help="The point to project, comma-separated."),
    radius: Optional[float] = typer.Option(None, "--radius", help="Radius of the l1 or l2 ball."),
    center: Optional[str] = typer.Option(None, "--center", help="Center of the ball (default 0)."),
    lo: Optional[str] = typer.Option(None, "--lo", help="Box lower bounds (one number, or one per coordinate)."),
    hi: Optional[str] = typer.Option(None, "--hi", help="Box upper bounds (one number, or one per coordinate)."),
    total: float = typer.Option(1.0, "--total", help="Simplex sum (1: probability simplex)."),
    A: Optional[str] = typer.Option(None, "--A", help="Affine: rows of A as '1,1;0,1'."),
    a: Optional[str] = typer.Option(None, "--a", help="Halfspace normal a in a.y <= b."),
    b: Optional[str] = typer.Option(None, "--b", help="Affine right side b, or the halfspace offset."),
    json: bool = JSON_OPTION,
):
    """Project a point onto a box, l2 or l1 ball, simplex, affine subspace or halfspace (exact)."""
    from ..optimize.projections import make_set, project

    x = parse_floats("--at", at)
    s = make_set(set, len(x), radius=radius, center=parse_floats("--center", center) if center else None,
                 lo=parse_floats("--lo", lo) if lo else None, hi=parse_floats("--hi", hi) if hi else None,
                 total=total, A=_matrix(A) if A else None, b=parse_floats("--b", b) if b else None,
                 a=parse_floats("--a", a) if a else None)
    r = project(s, x)
    if json:
        emit_json(r)
        return
    console.print(f"set        {set}")
    console.print(f"point      {vector(r.point, 10)}")
    console.print(f"projection {vector(r.projection, 10)}")
    console.print(f"distance   {fmt(r.distance, 10)}{'   (already inside)' if r.inside else ''}")
