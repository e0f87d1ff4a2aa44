"""Landscapes and optimizers: the chapter-11 quadratics and Rosenbrock under several optimizers, and the digits MLP's
loss surface."""
from __future__ import annotations

import torch

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
    claims.append(_network_landscape(ctx))
    claims.append(_trajectory_plane(ctx))
    return claims


def _trajectory_plane(ctx: Context) -> Claim:
    from torch import nn

    from ...datasets import digits
    from ...landscape import evaluate
    from ...landscape.directions import pca
    from ...model import ModelObjective
    from ...optimize import run as run_opt
    from ...plot.landscape import trajectory_figure
    from ...zoo import make_model

    split = digits(seed=ctx.seed)
    obj = ModelObjective(make_model("digits-small-mlp", ctx.seed), nn.CrossEntropyLoss(), split.train,
                         subset=512 if ctx.quick else None, seed=ctx.seed)
    steps = 100 if ctx.quick else 300
    r = run_opt(obj, "adam", obj.x0, steps=steps, lr=0.01, stop_at_tol=False)
    snapshots = r.points[:: max(steps // 25, 1)]
    if not torch.equal(snapshots[-1], r.points[-1]):
        snapshots = torch.cat([snapshots, r.points[-1:]])
    dirs = pca(snapshots, 2)
    coords = torch.as_tensor(dirs.info["coordinates"])
    span = float(coords.abs().max()) * 1.2
    plane = evaluate(obj, dirs, grid=21 if ctx.quick else 41, ranges=(-span, span))
    explained = dirs.info["explained_variance_ratio"]
    return Claim(
        "A training trajectory lies almost in a plane: two principal directions of the iterates explain most of "
        "their motion, so the loss on that plane shows the path the optimizer took (Li et al. 2018).",
        f"Full-batch Adam (lr 0.01, {steps} steps) on the small digits MLP; PCA of {len(snapshots)} snapshots; the "
        "loss on the plane of the first two directions with the projected path.",
        verdict(sum(explained) > 0.5 and r.values[-1] < r.values[0]),
        {"explained variance (2 directions)": list(explained), "loss at start": float(r.values[0]),
         "loss at end": float(r.values[-1])},
        (ctx.figure(trajectory_figure(plane), "landscape-trajectory",
                    "Training trajectory of the small digits MLP on its PCA plane over the loss"),),
        "losslens landscape --model digits-small-mlp --dirs pca --trajectory ...")


def _network_landscape(ctx: Context) -> Claim:
    from torch import nn

    from ...datasets import digits
    from ...landscape import evaluate, line_between
    from ...landscape.directions import gaussian
    from ...model import ModelObjective
    from ...plot.landscape import contour_figure, html_surface, line_figure
    from ...zoo import make_model
    from ._network import trained

    steps = 150 if ctx.quick else 1500
    run = trained("digits-mlp", steps, ctx.seed)
    split = digits(seed=ctx.seed)
    subset = 256 if ctx.quick else None
    obj = ModelObjective(run.model, nn.CrossEntropyLoss(), split.train, subset=subset, seed=ctx.seed)
    start = ModelObjective(make_model("digits-mlp", ctx.seed), nn.CrossEntropyLoss(), split.train, subset=subset,
                           seed=ctx.seed).x0
    plane = evaluate(obj, gaussian(obj.x0, 2, seed=ctx.seed, layout=obj.layout), grid=15 if ctx.quick else 41,
                     ranges=(-1.0, 1.0))
    line = line_between(obj, start, obj.x0, points=21 if ctx.quick else 41, span=(-0.5, 1.5))  # t = 0, 1 on grid
    vals = line.values
    t = line.axes[0]
    at = lambda x: float(vals[int(torch.argmin((t - x).abs()))])
    monotone = bool((vals[(t >= 0) & (t <= 1)].diff() <= 1e-6).all())
    figs = (ctx.figure(contour_figure(plane, title="digits MLP: loss on a filter-normalised plane"),
                       "landscape-digits", "Loss of the trained digits MLP on a filter-normalised random plane"),
            ctx.figure(line_figure(line, title="from initialisation (t = 0) to the trained weights (t = 1)"),
                       "landscape-interpolation", "Loss along the straight line from initial to trained weights"))
    html_path = ctx.figdir / "landscape-digits-3d.html"
    html_surface(plane, html_path, "digits MLP loss surface")
    from ..tour import Figure

    figs += (Figure("figures/landscape-digits-3d.html", "Interactive loss surface of the digits MLP", True),)
    return Claim(
        "Around a trained network the loss looks like a basin on a random filter-normalised plane, and along the "
        "straight line from the initial weights it falls without a barrier (Goodfellow et al. 2015).",
        "Loss of the trained digits MLP on a grid over two filter-normalised Gaussian directions (Li et al. 2018), "
        "and along the line from its initial to its trained weights.",
        verdict(plane.argmin() is not None and monotone),
        {"loss at the trained weights": plane.origin_value, "grid minimum": float(plane.values.min()),
         "grid argmin": list(plane.argmin()), "loss at t = 0": at(0.0), "loss at t = 1": at(1.0),
         "monotone decrease on [0, 1]": monotone, "seconds for the grid": plane.seconds},
        figs, "losslens landscape --model digits-mlp --dirs filter --grid 41 --range -1:1")


SECTION = Section("landscape", "Landscapes and optimizers", run)
