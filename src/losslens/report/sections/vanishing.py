"""Vanishing gradients (D2L 11.1.2.3)."""
from __future__ import annotations

import sympy as sp
import torch

from ...plot import new_figure
from ...catalog import resolve
from ..mathml import formula
from ..claims import Claim, Context, Section
from ._common import check, claim, tour_command


@check("vanishing.tanh", lambda n: n.update({"f'(4)": 0.5}),
       lambda j: {"f'(4)": j["gradient"][0]})
def tanh_ok(n: dict) -> bool:
    return abs(n["f'(4)"] - n["1 - tanh(4)^2"]) <= 1e-15 and n["f'(4)"] < 2e-3 <= n["max |f'| on [-4, 4]"]


def _tanh(ctx: Context, f) -> Claim:

    xs = torch.linspace(-4, 4, 401, dtype=torch.float64)
    vals, grads = f.values(xs[:, None]), f.grads(xs[:, None])[:, 0]
    g4 = f.grad([4.0]).item()
    exact = 1 - torch.tanh(torch.tensor(4.0, dtype=torch.float64)).item() ** 2
    fig = new_figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    ax.plot(xs, vals, label="tanh(x)")
    ax.plot(xs, grads, label="tanh'(x) = 1 − tanh(x)²")
    ax.scatter([4.0], [g4], color="#b42318", zorder=3)
    ax.annotate(f"f'(4) = {g4:.4f}", (4.0, g4), xytext=(1.6, 0.45), arrowprops=dict(arrowstyle="->"))
    ax.set(xlabel="x", ylabel="f(x) and f'(x)")
    ax.legend(loc="upper left", fontsize=8)
    return claim(
        "vanishing.tanh",
        "tanh saturates: far from 0 its gradient is tiny (below 0.002 at x = 4, against 1 at x = 0), so a gradient "
        "method started there barely moves (vanishing gradients).",
        "tanh'(4) by automatic differentiation, compared with the closed form 1 − tanh(4)² (to 1e-15).",
        {"f'(4)": g4, "1 - tanh(4)^2": exact, "max |f'| on [-4, 4]": grads.abs().max().item()},
        (ctx.figure(fig, "vanishing-tanh", "tanh and its derivative; the derivative at x = 4 is marked"),),
        "losslens eval tanh --at 4")


@check("vanishing.run", lambda n: n.update({"distance moved": 3.0}),
       lambda j: {"verdict": j["verdict"], "distance moved": abs(j["points"][-1][0] - 4.0)})
def run_ok(n: dict) -> bool:
    return (n["verdict"] == "vanishing_gradient" and n["distance moved"] < 0.1
            and n["value still to lose (f(end) − inf f)"] > 1.9)


def _stalled_run(ctx: Context, f) -> Claim:
    from ...optimize import run as run_opt
    from ...plot.optimize import curves

    r = run_opt(f, "gd", [4.0], steps=100, lr=0.1)
    end = r.final_point.item()
    return claim(
        "vanishing.run",
        "tanh has no minimum: it decreases towards its infimum −1 as x → −∞ without reaching it. Gradient descent "
        "started at x = 4 still stalls — it moves less than 0.1 although the value could fall by almost 2: the "
        "gradient has vanished, not the room for improvement.",
        "100 steps of gradient descent (lr 0.1) and the run's verdict (a 'vanishing gradient' when the gradient "
        "is tiny compared with the function's mean slope over its box while the value still changes); how far the "
        "run moved and how far f(end) lies above inf tanh = −1.",
        {"verdict": r.verdict, "reason": r.reason, "distance moved": abs(end - 4.0),
         "final gradient": r.gradient_norms[-1].item(), "value still to lose (f(end) − inf f)": f.value([end]).item() + 1},
        (ctx.figure(curves([r], ["gd from x = 4"], "tanh: value and gradient norm along the run"),
                    "vanishing-run", "Value and gradient norm of gradient descent on tanh from x = 4"),),
        "losslens optimize tanh --method gd --lr 0.1 --steps 100 --start 4")


def layer_names(model) -> list[str]:
    """'1: Linear 64→32', ... for the layers of ``model`` that hold parameters, in order."""
    out = []
    for name, m in model.named_modules():
        if any(True for _ in m.parameters(recurse=False)):
            shape = f" {m.in_features}→{m.out_features}" if hasattr(m, "in_features") else ""
            out.append(f"{len(out) + 1}: {type(m).__name__}{shape}")
    return out


@check("vanishing.flow", lambda n: n.update({"deep sigmoid: first/last ratio": 1.0}))
def flow_ok(n: dict) -> bool:
    return (n["deep sigmoid verdict"] == "vanishing" and n["ReLU MLP verdict"] == "healthy"
            and n["deep sigmoid: first/last ratio"] < 0.1 <= n["ReLU MLP: first/last ratio"])


def _gradient_flow(ctx: Context) -> Claim:
    from torch import nn

    from ...datasets import digits
    from ...diagnose.gradflow import gradient_flow
    from ...plot import save
    from ...plot.training import gradflow_figure
    from ...zoo import make_model

    split = digits(seed=ctx.seed)
    steps = 20 if ctx.quick else 100
    figs, flows = [], {}
    for name in ("digits-deep-sigmoid", "digits-mlp"):
        model = make_model(name, ctx.seed)
        flows[name] = gradient_flow(model, nn.CrossEntropyLoss(), split.train, steps=steps, seed=ctx.seed)
        title = "8 sigmoid hidden layers" if name == "digits-deep-sigmoid" else "2 ReLU hidden layers"
        path, fig = ctx.figure_path(f"gradflow-{name}", f"Per-layer gradient norms of the MLP with {title}")
        save(gradflow_figure(flows[name], layer_names(model)), path)
        figs.append(fig)
    sig, relu = flows["digits-deep-sigmoid"], flows["digits-mlp"]
    return claim(
        "vanishing.flow",
        "In a deep sigmoid network the gradient shrinks layer by layer on its way back, so the early layers barely "
        "learn; a ReLU network of the same task passes it through.",
        f"Per-layer root-mean-square gradient per parameter over {steps} Adam steps on digits, recorded by hooks; the "
        "median over steps of the first layer's value divided by the last layer's (below 0.1: vanishing).",
        {"deep sigmoid: first/last ratio": sig.ratio, "deep sigmoid verdict": sig.verdict,
         "ReLU MLP: first/last ratio": relu.ratio, "ReLU MLP verdict": relu.verdict},
        tuple(figs), tour_command("vanishing-gradients", ctx))


def intro() -> str:
    x = sp.Symbol("x")
    return (
        "<p>D2L 11.1.2.3: a vanishing gradient can stop optimization long before a minimum. For tanh, the gradient "
        + formula(sp.Eq(sp.Derivative(sp.tanh(x), x), 1 - sp.tanh(x) ** 2), block=False)
        + " is almost zero once |x| is a few units; gradient descent then stalls wherever it stands, whatever "
          "the function does further away. In a deep network the backward pass multiplies such factors layer after "
          "layer.</p>")


def run(ctx: Context) -> list[Claim]:
    f = resolve("tanh")
    return [_tanh(ctx, f), _stalled_run(ctx, f), _gradient_flow(ctx)]


SECTION = Section("vanishing-gradients", "Vanishing gradients", run, intro)
