"""Landscapes and optimizers: the chapter-11 quadratics and Rosenbrock under several optimizers, and the digits MLP's
loss surface."""
from __future__ import annotations

import sympy as sp
import torch

from ...catalog import resolve
from ...optimize import compare
from ..mathml import formula, op, text
from ..claims import Claim, Context, Section
from ._common import check, claim, tour_command

BETA, ETA, STEPS = 0.5, 0.4, 20


def rates(eta: float, beta: float, lam: float) -> tuple[sp.Expr, sp.Expr]:
    """Exact per-step contraction along an eigendirection with curvature ``lam``: gradient descent |1 − ηλ|, heavy
    ball the spectral radius of [[1 + β − ηλ, −β], [1, 0]] (the largest |z| with z² − (1 + β − ηλ) z + β = 0)."""
    e, b, l_ = (sp.nsimplify(v) for v in (eta, beta, lam))
    z = sp.Symbol("z")
    roots = sp.Poly(z ** 2 - (1 + b - e * l_) * z + b, z).all_roots()
    return sp.Abs(1 - e * l_), max((sp.Abs(r) for r in roots), key=lambda r: float(r))


@check("landscape.momentum", lambda n: n.update({"momentum |x1|": 10 * n["gd |x1|"]}),
       lambda j: {"gd |x1|": abs(j["runs"][0]["points"][-1][0]), "momentum |x1|": abs(j["runs"][1]["points"][-1][0]),
                  "gd final f": j["runs"][0]["values"][-1], "momentum final f": j["runs"][1]["values"][-1]})
def momentum_ok(n: dict) -> bool:
    return (n["momentum |x1|"] < n["gd |x1|"] and n["momentum final f"] < n["gd final f"]
            and n["momentum rate along x1 (exact)"] < n["gd rate along x1 (exact)"])


def _momentum(ctx: Context) -> Claim:
    from ...plot.optimize import trajectories

    obj = resolve("ill-conditioned")
    start = [-5.0, -2.0]
    c = compare(obj, ["gd", "momentum"], start, steps=STEPS, lr=ETA, momentum=BETA)
    gd, mom = c.runs
    r_gd, r_mom = rates(ETA, BETA, 0.2)
    numbers = {"gd final f": gd.final_value, "momentum final f": mom.final_value,
               "gd |x1|": abs(gd.final_point[0].item()), "momentum |x1|": abs(mom.final_point[0].item()),
               "gd rate along x1 (exact)": float(r_gd), "momentum rate along x1 (exact)": float(r_mom),
               "momentum rate, exact form": str(sp.nsimplify(r_mom))}
    fig = trajectories([gd, mom], obj, ["gradient descent", f"momentum β = {BETA}"],
                       f"0.1 x1² + 2 x2²: {STEPS} steps of η = {ETA} from {start}")
    return claim(
        "landscape.momentum",
        "On the badly conditioned quadratic f = 0.1 x1² + 2 x2², a step η = 0.4 that is stable for the steep x2 "
        f"direction makes plain gradient descent crawl along the flat x1 direction; heavy-ball momentum (β = {BETA}) "
        "accumulates speed there and, with the same step and the same budget, ends much closer to the minimum.",
        f"Both methods run {STEPS} steps from {start}; the distance |x1| left along the flat direction, the final "
        "values, and the exact per-step contraction along x1: |1 − ηλ| for gradient descent and the spectral radius "
        "of the heavy-ball recursion for momentum (λ = 0.2, the curvature along x1).",
        numbers, (ctx.figure(fig, "compare-momentum", "Gradient descent and momentum trajectories on 0.1 x1² + 2 x2²"),),
        f"losslens compare ill-conditioned --methods gd,momentum --start -5,-2 --steps {STEPS} --lr {ETA} "
        f"--momentum {BETA}")


@check("landscape.rosenbrock", lambda n: n.update({"newton steps to tolerance": None}),
       lambda j: {f"{r['settings']['method']} final f": r["values"][-1] for r in j["runs"]})
def rosenbrock_ok(n: dict) -> bool:
    newton = n["newton steps to tolerance"]
    return (newton is not None and newton <= 20 and n["gd final f"] > max(n["momentum final f"], n["adam final f"])
            and all(newton < (n[f"{m} steps to tolerance"] or n["steps"]) for m in ("gd", "momentum", "adam")))


def _rosenbrock(ctx: Context) -> Claim:
    from ...plot.optimize import trajectories

    obj, start = resolve("rosenbrock"), [-1.5, 2.0]
    steps = 400 if ctx.quick else 2000
    lrs = {"gd": 1e-3, "momentum": 1e-3, "adam": 0.05, "newton": 1.0}
    c = compare(obj, list(lrs), start, steps=steps, lr=lrs)
    numbers = {"steps": steps}
    for m, r in zip(c.methods, c.runs):
        numbers[f"{m} final f"] = r.final_value
        numbers[f"{m} steps to tolerance"] = r.steps_to_tol
    names = {"gd": "gradient descent", "momentum": "momentum β = 0.9", "adam": "Adam", "newton": "Newton"}
    fig = trajectories(list(c.runs), obj, [names[m] for m in c.methods], f"Rosenbrock: trajectories from {start}")
    return claim(
        "landscape.rosenbrock",
        "In Rosenbrock's curved valley gradient descent is slow; momentum and Adam get further, and Newton's method, "
        "which uses the curvature, needs a handful of steps (at most 20).",
        f"{', '.join(names[m] for m in c.methods)} from {start}, {steps} steps, learning rates {lrs}; the final "
        "values and the steps until the gradient norm falls below the tolerance.",
        numbers, (ctx.figure(fig, "compare-rosenbrock", "Optimizer trajectories on Rosenbrock's function"),),
        f"losslens compare rosenbrock --methods gd,momentum,adam,newton --start -1.5,2 --steps {steps} "
        "--lr gd=0.001,momentum=0.001,adam=0.05,newton=1")


@check("landscape.plane", lambda n: n.update({"grid minimum": n["loss at the trained weights"] - 1.0}))
def plane_ok(n: dict) -> bool:
    origin = n["loss at the trained weights"]
    return (origin <= n["grid minimum"] + 1e-6 * max(1.0, abs(origin)) and n["mean loss on the grid's border"] > origin
            and n["largest rise between neighbours on [0, 1]"] <= 1e-6)


def _network_landscape(ctx: Context) -> Claim:
    from torch import nn

    from ...datasets import digits
    from ...landscape import evaluate, line_between
    from ...landscape.directions import gaussian
    from ...model import ModelObjective
    from ...plot.landscape import contour_figure, html_surface, line_figure
    from ...zoo import make_model
    from ..claims import Figure
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
    vals, t = line.values.to(torch.float64), line.axes[0]
    at = lambda x: float(vals[int(torch.argmin((t - x).abs()))])
    V = plane.values.to(torch.float64)
    border = torch.cat([V[0], V[-1], V[1:-1, 0], V[1:-1, -1]])
    numbers = {"loss at the trained weights": float(plane.origin_value), "grid minimum": float(V.min()),
               "mean loss on the grid's border": float(border.mean()), "loss at t = 0": at(0.0),
               "loss at t = 1": at(1.0),
               "largest rise between neighbours on [0, 1]": float(vals[(t >= 0) & (t <= 1)].diff().max())}
    figs = (ctx.figure(contour_figure(plane, title="digits MLP: loss on a filter-normalised plane"),
                       "landscape-digits", "Loss of the trained digits MLP on a filter-normalised random plane"),
            ctx.figure(line_figure(line, title="from initialisation (t = 0) to the trained weights (t = 1)"),
                       "landscape-interpolation", "Loss along the straight line from initial to trained weights"))
    html_surface(plane, ctx.figdir / "landscape-digits-3d.html", "digits MLP loss surface")
    figs += (Figure("figures/landscape-digits-3d.html", "Interactive loss surface of the digits MLP", True),)
    return claim(
        "landscape.plane",
        "Around a trained network the loss looks like a basin on a random filter-normalised plane (the trained "
        "weights are the lowest point of the grid and the border lies higher), and along the straight line from the "
        "initial weights it falls without a barrier (Goodfellow et al. 2015).",
        "Loss of the trained digits MLP on a grid over two Gaussian directions, each rescaled filter by filter to "
        "the norm of the network's own weights (filter normalisation, Li et al. 2018, so that distances mean the "
        "same in every layer), and along the line from its initial (t = 0) to its trained weights (t = 1).",
        numbers, figs, tour_command("landscape", ctx))


@check("landscape.trajectory", lambda n: n.update({"explained variance (2 directions)": [0.5, 0.2]}))
def trajectory_ok(n: dict) -> bool:
    return sum(n["explained variance (2 directions)"]) > 0.9 and n["loss at end"] < n["loss at start"]


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
    return claim(
        "landscape.trajectory",
        "A training trajectory lies almost in a plane: two principal directions of the iterates explain more than "
        "90% of their motion, so the loss on that plane shows the path the optimizer took (Li et al. 2018).",
        f"Full-batch Adam (lr 0.01, {steps} steps) on the small digits MLP; principal component analysis (PCA) of "
        f"{len(snapshots)} snapshots; the loss on the plane of the first two directions with the projected path.",
        {"explained variance (2 directions)": list(dirs.info["explained_variance_ratio"]),
         "loss at start": float(r.values[0]), "loss at end": float(r.values[-1])},
        (ctx.figure(trajectory_figure(plane), "landscape-trajectory",
                    "Training trajectory of the small digits MLP on its PCA plane over the loss"),),
        tour_command("landscape", ctx))


def intro() -> str:
    x, eta, beta = sp.symbols("x eta beta")
    f = sp.Function("f")
    v = sp.Symbol("v_t")
    return (
        "<p>Chapter 11's later sections compare optimizers on small landscapes. Gradient descent takes the step "
        "against the gradient; heavy-ball momentum keeps a running direction, so steps along a consistently "
        "shallow direction add up:</p>"
        + formula(sp.Symbol("v_{t+1}"), op("="), beta * v + sp.Derivative(f(x), x), op(","), text(""),
                  sp.Symbol("x_{t+1}"), op("="), sp.Symbol("x_t") - eta * sp.Symbol("v_{t+1}"))
        + "<p>For a network, the loss is drawn on a plane through its weights (Li et al. 2018, <i>Visualizing the "
          "Loss Landscape of Neural Nets</i>) and along a line between two weight vectors.</p>")


def run(ctx: Context) -> list[Claim]:
    return [_momentum(ctx), _rosenbrock(ctx), _network_landscape(ctx), _trajectory_plane(ctx)]


SECTION = Section("landscape", "Landscapes and optimizers", run, intro)
