"""Vanishing gradients (D2L 11.1.2.3)."""
from __future__ import annotations

import torch

from ...catalog import resolve
from ..tour import Claim, Context, Section
from ._common import verdict


def run(ctx: Context) -> list[Claim]:
    import matplotlib.pyplot as plt

    f = resolve("tanh")
    xs = torch.linspace(-4, 4, 401, dtype=torch.float64)
    vals = f.values(xs[:, None])
    grads = f.grads(xs[:, None])[:, 0]
    g4 = f.grad([4.0]).item()
    exact = 1 - torch.tanh(torch.tensor(4.0, dtype=torch.float64)).item() ** 2
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.plot(xs, vals, label="tanh(x)")
    ax.plot(xs, grads, label="tanh'(x)")
    ax.scatter([4.0], [g4], color="#b42318", zorder=3)
    ax.annotate(f"f'(4) = {g4:.4f}", (4.0, g4), (1.2, 0.55), arrowprops=dict(arrowstyle="->"))
    ax.set(xlabel="x")
    ax.legend()
    return [Claim(
        "tanh saturates: far from 0 its gradient is tiny, so a gradient method started at x = 4 barely moves "
        "(vanishing gradients).",
        "tanh'(4) by automatic differentiation, compared with the closed form 1 - tanh(4)^2.",
        verdict(abs(g4 - exact) <= 1e-15 and g4 < 2e-3),
        {"f'(4)": g4, "1 - tanh(4)^2": exact, "max |f'| on [-4, 4]": grads.abs().max().item()},
        (ctx.figure(fig, "vanishing-tanh", "tanh and its derivative; the derivative at x = 4 is marked"),),
        "losslens eval tanh --at 4"), _stalled_run(ctx, f), _gradient_flow(ctx)]


def _gradient_flow(ctx: Context) -> Claim:
    from torch import nn

    from ...datasets import digits
    from ...diagnose.gradflow import gradient_flow
    from ...plot.training import gradflow_figure
    from ...zoo import make_model

    split = digits(seed=ctx.seed)
    steps = 20 if ctx.quick else 100
    flows = {name: gradient_flow(make_model(name, ctx.seed), nn.CrossEntropyLoss(), split.train, steps=steps,
                                 seed=ctx.seed) for name in ("digits-deep-sigmoid", "digits-mlp")}
    figs = []
    for name, flow in flows.items():
        path, fig = ctx.figure_path(f"gradflow-{name}", f"Per-layer gradient norms of {name}")
        gradflow_figure(flow, path)
        figs.append(fig)
    sig, relu = flows["digits-deep-sigmoid"], flows["digits-mlp"]
    return Claim(
        "In a deep sigmoid network the gradient shrinks layer by layer on its way back, so the early layers barely "
        "learn; a ReLU network of the same task passes it through.",
        f"Per-layer RMS gradient norms over {steps} Adam steps on digits, recorded by hooks; the ratio of the first "
        "to the last layer and the verdict.",
        verdict(sig.verdict == "vanishing" and relu.verdict == "healthy"),
        {"deep sigmoid: first/last ratio": sig.ratio, "deep sigmoid verdict": sig.verdict,
         "ReLU MLP: first/last ratio": relu.ratio, "ReLU MLP verdict": relu.verdict},
        tuple(figs), "losslens gradflow --model digits-deep-sigmoid")


def _stalled_run(ctx: Context, f) -> Claim:
    from ...optimize import run as run_opt
    from ...plot.optimize import curves

    r = run_opt(f, "gd", [4.0], steps=100, lr=0.1)
    moved = abs(r.final_point.item() - 4.0)
    return Claim(
        "Gradient descent on tanh started at x = 4 stalls although the minimum lies far to the left: the gradient "
        "has vanished, not the problem.",
        "100 steps of gradient descent (lr 0.1) and the run's verdict, with the thresholds relative to the "
        "function's mean slope over its box.",
        verdict(r.verdict.verdict == "vanishing_gradient"),
        {"verdict": r.verdict.verdict, "reason": r.verdict.reason, "distance moved": moved,
         "final gradient": r.gradient_norms[-1].item()},
        (ctx.figure(curves([r], ["gd from x = 4"], "tanh: value and gradient norm along the run"),
                    "vanishing-run", "Value and gradient norm of gradient descent on tanh from x = 4"),),
        "losslens optimize tanh --method gd --lr 0.1 --steps 100 --start 4")


SECTION = Section("vanishing-gradients", "Vanishing gradients", run)
