"""Constraints (D2L 11.2.4): the Lagrangian and KKT conditions, penalties (weight decay) and projections."""
from __future__ import annotations

import math

import torch

from ...optimize import L1Ball, L2Ball, project, solve_constrained, weight_decay_ball
from ..tour import Claim, Context, Section
from ._common import verdict

# Bracken and McCormick's problem: min (x1-2)^2 + (x2-1)^2 s.t. x1 - 2 x2 + 1 = 0, x1^2/4 + x2^2 <= 1 (both active).
OBJECTIVE = "(x1 - 2)^2 + (x2 - 1)^2"
CONSTRAINTS = ["x1 - 2*x2 + 1 = 0", "x1^2/4 + x2^2 <= 1"]


def _exact_solution() -> tuple[float, float]:
    # with x1 = 2 x2 - 1 the active ellipse gives (2 x2 - 1)^2 / 4 + x2^2 = 1  <=>  8 x2^2 - 4 x2 - 3 = 0
    x2 = (4 + math.sqrt(16 + 96)) / 16
    return 2 * x2 - 1, x2


def _lagrangian(ctx: Context) -> Claim:
    from ...plot.constrained import constrained_figure

    r = solve_constrained(OBJECTIVE, CONSTRAINTS, "alm", x0=[2.0, 2.0])
    want = _exact_solution()
    err = max(abs(a - b) for a, b in zip(r.x.tolist(), want))
    path, fig = ctx.figure_path("constrained-kkt", "Contours, the feasible set, the iterates and the solution with "
                                "the constraint normals and the objective gradient")
    constrained_figure(r, path)
    kkt = r.kkt.to_dict()
    return Claim(
        "A constrained minimum is a saddle point of the Lagrangian: there the objective's gradient is a combination "
        "of the active constraints' normals, ∇f = −Σ λ_i ∇g_i, with μ >= 0 on active inequalities (KKT).",
        "Augmented Lagrangian on min (x1-2)^2 + (x2-1)^2 s.t. x1 - 2x2 + 1 = 0, x1^2/4 + x2^2 <= 1; KKT residuals "
        "and the exact solution from the quadratic 8 x2^2 - 4 x2 - 3 = 0.",
        verdict(r.verdict == "optimal" and err < 1e-6),
        {"solution": r.x.tolist(), "exact": list(want), "multipliers": r.multipliers.tolist(),
         "active": list(r.active), "Lagrangian": r.lagrangian, "optimality proved": r.optimality_proved,
         **{f"KKT {k}": v for k, v in kkt.items() if isinstance(v, (int, float))}},
        (fig,), f'losslens constrained "{OBJECTIVE}" --st "{CONSTRAINTS[0]}" --st "{CONSTRAINTS[1]}" --x0 2,2')


def _weight_decay(ctx: Context) -> Claim:
    f, lam = "(x1 - 3)^2 + 2*(x2 + 1)^2 + x1*x2", 1.5
    r = weight_decay_ball(f, lam)
    return Claim(
        "A penalty is a soft constraint: minimizing f + (λ/2)‖x‖² (weight decay) gives the minimizer of f over the "
        "ball of radius r = ‖x*(λ)‖, and the ball's Lagrange multiplier is λ.",
        f"Both problems solved for f = {f}, λ = {lam}; distance between the solutions and the multiplier.",
        verdict(r.agree),
        {"penalized minimizer": r.penalized.tolist(), "constrained minimizer": r.constrained.tolist(),
         "radius r": r.radius, "multiplier": r.multiplier, "λ": lam, "distance": r.distance},
        (), f'losslens weight-decay "{f}" --lam {lam}')


def _projections(ctx: Context) -> Claim:
    import matplotlib.pyplot as plt

    g = torch.Generator().manual_seed(ctx.seed)
    pts = 2.5 * torch.randn(12, 2, generator=g, dtype=torch.float64)
    sets = {"L2 ball": L2Ball(torch.zeros(2, dtype=torch.float64), 1.0),
            "L1 ball": L1Ball(torch.zeros(2, dtype=torch.float64), 1.0)}
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.4))
    worst = 0.0
    for ax, (name, s) in zip(axes, sets.items()):
        t = torch.linspace(0, 2 * math.pi, 400, dtype=torch.float64)
        if name == "L2 ball":
            ax.plot(torch.cos(t), torch.sin(t), color="#1f4e99")
        else:
            ax.plot([1, 0, -1, 0, 1], [0, 1, 0, -1, 0], color="#1f4e99")
        for p in pts:
            q = project(s, p).projection
            ax.annotate("", q.tolist(), p.tolist(), arrowprops=dict(arrowstyle="->", color="#888888"))
            ax.scatter(*q.tolist(), color="#b42318", s=12, zorder=3)
            # optimality of a projection onto a convex set: <p - q, z - q> <= 0 for every z in the set
            z = torch.stack([torch.cos(t), torch.sin(t)], 1) if name == "L2 ball" else \
                torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1]], dtype=torch.float64)
            worst = max(worst, float(((z - q) @ (p - q)).max()))
        ax.set(title=f"projection onto the {name}", aspect="equal", xlim=(-5, 5), ylim=(-5, 5))
    return Claim(
        "Projection onto a convex set returns its closest point; the residual p − P(p) makes an obtuse angle with "
        "every direction into the set, which characterises the projection.",
        "Exact projections of 12 seeded points onto the unit L2 and L1 balls; the largest <p − P(p), z − P(p)> over "
        "points z of each set (the ball's boundary, the L1 ball's vertices) must be <= 0.",
        verdict(worst <= 1e-12),
        {"max <p - P(p), z - P(p)>": worst},
        (ctx.figure(fig, "projections", "Points and their projections onto the L2 and L1 unit balls"),),
        "losslens project --set l1 --radius 1 --at 2,1")


def run(ctx: Context) -> list[Claim]:
    return [_lagrangian(ctx), _weight_decay(ctx), _projections(ctx)]


SECTION = Section("constraints", "Constraints, penalties and projections", run)
