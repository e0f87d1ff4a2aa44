"""Saddle points: zero gradient without a minimum (D2L 11.1.2.2)."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch

from ...plot import new_figure
from ...catalog import resolve
from ...classify import classify_point
from ..mathml import formula, op, text
from ..claims import Claim, Context, Section
from ._common import check, claim, tour_command


def _exact_eigenvalues(expr: str, names: str, at: dict) -> list:
    """Eigenvalues of the Hessian of ``expr`` at ``at``, exactly (sympy), sorted."""
    xs = sp.symbols(names)
    H = sp.hessian(sp.sympify(expr.replace("^", "**")), xs).subs(at)
    return sorted(H.eigenvals(multiple=True), key=float)


@check("saddle.cubic", lambda n: n.update({"f(0.1)": -0.001}),
       lambda j: {"kind": j["kind"], "gradient at 0": j["gradient_norm"], "f''(0)": j["eigenvalues"][0]})
def cubic_ok(n: dict) -> bool:
    return (n["kind"] == "degenerate" and n["gradient at 0"] == 0 and n["f''(0)"] == 0
            and n["f(-0.1)"] < n["f(0)"] < n["f(0.1)"] and n["f'''(0) (exact)"] != 0)


def _cubic(ctx: Context) -> Claim:

    cubic = resolve("cubic")
    r = classify_point(cubic, [0.0])
    x = sp.Symbol("x")
    third = int(sp.diff(x ** 3, x, 3).subs(x, 0))
    xs = torch.linspace(-2, 2, 201, dtype=torch.float64)
    fig = new_figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    ax.plot(xs, cubic.values(xs[:, None]), color="#1f4e99", label="f(x) = x³")
    ax.scatter([0.0], [r.value], color="#b42318", zorder=3)
    ax.annotate("f'(0) = f''(0) = 0, f'''(0) = 6:\nneither minimum nor maximum", (0.0, r.value), xytext=(0.15, -6.5),
                arrowprops=dict(arrowstyle="->"), fontsize=9)
    ax.set(xlabel="x", ylabel="f(x)")
    ax.legend(loc="upper left", fontsize=8)
    return claim(
        "saddle.cubic",
        "For f(x) = x³ the first and second derivatives vanish at x = 0, yet it is neither a minimum nor a maximum: f "
        "is below f(0) on the left and above it on the right. D2L calls such a point a saddle point. The "
        "second-order test (the signs of the Hessian's eigenvalues) cannot decide there, so losslens reports it as "
        "'degenerate' — a zero eigenvalue — and the sign change of f around 0, or the non-zero third derivative, "
        "settles that it is a saddle in the book's sense.",
        "Gradient and Hessian at 0 by automatic differentiation and the point's classification; f on both sides; "
        "the third derivative exactly (sympy).",
        {"gradient at 0": r.gradient_norm, "f''(0)": r.eigenvalues[0].item(), "kind": r.kind,
         "f'''(0) (exact)": third, "f(-0.1)": cubic.value([-0.1]).item(), "f(0)": r.value,
         "f(0.1)": cubic.value([0.1]).item()},
        (ctx.figure(fig, "saddle-cubic", "x³ with its critical point at 0 marked"),),
        "losslens eval cubic --at 0")


@check("saddle.xy", lambda n: n.update({"Hessian eigenvalues (exact)": ["2", "2"]}),
       lambda j: {"kind": j["kind"], "gradient norm": j["gradient_norm"]})
def xy_ok(n: dict) -> bool:
    lo, hi = (float(sp.sympify(e)) for e in n["Hessian eigenvalues (exact)"])
    return n["gradient norm"] == 0 and lo < 0 < hi and n["kind"] == "saddle"


def _xy(ctx: Context) -> Claim:

    sad = resolve("saddle")
    r2 = classify_point(sad, [0.0, 0.0])
    exact = _exact_eigenvalues("x^2 - y^2", "x y", {})
    g = np.linspace(-1, 1, 41)
    Xg, Yg = np.meshgrid(g, g)
    Z = sad.values(torch.tensor(np.stack([Xg.ravel(), Yg.ravel()], 1))).reshape(Xg.shape).numpy()
    fig = new_figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot(projection="3d")
    ax.plot_wireframe(Xg, Yg, Z, rstride=2, cstride=2, color="#1f4e99", linewidth=0.6)
    ax.scatter([0], [0], [r2.value], color="#b42318", s=40)
    ax.set(xlabel="x", ylabel="y", zlabel="f")
    figs = [ctx.figure(fig, "saddle-surface", "The surface x² − y² with the saddle point at the origin")]
    try:
        import plotly.graph_objects as go

        pf = go.Figure(go.Surface(x=Xg, y=Yg, z=Z, colorscale="Viridis"))
        pf.add_trace(go.Scatter3d(x=[0], y=[0], z=[r2.value], mode="markers", marker=dict(size=5, color="red"),
                                  name="saddle"))
        pf.update_layout(margin=dict(l=0, r=0, t=30, b=0), title="f(x, y) = x² − y²")
        figs.append(ctx.html_figure(pf.to_html(include_plotlyjs=True, full_html=True), "saddle-surface-3d",
                                    "Interactive surface of x² − y²"))
    except ImportError:
        pass
    return claim(
        "saddle.xy",
        "At the origin, f(x, y) = x² − y² has zero gradient and Hessian eigenvalues of opposite sign: a minimum "
        "along x, a maximum along y, so a saddle point.",
        "Gradient at (0, 0) by automatic differentiation and the classification; the Hessian's eigenvalues exactly "
        "(sympy).",
        {"Hessian eigenvalues (exact)": [str(e) for e in exact], "kind": r2.kind, "gradient norm": r2.gradient_norm},
        tuple(figs), "losslens eval saddle --at 0,0")


RULE_CASES = {"x^2 + y^2": "min", "-x^2 - y^2": "max", "x^2 - y^2": "saddle"}


@check("saddle.rule", lambda n: n.update({"-x^2 - y^2": {**n["-x^2 - y^2"], "eigenvalues (exact)": ["2", "2"]}}),
       lambda j: {"-x^2 - y^2": {"kind": j["kind"]}})
def rule_ok(n: dict) -> bool:
    def rule(eigs):
        ev = [float(sp.sympify(e)) for e in eigs]
        return "min" if min(ev) > 0 else "max" if max(ev) < 0 else "saddle" if min(ev) < 0 < max(ev) else None

    return all(rule(n[t]["eigenvalues (exact)"]) == want == n[t]["kind"] for t, want in RULE_CASES.items())


def _rule(ctx: Context) -> Claim:

    g = np.linspace(-1, 1, 81)
    Xg, Yg = np.meshgrid(g, g)
    fig = new_figure(figsize=(11, 3.6))
    axes = fig.subplots(1, 3)
    numbers = {}
    for ax, (t, want) in zip(axes, RULE_CASES.items()):
        obj = resolve(t)
        r = classify_point(obj, [0.0, 0.0])
        numbers[t] = {"eigenvalues (exact)": [str(e) for e in _exact_eigenvalues(t, "x y", {})], "kind": r.kind}
        Z = obj.values(torch.tensor(np.stack([Xg.ravel(), Yg.ravel()], 1))).reshape(Xg.shape).numpy()
        ax.contour(Xg, Yg, Z, levels=15, cmap="viridis")
        ax.scatter([0], [0], color="#b42318", zorder=3)
        ax.set(xlabel="x", ylabel="y", title=f"{t.replace('^2', '²')}: {r.kind}", aspect="equal")
    fig.tight_layout()
    return claim(
        "saddle.rule",
        "The eigenvalue rule at a point with zero gradient: all Hessian eigenvalues positive — a local minimum; all "
        "negative — a local maximum; both signs — a saddle point.",
        "The Hessian's eigenvalues at the origin exactly (sympy) for x² + y², −x² − y² and x² − y², the rule applied "
        "to them, and losslens's classification of the same points.",
        numbers, (ctx.figure(fig, "saddle-rule", "Contours of a minimum, a maximum and a saddle at the origin"),),
        "losslens eval --at 0,0 -- '-x^2 - y^2'")


@check("saddle.goe", lambda n: n.update({"θ fitted": 2 * n["θ = ln 3 / 4"]}),
       lambda j: {"θ fitted": j["random_matrices"]["theta_fit"], "largest n": j["random_matrices"]["rows"][-1]["n"]})
def goe_ok(n: dict) -> bool | None:
    if n["θ fitted"] is None or n["P(min) at the largest n"] is None:
        return None
    return (n["P(min) at the largest n"] < n["naive 2^-n at the largest n"]
            and abs(n["θ fitted"] - n["θ = ln 3 / 4"]) <= 0.1 * n["θ = ln 3 / 4"])


def _high_dimension(ctx: Context) -> Claim:
    from ...plot.saddles import probability_figure
    from ...saddles import run_saddles

    max_n, trials, particles, replicates = (8, 10_000, 300, 2) if ctx.quick else (20, 100_000, 1000, 4)
    exp = run_saddles(max_n=max_n, trials=trials, seed=ctx.seed, particles=particles, replicates=replicates)
    last = exp.rows[-1]
    return claim(
        "saddle.goe",
        "In high dimension a point with zero gradient is far more likely a saddle than a minimum: the chance that "
        "all n Hessian eigenvalues are positive falls like exp(−θ n²), θ = ln 3 / 4 (Dean & Majumdar 2006), much "
        "faster than the 2^−n of independent signs.",
        f"The Hessian modelled as a random symmetric matrix with independent Gaussian entries (the Gaussian "
        f"orthogonal ensemble, GOE). P(all eigenvalues positive) for n = 1..{max_n}: exact where a formula is known, "
        "Monte Carlo with exact binomial confidence intervals, and subset simulation (Au & Beck 2001: a rare event "
        "reached through a chain of less rare ones, each estimated by Markov-chain sampling) for large n; θ fitted "
        "to ln P against n² and compared with ln 3 / 4 (within 10%).",
        {"largest n": last.n, "P(min) at the largest n": math.exp(last.log_p) if last.log_p is not None else None,
         "source": last.source, "naive 2^-n at the largest n": 2.0 ** -last.n, "θ fitted": exp.theta_fit,
         "θ = ln 3 / 4": exp.theta, "checker's verdict": exp.verdict},
        (ctx.figure(probability_figure(exp, "n"), "saddles-probability",
                    "log P(all Hessian eigenvalues positive) against n, with the naive 2^-n and the asymptote"),),
        f"losslens saddles --max-n {max_n} --trials {trials} --particles {particles} --replicates {replicates} "
        f"--no-network --seed {ctx.seed}")


@check("saddle.network-hessian", lambda n: n.update({"λmin after training": abs(n["λmin after training"])}))
def network_hessian_ok(n: dict) -> bool:
    neg = lambda lmin, lmax: lmin < -1e-3 * lmax
    return (neg(n["λmin after 1 step"], n["λmax after 1 step"]) and neg(n["λmin after training"], n["λmax after training"])
            and n["|λmin|/λmax after training"] < n["|λmin|/λmax after 1 step"])


def _network_hessian(ctx: Context) -> Claim:

    from ._network import trained

    steps = 150 if ctx.quick else 1500
    run = trained("digits-mlp", steps, ctx.seed)
    init, end = run.curvature[0], run.curvature[-1]
    ratio = lambda c: abs(min(c["lambda_min"], 0.0)) / c["lambda_max"]
    fig = new_figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    labels = ["after 1 step", f"after {steps} steps"]
    ax.bar(np.arange(2) - 0.2, [init["lambda_max"], end["lambda_max"]], 0.4, label="largest eigenvalue λmax")
    ax.bar(np.arange(2) + 0.2, [init["lambda_min"], end["lambda_min"]], 0.4, label="smallest eigenvalue λmin")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(2), labels)
    ax.set(xlabel="point of training", ylabel="Hessian eigenvalue")
    ax.legend(fontsize=8)
    return claim(
        "saddle.network-hessian",
        "A network's training loss is not convex: its Hessian has negative eigenvalues both near the initialisation "
        "and after training. Training moves to where positive curvature dominates: |λmin|/λmax falls.",
        "Largest and smallest Hessian eigenvalues of the digits MLP's training loss (256 samples) by the Lanczos "
        "method (an iteration that finds extreme eigenvalues from Hessian-vector products alone, without forming the "
        "Hessian), after the first step and after training. An eigenvalue counts as negative when below −0.001·λmax.",
        {"λmax after 1 step": init["lambda_max"], "λmin after 1 step": init["lambda_min"],
         "λmax after training": end["lambda_max"], "λmin after training": end["lambda_min"],
         "|λmin|/λmax after 1 step": ratio(init), "|λmin|/λmax after training": ratio(end)},
        (ctx.figure(fig, "saddles-network-hessian", "Extreme Hessian eigenvalues of the digits MLP early and late"),),
        tour_command("saddle-points", ctx))


@check("saddle.network-points", lambda n: n.update({"Spearman rho(index, loss)": -0.5}))
def network_points_ok(n: dict) -> bool | None:
    if n["converged"] < 3 or n["Spearman rho(index, loss)"] is None:
        return None
    return (n["Spearman rho(index, loss)"] > 0 and n["p-value"] < 0.05 and n["index at lowest loss"] == 0
            and n["index at highest loss"] > 0)


def _network_critical_points(ctx: Context) -> Claim:
    from ...plot.saddles import index_loss_figure
    from ...saddles import network_saddles

    # quick: 64 images and 100 gradient-descent steps before Newton on each reduced network (full: 200 and 300);
    # measured to give the same seven critical points' indices (27, 18, 9, 0 negative eigenvalues), the same rank
    # correlation and verdict at 40% of the work
    hidden, samples, path, warmup = (3, 64, (), 100) if ctx.quick else (6, 200, (10,), 300)
    net = network_saddles(hidden=hidden, samples=samples, inits=2, path_steps=path, warmup=warmup, seed=ctx.seed)
    good = [p for p in net.points if p.converged]
    top = max(good, key=lambda p: p.loss) if good else None
    low = min(good, key=lambda p: p.loss) if good else None
    return claim(
        "saddle.network-points",
        "In a real network, critical points with a high loss are saddles with many directions of descent and those "
        "with a low loss are minima (Dauphin et al. 2014; Pennington & Bahri 2017): the index grows with the loss.",
        f"Critical points of a 64-{hidden}-10 tanh MLP on {samples} digits images (cross-entropy + weight decay "
        f"{net.weight_decay:g}, float64) by Newton's method on the dense Hessian: minima of the network with only k "
        f"hidden units switched on ({warmup} gradient-descent steps, then saddle-free Newton; embedded: a unit with "
        "zero weights has zero gradient), solved again on the full network"
        + (", and Newton from gradient-descent snapshots" if path else "") + ". A point counts when |grad| <= "
        f"{net.tol:.1e} ({net.rtol:g} of the gradient scale). Its index is the fraction of negative Hessian "
        "eigenvalues (0 at a minimum); Spearman's rank correlation of index and loss must be positive with p < 0.05, "
        "the lowest point a minimum and the highest a saddle.",
        {"searches": len(net.points), "converged": len(good), "distinct critical points": net.distinct,
         "highest loss": None if top is None else top.loss,
         "index at highest loss": None if top is None else top.index,
         "lowest loss": None if low is None else low.loss, "index at lowest loss": None if low is None else low.index,
         "Spearman rho(index, loss)": net.spearman, "p-value": net.spearman_p, "checker's verdict": net.verdict},
        (ctx.figure(index_loss_figure(net), "saddles-network-index-loss",
                    "Index (fraction of negative Hessian eigenvalues) against loss at the network's critical points"),),
        tour_command("saddle-points", ctx))


def intro() -> str:
    x = sp.Symbol("x")
    H = sp.Symbol("H")
    return (
        "<p>D2L 11.1.2.2: a saddle point is a point where the gradient vanishes but which is no minimum, local or "
        "global. At a point where the gradient is zero, the Hessian (the matrix of second derivatives) "
        "decides through its eigenvalues:</p>"
        + formula(sp.Symbol("∇f(x)"), op("="), 0, op(","), text("eigenvalues of"), H, op("="),
                  sp.Symbol("∇²f(x)"), text("all > 0: minimum; all < 0: maximum; both signs: saddle"))
        + "<p>When an eigenvalue is zero the test cannot decide (the point is <i>degenerate</i>), as for "
        + formula(x ** 3, block=False) + " at 0.</p>")


def run(ctx: Context) -> list[Claim]:
    return [_cubic(ctx), _xy(ctx), _rule(ctx), _high_dimension(ctx), _network_hessian(ctx),
            _network_critical_points(ctx)]


SECTION = Section("saddle-points", "Saddle points", run, intro)
