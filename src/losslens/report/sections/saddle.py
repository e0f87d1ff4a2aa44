"""Saddle points: zero gradient without a minimum (D2L 11.1.2.2)."""
from __future__ import annotations

import numpy as np
import torch

from ...catalog import resolve
from ...classify import classify_point
from ..tour import Claim, Context, Section
from ._common import verdict


def run(ctx: Context) -> list[Claim]:
    import matplotlib.pyplot as plt

    claims = []
    cubic = resolve("cubic")
    r = classify_point(cubic, [0.0])
    xs = torch.linspace(-2, 2, 201, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(xs, cubic.values(xs[:, None]), color="#1f4e99")
    ax.scatter([0.0], [r.value], color="#b42318", zorder=3)
    ax.annotate(f"{r.kind}: f'=0, f''={r.eigenvalues[0].item():.2g}", (0.0, r.value), (0.3, -4.5),
                arrowprops=dict(arrowstyle="->"))
    ax.set(xlabel="x", ylabel="f(x) = x^3")
    claims.append(Claim(
        "For f(x) = x^3 the gradient and the second derivative vanish at x = 0, yet it is neither a minimum nor a "
        "maximum: the second-order test cannot decide there.",
        "Gradient and Hessian at 0 by automatic differentiation; the point is classified.",
        verdict(r.kind == "degenerate" and r.gradient_norm == 0.0),
        {"gradient at 0": r.gradient_norm, "f''(0)": r.eigenvalues[0].item(), "kind": r.kind,
         "f(-0.1)": cubic.value([-0.1]).item(), "f(0.1)": cubic.value([0.1]).item()},
        (ctx.figure(fig, "saddle-cubic", "x^3 with its degenerate critical point at 0 marked"),),
        "losslens eval cubic --at 0"))

    sad = resolve("saddle")
    r2 = classify_point(sad, [0.0, 0.0])
    eig = r2.eigenvalues.tolist()
    g = np.linspace(-1, 1, 41)
    Xg, Yg = np.meshgrid(g, g)
    Z = sad.values(torch.tensor(np.stack([Xg.ravel(), Yg.ravel()], 1))).reshape(Xg.shape).numpy()
    fig = plt.figure(figsize=(5.5, 4))
    ax = fig.add_subplot(projection="3d")
    ax.plot_wireframe(Xg, Yg, Z, rstride=2, cstride=2, color="#1f4e99", linewidth=0.6)
    ax.scatter([0], [0], [r2.value], color="#b42318", s=40)
    ax.set(xlabel="x", ylabel="y", zlabel="f")
    figs = [ctx.figure(fig, "saddle-surface", "The surface x^2 - y^2 with the saddle point at the origin")]
    try:
        import plotly.graph_objects as go

        pf = go.Figure(go.Surface(x=Xg, y=Yg, z=Z, colorscale="Viridis"))
        pf.add_trace(go.Scatter3d(x=[0], y=[0], z=[r2.value], mode="markers", marker=dict(size=5, color="red"),
                                  name="saddle"))
        pf.update_layout(margin=dict(l=0, r=0, t=30, b=0), title="f(x, y) = x^2 - y^2")
        figs.append(ctx.html_figure(pf.to_html(include_plotlyjs=True, full_html=True), "saddle-surface-3d",
                                    "Interactive surface of x^2 - y^2"))
    except ImportError:
        pass
    claims.append(Claim(
        "At the origin, f(x, y) = x^2 - y^2 has zero gradient and Hessian eigenvalues of opposite sign: "
        "a minimum along x, a maximum along y, so a saddle point.",
        "Hessian at (0, 0) and its eigenvalues; classification by their signs.",
        verdict(r2.kind == "saddle" and eig[0] < 0 < eig[1]),
        {"Hessian eigenvalues": eig, "kind": r2.kind, "gradient norm": r2.gradient_norm},
        tuple(figs), "losslens eval saddle --at 0,0"))
    claims.append(_network_hessian(ctx))
    return claims


def _network_hessian(ctx: Context) -> Claim:
    from ._network import trained

    steps = 150 if ctx.quick else 1500
    run = trained("digits-mlp", steps, ctx.seed)
    init, end = run.curvature[0], run.curvature[-1]
    ratio = lambda c: abs(min(c["lambda_min"], 0.0)) / c["lambda_max"]
    return Claim(
        "A network's training loss is not convex: its Hessian has negative eigenvalues, and the gradient test alone "
        "cannot tell a saddle from a minimum. Training moves to where the largest curvature dominates.",
        "Largest and smallest Hessian eigenvalues of the digits MLP's training loss (256 samples) by Lanczos with "
        "Hessian-vector products, after the first step (≈ initialisation) and after training, with the curvature verdict.",
        verdict(min(init["lambda_min"], end["lambda_min"]) < 0 and end["lambda_max"] > 0),
        {"λmax after 1 step": init["lambda_max"], "λmin after 1 step": init["lambda_min"], "kind after 1 step": init["kind"],
         f"λmax after {steps} steps": end["lambda_max"], f"λmin after {steps} steps": end["lambda_min"],
         "kind after training": end["kind"], "|λmin|/λmax after 1 step": ratio(init),
         "|λmin|/λmax after training": ratio(end)},
        (), "losslens hessian --model digits-mlp --top 5 --bottom 5")


SECTION = Section("saddle-points", "Saddle points", run)
