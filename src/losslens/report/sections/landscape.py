"""Landscapes and optimizers: the chapter-11 quadratics and Rosenbrock under several optimizers, and the digits MLP's
loss surface."""
from __future__ import annotations

from ...catalog import resolve
from ...optimize import compare
from ..tour import Claim, Context, Section
from ._common import verdict


def _comparison(ctx: Context, name: str, start, steps: int, lrs: dict, statement: str, want) -> Claim:
    from ...plot.optimize import trajectories

    obj = resolve(name)
    c = compare(obj, list(lrs), start, steps=steps, lr=lrs)
    rows = {m: f"final f = {r.final_value:.3g}, steps to tolerance = {r.steps_to_tol}, {r.verdict.verdict}"
            for m, r in zip(c.methods, c.runs)}
    fig = trajectories(list(c.runs), obj, list(c.methods), f"{name}: trajectories from {list(start)}")
    return Claim(statement, f"{', '.join(c.methods)} from {list(start)}, {steps} steps, learning rates {lrs}.",
                 verdict(want(dict(zip(c.methods, c.runs)))), rows,
                 (ctx.figure(fig, f"compare-{name}", f"Optimizer trajectories on {name}"),),
                 f"losslens compare {name} --methods {','.join(c.methods)} --start {','.join(map(str, start))} "
                 f"--steps {steps}")


def run(ctx: Context) -> list[Claim]:
    claims = [
        _comparison(ctx, "ill-conditioned", [-5.0, -2.0], 50, {"gd": 0.4, "momentum": 0.4, "adam": 0.5},
                    "On the badly conditioned quadratic 0.1 x1^2 + 2 x2^2 plain gradient descent with a step that "
                    "is stable for the steep direction crawls along the flat one; momentum accumulates speed there.",
                    lambda r: r["momentum"].final_value < r["gd"].final_value or r["gd"].final_value < 1e-3),
        _comparison(ctx, "rosenbrock", [-1.5, 2.0], 2000 if not ctx.quick else 1500,
                    {"gd": 1e-3, "momentum": 1e-3, "adam": 0.05, "newton": 1.0},
                    "In Rosenbrock's curved valley gradient descent is slow; momentum and Adam do better and "
                    "Newton's method, which uses the curvature, needs a handful of steps.",
                    lambda r: r["newton"].verdict.verdict == "converged"
                    and r["newton"].steps < min(x.steps for m, x in r.items() if m != "newton")),
    ]
    return claims


SECTION = Section("landscape", "Landscapes and optimizers", run)
