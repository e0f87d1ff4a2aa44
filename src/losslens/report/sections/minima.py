"""Local vs global minima (D2L 11.1.2.1)."""
from __future__ import annotations

from ...catalog import resolve
from ...optimize import basins
from ..tour import Claim, Context, Section
from ._common import verdict


def _certified(ctx: Context, f) -> Claim:
    from ...critical import find_critical_points
    from ...plot.critical import curve

    cp = find_critical_points(f, f.box, seed=ctx.seed)
    gm = cp.global_minimum
    mins = [p for p in cp.points if p.kind == "min"]
    local = [p for p in mins if abs(p.value - gm.value) > 1e-9]
    return Claim(
        "A local minimum need not be the global one: on [-1, 2], x cos(pi x) has a local minimum near x = -0.27 and "
        "its global minimum near x = 1.09.",
        "Every critical point in the box found from quasi-random starts, refined in 50-digit arithmetic, each with an "
        "interval (Krawczyk) existence certificate; completeness and the global minimum proved by interval "
        "branch-and-bound.",
        verdict(gm.certified and len(local) >= 1 and cp.complete),
        {"critical points": [f"{p.kind} at {p.point[0]:.10f}" for p in cp.points],
         "local minima": [round(p.point[0], 10) for p in local], "global minimum at": round(gm.point[0], 10),
         "global minimum value": gm.value, "certified within": gm.epsilon, "certified": gm.certified,
         "complete (no other critical point)": cp.complete},
        (ctx.figure(curve(f, cp), "minima-certified",
                    "x cos(pi x) on [-1, 2] with every critical point labelled by kind"),),
        "losslens points local-minima")


def run(ctx: Context) -> list[Claim]:
    from ...plot.optimize import basin_map

    f = resolve("local-minima")
    b = basins(f, "gd", starts=200 if ctx.quick else 1000, steps=300 if ctx.quick else 1000, lr=0.02, seed=ctx.seed)
    mins = sorted((e for e in b.endpoints if e.kind == "min"), key=lambda e: e.value)
    numbers = {f"minimum at x = {e.point.item():.6f}": f"f = {e.value:.6f}, {e.role}, {100 * e.fraction:.1f}% of starts"
               for e in mins}
    numbers["diverged or unsettled"] = f"{100 * (b.diverged_fraction + b.unsettled_fraction):.1f}%"
    return [_certified(ctx, f), Claim(
        "x cos(pi x) on [-1, 2] has a local minimum that is not the global one: gradient descent ends in either, "
        "depending only on where it starts.",
        "Gradient descent from a grid of starts over [-1, 2] (one batch), endpoints classified by the Hessian test "
        "and grouped; the share of starts ending at each minimum.",
        verdict(len(mins) >= 2 and mins[0].value < mins[1].value),
        numbers,
        (ctx.figure(basin_map(b, f, "x cos(pi x): where gradient descent ends, by start"), "basins-local-minima",
                    "Basins of gradient descent on x cos(pi x) over [-1, 2]"),),
        "losslens basins local-minima --method gd --lr 0.02 --steps 1000 --starts 1000")]


SECTION = Section("local-minima", "Local vs global minima", run)
