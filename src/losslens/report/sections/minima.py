"""Local vs global minima (D2L 11.1.2.1)."""
from __future__ import annotations

import sympy as sp
import torch

from ...plot import new_figure
from ...catalog import resolve
from ...optimize import basins
from ..mathml import formula, op, text
from ..claims import Claim, Context, Section
from ._common import check, claim, tour_command


@check("minima.certified", lambda n: n.update({"local minimum values": [n["global minimum value"]]}),
       lambda j: {"global minimum at": round(j["global_minimum"]["point"][0], 10),
                  "certified": j["global_minimum"]["certified"], "complete (no other critical point)": j["complete"]})
def certified_ok(n: dict) -> bool:
    return (n["certified"] and n["complete (no other critical point)"] and len(n["local minimum values"]) >= 1
            and all(v > n["global minimum value"] + 1e-9 for v in n["local minimum values"]))


def _certified(ctx: Context, f) -> Claim:
    from ...critical import find_critical_points
    from ...plot.critical import curve

    cp = find_critical_points(f, f.box, seed=ctx.seed)
    gm = cp.global_minimum
    local = [p for p in cp.points if p.kind == "min" and abs(p.value - gm.value) > 1e-9]
    return claim(
        "minima.certified",
        "A local minimum need not be the global one: on [−1, 2], x cos(πx) has a local minimum near x = −0.27 and "
        "its global minimum near x = 1.09.",
        "Every critical point in the box found from quasi-random starts and refined in 50-digit arithmetic, each with "
        "a Krawczyk certificate (Krawczyk 1969: an interval Newton step that maps a small box into itself proves it "
        "holds exactly one zero of f'); completeness and the global minimum proved by interval branch-and-bound.",
        {"critical points": [f"{p.kind} at {p.point[0]:.10f}" for p in cp.points],
         "local minima": [round(p.point[0], 10) for p in local], "local minimum values": [p.value for p in local],
         "global minimum at": round(gm.point[0], 10), "global minimum value": gm.value,
         "certified within": gm.epsilon, "certified": gm.certified, "complete (no other critical point)": cp.complete},
        (ctx.figure(curve(f, cp), "minima-certified",
                    "x cos(πx) on [−1, 2] with every critical point labelled by kind"),),
        "losslens points local-minima")


@check("minima.basins", lambda n: n.update({"minima reached": n["minima reached"][:1]}),
       lambda j: {"minima reached": [{"x": e["point"][0], "f": e["value"], "share of starts": e["fraction"]}
                                     for e in sorted(j["endpoints"], key=lambda e: e["value"]) if e["kind"] == "min"]})
def basins_ok(n: dict) -> bool:
    m = n["minima reached"]
    return len(m) >= 2 and m[0]["f"] < m[1]["f"] - 1e-6 and all(e["share of starts"] > 0 for e in m)


def _basins(ctx: Context, f) -> Claim:
    from ...plot.optimize import basin_map

    starts, steps = (200, 300) if ctx.quick else (1000, 1000)
    b = basins(f, "gd", starts=starts, steps=steps, lr=0.02, seed=ctx.seed)
    mins = sorted((e for e in b.endpoints if e.kind == "min"), key=lambda e: e.value)
    return claim(
        "minima.basins",
        "Which minimum gradient descent finds depends only on where it starts: from some starts on [−1, 2] it ends "
        "in the local minimum of x cos(πx), from others in the global one.",
        f"Gradient descent (lr 0.02, {steps} steps) from {starts} evenly spaced starts over [−1, 2] in one batch; "
        "endpoints classified by the second-order test and grouped; the share of starts ending at each minimum.",
        {"minima reached": [{"x": e.point.item(), "f": e.value, "share of starts": e.fraction} for e in mins],
         "diverged or unsettled": b.diverged_fraction + b.unsettled_fraction},
        (ctx.figure(basin_map(b, f, "x cos(πx): where gradient descent ends, by start"), "basins-local-minima",
                    "Basins of gradient descent on x cos(πx) over [−1, 2]"),),
        f"losslens basins local-minima --method gd --lr 0.02 --steps {steps} --starts {starts}")


def noisy_descent(f, x0: float, sigma: float, walkers: int, steps: int, lr: float, seed: int) -> torch.Tensor:
    """``walkers`` copies of x_{t+1} = x_t − η (f'(x_t) + σ ξ_t), ξ_t ~ N(0, 1) (a gradient with zero-mean noise, as
    a minibatch sees it), then ``steps`` noise-free steps to settle each copy in its basin. Returns the ends [walkers].
    f' is the exact derivative of f's sympy form, evaluated by numpy (one vectorised call per step)."""
    import numpy as np

    (v,) = f.expression.symbols
    df = sp.lambdify(v, sp.diff(f.expression.sympy, v), "numpy")
    rng = np.random.default_rng(seed)
    x = np.full(walkers, float(x0))
    for _ in range(steps):
        x = x - lr * (df(x) + sigma * rng.standard_normal(walkers))
    for _ in range(steps):
        x = x - lr * df(x)
    return torch.from_numpy(x)


@check("minima.noise", lambda n: n.update({"noisy: share that left the local minimum": 0.0}))
def noise_ok(n: dict) -> bool:
    return (n["noise-free: largest distance from the local minimum"] < 1e-6
            and n["noisy: share that left the local minimum"] > 0)


def _noise(ctx: Context, f) -> Claim:

    local, sigma, lr, steps, walkers = -0.2738526868, 4.0, 0.02, 200, 400 if ctx.quick else 2000
    quiet = noisy_descent(f, local, 0.0, 8, steps, lr, ctx.seed)
    ends = noisy_descent(f, local, sigma, walkers, steps, lr, ctx.seed)
    left = (ends - local).abs() > 0.05
    fig = new_figure(figsize=(6, 3.6))
    ax = fig.subplots()
    xs = torch.linspace(-1, 2, 300, dtype=torch.float64)
    ax.plot(xs, f.values(xs[:, None]), color="#1f4e99", label="x cos(πx)")
    inside = ends[(ends > -1) & (ends < 2)]
    ax.scatter(inside, f.values(inside[:, None]) + 0.05 * torch.rand(len(inside), dtype=torch.float64,
               generator=torch.Generator().manual_seed(1)), s=8, color="#b42318", alpha=0.4,
               label=f"where {walkers} noisy runs from x = {local:.3f} settle")
    ax.axvline(local, color="k", ls=":", lw=0.8)
    ax.set(xlabel="x", ylabel="f(x)")
    ax.legend(fontsize=8, loc="upper left")
    return claim(
        "minima.noise",
        "The noise of minibatch gradients can knock the parameters out of a local minimum: started exactly at the "
        "local minimum of x cos(πx), noise-free gradient descent stays put, while noisy steps carry some runs over "
        "the barrier into the global minimum's basin (D2L 11.1.2.1).",
        f"{walkers} runs of {steps} steps x ← x − η(f'(x) + σξ) with η = {lr}, σ = {sigma}, ξ standard normal "
        f"(a gradient with zero-mean noise), then {steps} noise-free steps to settle; the same without noise.",
        {"noise-free: largest distance from the local minimum": float((quiet - local).abs().max()),
         "noisy: share that left the local minimum": float(left.double().mean()),
         "noisy: share that ended at the global minimum": float(((ends - 1.0904).abs() < 0.05).double().mean())},
        (ctx.figure(fig, "minima-noise", "Where noisy gradient descent started at the local minimum settles"),),
        tour_command("local-minima", ctx))


def intro() -> str:
    x, eps = sp.symbols("x epsilon")
    f = sp.Function("f")
    return (
        "<p>D2L 11.1.2.1: for an objective f, a point x is a <i>local minimum</i> if f(x) is smaller than f at any "
        "point in its neighbourhood, and the <i>global minimum</i> if it is smallest over the whole domain:</p>"
        + formula(f(x), op("≤"), f(sp.Symbol("x′")), text("for all x′ with"), sp.Abs(x - sp.Symbol("x′")),
                  op("<"), eps, text("(local);  for all x′ (global)"))
        + "<p>The book's example is f(x) = x cos(πx) on [−1, 2]. Gradient descent only sees its neighbourhood; the "
          "noise of minibatch gradients is what can move it out of a local minimum.</p>")


def run(ctx: Context) -> list[Claim]:
    f = resolve("local-minima")
    return [_certified(ctx, f), _basins(ctx, f), _noise(ctx, f)]


SECTION = Section("local-minima", "Local vs global minima", run, intro)
