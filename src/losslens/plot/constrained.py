"""Figure of a constrained solve (2 variables): contours of f, the feasible region shaded, equality constraints as
curves, the path of the iterates, the solution with −∇f and the weighted constraint normals ν_k ∇c_k, which sum
to −∇f at a KKT point (∇f = −Σ ν_k ∇c_k)."""
from __future__ import annotations

import torch

from ..optimize.kkt import jacobian
from ..validation import InputError
from . import new_figure


def constrained_figure(result, *, resolution: int = 200):
    """The figure of ``result`` (a :class:`~losslens.optimize.constrained.ConstrainedResult`): level sets of f,
    the feasible set, the path and the solution (save it with :func:`losslens.plot.save`)."""

    from ..optimize.constraints import make_problem

    if len(result.names) != 2:
        raise InputError(f"the constrained figure needs 2 variables, the problem has {len(result.names)}")
    problem = make_problem(result.objective, [c.text for c in result.constraints], result.names)
    pts = torch.cat([result.path, result.x.reshape(1, -1), result.x0.reshape(1, -1)])
    pts = pts[torch.isfinite(pts).all(1)]
    lo, hi = pts.min(0).values, pts.max(0).values
    span = torch.clamp(hi - lo, min=2.0)
    lo, hi = lo - 0.3 * span, hi + 0.3 * span
    gx = torch.linspace(float(lo[0]), float(hi[0]), resolution, dtype=torch.float64)
    gy = torch.linspace(float(lo[1]), float(hi[1]), resolution, dtype=torch.float64)
    X, Y = torch.meshgrid(gx, gy, indexing="xy")
    grid = torch.stack([X.reshape(-1), Y.reshape(-1)], 1)
    F = problem.objective.values(grid).reshape(X.shape)
    fig = new_figure(figsize=(6.4, 5.6))
    ax = fig.subplots()
    finite = F[torch.isfinite(F)]
    if finite.numel():
        levels = torch.quantile(finite, torch.linspace(0.0, 1.0, 25, dtype=torch.float64)).unique()
        if levels.numel() > 1:
            ax.contour(X, Y, F, levels=levels.numpy(), cmap="viridis", linewidths=0.8)
    cols = grid.unbind(1)
    feasible = torch.ones(X.numel(), dtype=torch.bool)
    for k in problem.constraints:
        val = k.expression.evaluate(list(cols))
        if k.kind == "eq":
            ax.contour(X, Y, val.reshape(X.shape), levels=[0.0], colors="crimson", linewidths=2)
        else:
            feasible &= val <= 0
            ax.contour(X, Y, val.reshape(X.shape), levels=[0.0], colors="tab:blue", linewidths=1.2)
    if any(k.kind == "ineq" for k in problem.constraints):
        ax.contourf(X, Y, feasible.reshape(X.shape).double(), levels=[0.5, 1.5], colors=["tab:blue"], alpha=0.15)
    p = result.path
    ax.plot(p[:, 0], p[:, 1], "o-", color="black", ms=3, lw=1, label=f"iterates ({result.method})")
    x = result.x
    ax.plot([float(x[0])], [float(x[1])], "*", color="gold", mec="black", ms=16, label="solution")
    scale = 0.2 * float(span.max())
    arrows = []
    smooth = not result.epigraph and not result.cases    # at a kink ∇f and ∇c are not defined: no arrows
    if smooth and result.verdict not in ("infeasible", "unknown", "unbounded"):
        gf = jacobian(problem.f, x)
        arrows.append((-gf, "black", "−∇f (= Σ ν∇c at a KKT point)"))
        if problem.m:
            J = jacobian(problem.c, x)
            for k, (c, nu) in enumerate(zip(problem.constraints, result.multipliers.tolist())):
                if c.kind == "eq" or abs(nu) > 1e-12:
                    arrows.append((nu * J[k], "crimson" if c.kind == "eq" else "tab:blue", f"ν∇c ({c.text})"))
    norm = max([float(torch.linalg.vector_norm(a)) for a, _, _ in arrows] + [1e-300])
    for a, color, label in arrows:
        v = a * (scale / norm)
        ax.annotate("", xy=(float(x[0] + v[0]), float(x[1] + v[1])), xytext=(float(x[0]), float(x[1])),
                    arrowprops=dict(arrowstyle="->", color=color, lw=2))
        ax.plot([], [], color=color, lw=2, label=label)
    ax.set_xlim(float(lo[0]), float(hi[0]))
    ax.set_ylim(float(lo[1]), float(hi[1]))
    ax.set_xlabel(result.names[0])
    ax.set_ylabel(result.names[1])
    ax.set_title(f"{result.objective}: {result.verdict}, f = {result.value:.6g}", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    ax.set_aspect("auto")
    return fig
