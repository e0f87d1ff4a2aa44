"""Constraints (D2L 11.2.4): the Lagrangian and KKT conditions, penalties (weight decay, L1) and projections
(gradient clipping)."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch

from ...plot import new_figure
from ...optimize import L1Ball, L2Ball, project, solve_constrained, weight_decay_ball
from ..mathml import formula, op, text, times
from ..claims import Claim, Context, Section
from ._common import check, claim, tour_command

# Bracken and McCormick's problem: min (x1-2)^2 + (x2-1)^2 s.t. x1 - 2 x2 + 1 = 0, x1^2/4 + x2^2 <= 1 (both active).
OBJECTIVE = "(x1 - 2)^2 + (x2 - 1)^2"
CONSTRAINTS = ["x1 - 2*x2 + 1 = 0", "x1^2/4 + x2^2 <= 1"]


def exact_kkt() -> dict:
    """The KKT point exactly: ∇f + ν∇h + μ∇g = 0, h = 0, g = 0 (both active), the root with μ >= 0."""
    x1, x2, nu, mu = sp.symbols("x1 x2 nu mu", real=True)
    f, h, g = (x1 - 2) ** 2 + (x2 - 1) ** 2, x1 - 2 * x2 + 1, x1 ** 2 / 4 + x2 ** 2 - 1
    eqs = [sp.diff(f + nu * h + mu * g, v) for v in (x1, x2)] + [h, g]
    (sol,) = [s for s in sp.solve(eqs, [x1, x2, nu, mu], dict=True) if s[mu] >= 0]
    return {k.name: sp.simplify(v) for k, v in sol.items()}


@check("constraints.kkt", lambda n: n.update({"solution": [n["solution"][0] + 0.1, n["solution"][1]]}),
       lambda j: {"solution": j["x"], "multipliers": j["multipliers"]})
def kkt_ok(n: dict) -> bool:
    err = max(abs(a - b) for a, b in zip(n["solution"] + n["multipliers"], n["exact x"] + n["exact multipliers"]))
    return n["verdict"] == "optimal" and err < 1e-6 and n["multipliers"][1] >= 0


def _lagrangian(ctx: Context) -> Claim:
    from ...plot import save
    from ...plot.constrained import constrained_figure

    r = solve_constrained(OBJECTIVE, CONSTRAINTS, "alm", x0=[2.0, 2.0])
    ex = exact_kkt()
    path, fig = ctx.figure_path("constrained-kkt", "Contours, the feasible set, the iterates and the solution with "
                                "the constraint normals and the objective gradient")
    save(constrained_figure(r), path)
    kkt = r.kkt.to_dict()
    return claim(
        "constraints.kkt",
        "At a constrained minimum the objective's gradient is balanced by the active constraints' normals, "
        "∇f + ν∇h + μ∇g = 0 with μ >= 0 for an active inequality (the Karush-Kuhn-Tucker conditions); ν and μ are "
        "the Lagrange multipliers.",
        "Augmented Lagrangian method on min (x1−2)² + (x2−1)² s.t. x1 − 2x2 + 1 = 0, x1²/4 + x2² <= 1; its KKT "
        f"residuals, beside the exact KKT point (sympy): x = ({ex['x1']}, {ex['x2']}), ν = {ex['nu']}, "
        f"μ = {ex['mu']}.",
        {"verdict": r.verdict, "solution": r.x.tolist(), "exact x": [float(ex["x1"]), float(ex["x2"])],
         "multipliers": r.multipliers.tolist(), "exact multipliers": [float(ex["nu"]), float(ex["mu"])],
         "active": list(r.active), "optimality proved": r.optimality_proved,
         **{f"KKT {k}": v for k, v in kkt.items() if isinstance(v, (int, float))}},
        (fig,), f'losslens constrained "{OBJECTIVE}" --st "{CONSTRAINTS[0]}" --st "{CONSTRAINTS[1]}" --start 2,2')


@check("constraints.saddle", lambda n: n.update({"max over α of L(x*, α) − L(x*, α*)": 0.5}))
def saddle_ok(n: dict) -> bool:
    return (n["max over α of L(x*, α) − L(x*, α*)"] <= 1e-12 and n["min over x of L(x, α*) − L(x*, α*)"] >= -1e-12
            and n["slope of L(0.5, α) in α (infeasible x)"] > 0)


def _saddle_property(ctx: Context) -> Claim:

    x, a = sp.symbols("x alpha", real=True)
    L = x ** 2 + a * (1 - x)   # min x² s.t. 1 − x <= 0
    (sol,) = [s for s in sp.solve([sp.diff(L, x), 1 - x], [x, a], dict=True)]
    xs_, as_ = float(sol[x]), float(sol[a])
    Ln = sp.lambdify((x, a), L, "numpy")
    alphas, xs = np.linspace(0, 6, 601), np.linspace(-1, 3, 801)
    star = Ln(xs_, as_)
    X, A = np.meshgrid(np.linspace(-0.5, 2.5, 200), np.linspace(0, 5, 200))
    fig = new_figure(figsize=(5.8, 4.2))
    ax = fig.subplots()
    cs = ax.contour(X, A, Ln(X, A), levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="L(x, α)")
    ax.scatter([xs_], [as_], color="C3", zorder=3, label=f"saddle (x*, α*) = ({sol[x]}, {sol[a]})")
    ax.set(xlabel="x", ylabel="multiplier α", title="L(x, α) = x² + α(1 − x)")
    ax.legend(fontsize=8, loc="upper right")
    return claim(
        "constraints.saddle",
        "The solution is a saddle point of the Lagrangian: for min x² subject to x >= 1, L(x, α) = x² + α(1 − x) is "
        "largest in α >= 0 and smallest in x at (x*, α*) = (1, 2): L(x*, α) <= L(x*, α*) <= L(x, α*). Maximising "
        "over α gives back f at feasible x and +∞ at infeasible x, which is why min over x of max over α solves "
        "the constrained problem.",
        "The saddle (x*, α*) exactly (sympy: ∂L/∂x = 0 with the constraint active); L on grids of α in [0, 6] and x "
        "in [−1, 3]; the slope of L in α at the infeasible x = 0.5.",
        {"x* (exact)": str(sol[x]), "α* (exact)": str(sol[a]),
         "max over α of L(x*, α) − L(x*, α*)": float((Ln(xs_, alphas) - star).max()),
         "min over x of L(x, α*) − L(x*, α*)": float((Ln(xs, as_) - star).min()),
         "slope of L(0.5, α) in α (infeasible x)": float(sp.diff(L, a).subs(x, sp.Rational(1, 2)))},
        (ctx.figure(fig, "constrained-saddle", "Contours of the Lagrangian with its saddle point"),),
        tour_command("constraints", ctx))


@check("constraints.weight-decay", lambda n: n.update({"distance": 0.1}),
       lambda j: {"radius r": j["radius"], "multiplier": j["multiplier"]})
def weight_decay_ok(n: dict) -> bool:
    return n["distance"] <= 1e-6 and abs(n["multiplier"] - n["λ"]) <= 1e-6 * max(1.0, n["λ"])


def _weight_decay(ctx: Context) -> Claim:

    f, lam = "(x1 - 3)^2 + 2*(x2 + 1)^2 + x1*x2", 1.5
    r = weight_decay_ball(f, lam)
    from ...catalog import resolve

    obj = resolve(f)
    X, Y = np.meshgrid(np.linspace(-1, 4, 160), np.linspace(-3, 1.5, 160))
    Z = obj.values(torch.tensor(np.stack([X.ravel(), Y.ravel()], 1))).reshape(X.shape).numpy()
    fig = new_figure(figsize=(5.5, 4.6))
    ax = fig.subplots()
    ax.contour(X, Y, Z, levels=20, cmap="viridis", linewidths=0.7)
    t = np.linspace(0, 2 * math.pi, 300)
    ax.plot(r.radius * np.cos(t), r.radius * np.sin(t), color="C3", label=f"ball of radius r = {r.radius:.3f}")
    ax.scatter(*r.penalized.tolist(), color="k", zorder=3, label="minimiser of f + (λ/2)‖x‖²")
    ax.set(xlabel="x1", ylabel="x2", aspect="equal", title=f"weight decay λ = {lam}")
    ax.legend(fontsize=8, loc="lower right")
    return claim(
        "constraints.weight-decay",
        "A penalty is a soft constraint: minimizing f + (λ/2)‖x‖² (weight decay) gives the minimizer of f over the "
        "ball of radius r = ‖x*(λ)‖, and the ball's Lagrange multiplier is λ.",
        f"Both problems solved for f = {f}, λ = {lam}; distance between the solutions and the multiplier.",
        {"penalized minimizer": r.penalized.tolist(), "constrained minimizer": r.constrained.tolist(),
         "radius r": r.radius, "multiplier": r.multiplier, "λ": lam, "distance": r.distance},
        (ctx.figure(fig, "constrained-weight-decay", "The weight-decay minimiser on the boundary of its ball"),),
        f'losslens weight-decay "{f}" --lam {lam}')


C_L1 = (2.0, 0.5)
LAMS = (0.25, 0.5, 1.0, 1.5, 2.0)


def soft_threshold(c, lam: float) -> torch.Tensor:
    """argmin_x ½‖x − c‖² + λ‖x‖₁, exactly: x_i = sign(c_i) max(|c_i| − λ, 0)."""
    c = torch.as_tensor(c, dtype=torch.float64)
    return torch.sign(c) * torch.clamp(c.abs() - lam, min=0)


@check("constraints.l1", lambda n: n.update({"radius r(λ)": sorted(n["radius r(λ)"])}),
       lambda j: {"solution at λ = 1": j["projection"]})
def l1_ok(n: dict) -> bool:
    r = n["radius r(λ)"]
    shrinking = all(a > b or a == b == 0 for a, b in zip(r, r[1:]))
    return (max(n["‖penalized − projection onto the L1 ball of radius r‖"]) <= 1e-12 and shrinking
            and n["zero coordinates at λ = 1"] >= 1 and n["optimality residual (subgradient)"] <= 1e-12)


def _l1(ctx: Context) -> Claim:

    c = torch.tensor(C_L1, dtype=torch.float64)
    sols = [soft_threshold(c, lam) for lam in LAMS]
    radii = [float(s.abs().sum()) for s in sols]
    dist = [float((s - project(L1Ball(torch.zeros(2, dtype=torch.float64), r), c).projection).norm()) if r > 0
            else float(s.norm()) for s, r in zip(sols, radii)]
    # optimality of the penalized solution: c − x ∈ λ ∂‖x‖₁ (= λ sign x_i where x_i ≠ 0, |c_i| <= λ where x_i = 0)
    res = 0.0
    for s, lam in zip(sols, LAMS):
        for ci, xi in zip(c.tolist(), s.tolist()):
            res = max(res, abs(ci - xi - lam * math.copysign(1, xi)) if xi != 0 else max(0.0, abs(ci) - lam))
    fig = new_figure(figsize=(5.5, 4.4))
    ax = fig.subplots()
    for s, r, lam in zip(sols, radii, LAMS):
        if r > 0:
            ax.plot([r, 0, -r, 0, r], [0, r, 0, -r, 0], lw=0.8, color="C0", alpha=0.6)
        ax.scatter(*s.tolist(), zorder=3, s=18, color="C3")
    ax.plot([float(s[0]) for s in sols], [float(s[1]) for s in sols], "C3-", lw=1, label="solution as λ grows")
    ax.scatter(*C_L1, color="k", marker="x", zorder=4, label="c (λ = 0)")
    ax.set(xlabel="x1", ylabel="x2", aspect="equal", xlim=(-2.2, 2.4), ylim=(-2, 2),
           title="min ½‖x − c‖² + λ‖x‖₁ and its L1 balls")
    ax.legend(fontsize=8, loc="lower left")
    return claim(
        "constraints.l1",
        "An L1 penalty λ‖x‖₁ is the soft form of the L1-ball constraint ‖x‖₁ <= r: the penalized solution is the "
        "projection onto the L1 ball whose radius r is its own L1 norm; larger λ means a smaller ball, and the "
        "ball's corners make coordinates exactly zero (sparsity).",
        f"For c = {list(C_L1)} and λ in {list(LAMS)}: the penalized minimiser in closed form (soft thresholding) "
        "with its optimality condition c − x ∈ λ ∂‖x‖₁ checked; its L1 norm r(λ); the exact projection of c onto the "
        "L1 ball of radius r(λ) and the distance between the two.",
        {"λ": list(LAMS), "radius r(λ)": radii,
         "‖penalized − projection onto the L1 ball of radius r‖": dist,
         "solution at λ = 1": sols[LAMS.index(1.0)].tolist(),
         "zero coordinates at λ = 1": int((sols[LAMS.index(1.0)] == 0).sum()), "optimality residual (subgradient)": res},
        (ctx.figure(fig, "constrained-l1", "L1 penalty solutions and the L1 balls they sit on"),),
        "losslens project --set l1 --radius 1 --at 2,0.5")


@check("constraints.clipping", lambda n: n.update({"largest |clipped − projected|": 0.5}))
def clipping_ok(n: dict) -> bool:
    return n["largest |clipped − projected|"] <= 2e-6 * n["largest ‖g‖"] and n["gradients changed"] >= 1 \
        and n["gradients inside the ball left unchanged"] == n["gradients inside the ball"]


def _clipping(ctx: Context) -> Claim:

    theta = 1.0
    gen = torch.Generator().manual_seed(ctx.seed)
    G = 1.5 * torch.randn(40, 2, generator=gen, dtype=torch.float64)
    ball = L2Ball(torch.zeros(2, dtype=torch.float64), theta)
    worst, inside, untouched, clipped = 0.0, 0, 0, []
    for g in G:
        p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_([p], max_norm=theta)
        clipped.append(p.grad.clone())
        worst = max(worst, float((p.grad - project(ball, g).projection).abs().max()))
        if float(g.norm()) <= theta:
            inside += 1
            untouched += int(torch.equal(p.grad, g))
    fig = new_figure(figsize=(5, 5))
    ax = fig.subplots()
    t = np.linspace(0, 2 * math.pi, 300)
    ax.plot(theta * np.cos(t), theta * np.sin(t), color="C0", label=f"ball ‖g‖ <= θ = {theta}")
    for g, q in zip(G, clipped):
        ax.plot([g[0], q[0]], [g[1], q[1]], color="0.6", lw=0.7)
    ax.scatter(G[:, 0], G[:, 1], s=10, color="k", label="gradient g")
    cl = torch.stack(clipped)
    ax.scatter(cl[:, 0], cl[:, 1], s=10, color="C3", zorder=3, label="clipped gradient")
    ax.set(xlabel="g1", ylabel="g2", aspect="equal", xlim=(-4, 4), ylim=(-4, 4))
    ax.legend(fontsize=8, loc="lower right")
    return claim(
        "constraints.clipping",
        "Gradient clipping is a projection onto a ball: rescaling g to g·min(1, θ/‖g‖) is exactly the closest point "
        "of the ball {‖g‖ <= θ} (D2L 11.2.4.3), and gradients already inside are left alone.",
        f"40 seeded gradients clipped by torch.nn.utils.clip_grad_norm_ (θ = {theta}) beside the exact projection "
        "onto the L2 ball (clip_grad_norm_ divides by ‖g‖ + 1e-6, so they agree to about 1e-6 relative).",
        {"largest |clipped − projected|": worst, "largest ‖g‖": float(G.norm(dim=1).max()),
         "gradients changed": 40 - inside, "gradients inside the ball": inside,
         "gradients inside the ball left unchanged": untouched},
        (ctx.figure(fig, "constrained-clipping", "Gradients and their clipped versions on the ball"),),
        tour_command("constraints", ctx))


@check("constraints.projections", lambda n: n.update({"max <p - P(p), z - P(p)>": 0.3}))
def projections_ok(n: dict) -> bool:
    return n["max <p - P(p), z - P(p)>"] <= 1e-12


def _projections(ctx: Context) -> Claim:

    g = torch.Generator().manual_seed(ctx.seed)
    pts = 2.6 * torch.rand(12, 2, generator=g, dtype=torch.float64) * 2 - 2.6
    sets = {"L2 ball": L2Ball(torch.zeros(2, dtype=torch.float64), 1.0),
            "L1 ball": L1Ball(torch.zeros(2, dtype=torch.float64), 1.0)}
    fig = new_figure(figsize=(9, 4.4))
    axes = fig.subplots(1, 2)
    worst = 0.0
    t = torch.linspace(0, 2 * math.pi, 400, dtype=torch.float64)
    for ax, (name, s) in zip(axes, sets.items()):
        if name == "L2 ball":
            ax.plot(torch.cos(t), torch.sin(t), color="#1f4e99")
            z = torch.stack([torch.cos(t), torch.sin(t)], 1)
        else:
            ax.plot([1, 0, -1, 0, 1], [0, 1, 0, -1, 0], color="#1f4e99")
            z = torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1]], dtype=torch.float64)
        for p in pts:
            q = project(s, p).projection
            ax.annotate("", q.tolist(), p.tolist(), arrowprops=dict(arrowstyle="->", color="#888888"))
            ax.scatter(*q.tolist(), color="#b42318", s=12, zorder=3)
            # optimality of a projection onto a convex set: <p - q, z - q> <= 0 for every z in the set
            worst = max(worst, float(((z - q) @ (p - q)).max()))
        ax.set(title=f"projection onto the {name}", aspect="equal", xlim=(-2.8, 2.8), ylim=(-2.8, 2.8),
               xlabel="x1", ylabel="x2")
    return claim(
        "constraints.projections",
        "Projection onto a convex set returns its closest point; the residual p − P(p) makes an obtuse angle with "
        "every direction into the set, which characterises the projection.",
        "Exact projections of 12 seeded points onto the unit L2 and L1 balls; the largest <p − P(p), z − P(p)> over "
        "points z of each set (the ball's boundary, the L1 ball's vertices) must be <= 0.",
        {"max <p - P(p), z - P(p)>": worst},
        (ctx.figure(fig, "projections", "Points and their projections onto the L2 and L1 unit balls"),),
        tour_command("constraints", ctx))


def intro() -> str:
    x, a = sp.Symbol("x"), sp.Symbol("alpha_i")
    i, m = sp.symbols("i m")
    f, c = sp.Function("f"), sp.Function("c_i")
    L = sp.Function("L")
    return (
        "<p>D2L 11.2.4: constrained problems min f(x) subject to c<sub>i</sub>(x) ≤ 0 are handled in three ways. "
        "The <b>Lagrangian</b> adds the constraints with multipliers α<sub>i</sub> ≥ 0,</p>"
        + formula(L(x, sp.Symbol("α")), op("="), f(x), op("+"), sp.Sum(times(a, c(x)), (i, 1, m)))
        + "<p>and the solution is its saddle point: largest over α ≥ 0, smallest over x. A <b>penalty</b> keeps a "
          "fixed multiplier, e.g. (λ/2)‖x‖² (weight decay) or λ‖x‖₁ (the L1 penalty), and so solves the problem for a "
          "ball whose radius λ sets. A <b>projection</b> maps any point to the closest point of a convex set,</p>"
        + formula(sp.Symbol("Proj_𝒳(x)"), op("="), text("argmin over x′ ∈ 𝒳 of"), sp.Symbol("‖x − x′‖"))
        + "<p>which is what gradient clipping does to the gradient.</p>")


def run(ctx: Context) -> list[Claim]:
    return [_lagrangian(ctx), _saddle_property(ctx), _weight_decay(ctx), _l1(ctx), _clipping(ctx), _projections(ctx)]


SECTION = Section("constraints", "Constraints, penalties and projections", run, intro)
