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
    claims.append(_high_dimension(ctx))
    claims.append(_network_hessian(ctx))
    claims.append(_network_critical_points(ctx))
    return claims


def _high_dimension(ctx: Context) -> Claim:
    import math

    from ...plot.saddles import probability_figure
    from ...saddles import run_saddles

    max_n = 8 if ctx.quick else 20
    exp = run_saddles(max_n=max_n, trials=10_000 if ctx.quick else 100_000, seed=ctx.seed,
                      particles=300 if ctx.quick else 1000, replicates=2 if ctx.quick else 4)
    last = exp.rows[-1]
    p_last = math.exp(last.log_p) if last.log_p is not None else None
    return Claim(
        "In high dimension a point with zero gradient is far more likely a saddle than a minimum: the chance that "
        "all n Hessian eigenvalues are positive falls like exp(-θ n²), θ = ln 3 / 4 (Dean & Majumdar 2006), much "
        "faster than the naive 2^-n of independent signs.",
        f"P(a random symmetric (GOE) matrix is positive definite) for n = 1..{max_n}: exact where known, Monte Carlo "
        "with exact binomial intervals, and subset simulation for the rare large-n events; θ fitted to ln P.",
        "confirmed" if exp.verdict == "saddles_dominate" else "unknown",
        {f"P(min), n = {last.n}": p_last, "source": last.source, f"naive 2^-{last.n}": 2.0 ** -last.n,
         "θ fitted": exp.theta_fit, "θ = ln 3 / 4": exp.theta, "checker's verdict": exp.verdict,
         "reason": exp.reason},
        (ctx.figure(probability_figure(exp, "n"), "saddles-probability",
                    "log P(all Hessian eigenvalues positive) against n, with the naive 2^-n and the asymptote"),),
        f"losslens saddles --max-n {max_n}")


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


def _network_critical_points(ctx: Context) -> Claim:
    from ...plot.saddles import index_loss_figure
    from ...saddles import network_saddles

    hidden, samples, path = (3, 100, ()) if ctx.quick else (6, 200, (10,))
    net = network_saddles(hidden=hidden, samples=samples, inits=2, path_steps=path, seed=ctx.seed)
    good = [p for p in net.points if p.converged]
    top = max(good, key=lambda p: p.loss) if good else None
    low = min(good, key=lambda p: p.loss) if good else None
    status = {"saddles_high_minima_low": "confirmed", "not_observed": "refuted"}.get(net.verdict, "unknown")
    return Claim(
        "In a real network, critical points with a high loss are saddles with many directions of descent and those "
        "with a low loss are minima (Dauphin et al. 2014; Pennington & Bahri 2017): the fraction of negative Hessian "
        "eigenvalues grows with the loss.",
        f"Critical points of a 64-{hidden}-10 tanh MLP on {samples} digits images (cross-entropy + weight decay "
        f"{net.weight_decay:g}, float64) by Newton's method on the dense Hessian: minima of the network with only k "
        "hidden units switched on (embedded: a unit with zero weights has zero gradient), solved again on the full "
        "network, and Newton from gradient-descent snapshots. A point counts when |grad| <= "
        f"{net.tol:.1e} ({net.rtol:g} of the gradient scale); its index from the dense Hessian's eigenvalues.",
        status,
        {"searches": len(net.points), "converged": len(good), "distinct critical points": net.distinct,
         "highest loss": None if top is None else top.loss,
         "index at highest loss": None if top is None else top.index,
         "lowest loss": None if low is None else low.loss, "index at lowest loss": None if low is None else low.index,
         "Spearman rho(index, loss)": net.spearman, "p-value": net.spearman_p, "checker's verdict": net.verdict,
         "reason": net.reason},
        (ctx.figure(index_loss_figure(net), "saddles-network-index-loss",
                    "Index (fraction of negative Hessian eigenvalues) against loss at the network's critical points"),),
        f"losslens saddles --max-n 2 --hidden {hidden} --samples {samples} --inits 2")


SECTION = Section("saddle-points", "Saddle points", run)
