"""Critical-point figures (D2L 11.1), drawn from a :class:`~losslens.critical.CriticalPoints` result.

* :func:`curve` — 1-D: f over the box with every critical point marked and labelled by kind (D2L's local vs global
  minimum figure for ``x cos(pi x)`` and the ``x^3`` saddle figure); labels sit at the computed points.
* :func:`contour` — 2-D: contour lines of f with the points as markers by kind.
* :func:`surface` — 2-D: a 3-D wireframe of f with the points on it (D2L's ``x^2 - y^2`` saddle figure).
* :func:`figure` — the default for the objective's dimension (curve for n = 1, contour for n = 2).

The objective is evaluated here only to draw the landscape; the points and kinds come from the result.
"""
from __future__ import annotations

import numpy as np
import torch

from ..objective import Objective
from ..validation import InputError
from . import new_figure

STYLE = {"min": ("o", "C2"), "max": ("^", "C3"), "saddle": ("X", "C1"), "degenerate": ("D", "C4"),
         "nonsmooth": ("s", "C5")}
GLOBAL = ("*", "gold")


def _check(objective: Objective, n: int, what: str):
    if objective.n != n:
        raise InputError(f"{what} needs a function of {n} variable(s), got {objective.n} ({', '.join(objective.names)})")


def _label(p) -> str:
    return p.kind if p.kind == p.second_order else f"{p.kind} ({p.second_order} by the 2nd-order test)"


def _grid(objective: Objective, box: dict, k: int):
    axes = [np.linspace(a, b, k) for a, b in zip(box["lo"], box["hi"])]
    mesh = np.meshgrid(*axes, indexing="xy")
    X = torch.tensor(np.stack([m.reshape(-1) for m in mesh], axis=1), dtype=objective.dtype)
    with torch.no_grad():
        v = objective.values(X).numpy().reshape(mesh[0].shape)
    return mesh, np.where(np.isfinite(v), v, np.nan)


def _global(result):
    gm = result.global_minimum
    return gm if gm is not None else None


def curve(objective: Objective, result, title: str | None = None):
    """f(x) over the box, each critical point marked and annotated with its kind; the global minimum starred."""
    _check(objective, 1, "a curve")
    (xs,), v = _grid(objective, result.box, 600)
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(xs, v, color="C0", label=f"f(x) = {result.expression}")
    for p in result.points:
        marker, color = STYLE[p.kind]
        ax.scatter([p.point[0]], [p.value], marker=marker, color=color, s=60, zorder=3)
        ax.annotate(_label(p), (p.point[0], p.value), textcoords="offset points", xytext=(0, 12 if p.kind != "max"
                    else -18), ha="center", fontsize=8, color=color,
                    arrowprops=dict(arrowstyle="-", color=color, lw=0.6))
    gm = _global(result)
    if gm is not None:
        ax.scatter([gm.point[0]], [gm.value], marker=GLOBAL[0], color=GLOBAL[1], edgecolor="k", s=160, zorder=4,
                   label="global minimum" + (" (certified)" if gm.certified else " (best found)"))
    ax.set_xlabel(result.names[0])
    ax.set_ylabel("f")
    ax.set_title(title or f"critical points of {result.expression}")
    ax.legend(loc="best", fontsize=8)
    return fig


def _points_legend(ax, result, project):
    seen = set()
    for p in result.points:
        marker, color = STYLE[p.kind]
        ax_args = project(p)
        ax.scatter(*ax_args, marker=marker, color=color, s=60, edgecolor="k", zorder=3,
                   label=p.kind if p.kind not in seen else None)
        seen.add(p.kind)


def contour(objective: Objective, result, title: str | None = None, levels: int = 30):
    """Contour lines of f over the box with the critical points by kind; the global minimum starred."""
    _check(objective, 2, "a contour plot")
    (X, Y), V = _grid(objective, result.box, 200)
    fig = new_figure(figsize=(6, 5))
    ax = fig.subplots()
    finite = V[np.isfinite(V)]
    if finite.size:
        qs = np.unique(np.quantile(finite, np.linspace(0, 1, levels)))
        ax.contour(X, Y, V, levels=qs if len(qs) > 1 else levels, cmap="viridis", linewidths=0.8)
    _points_legend(ax, result, lambda p: ([p.point[0]], [p.point[1]]))
    gm = _global(result)
    if gm is not None:
        ax.scatter([gm.point[0]], [gm.point[1]], marker=GLOBAL[0], color=GLOBAL[1], edgecolor="k", s=200, zorder=4,
                   label="global minimum" + (" (certified)" if gm.certified else " (best found)"))
    ax.set_xlabel(result.names[0])
    ax.set_ylabel(result.names[1])
    ax.set_title(title or f"critical points of {result.expression}")
    ax.legend(loc="best", fontsize=8)
    return fig


def surface(objective: Objective, result, title: str | None = None):
    """3-D wireframe of f over the box with the critical points on the surface."""
    _check(objective, 2, "a surface plot")
    (X, Y), V = _grid(objective, result.box, 41)
    fig = new_figure(figsize=(6, 5))
    ax = fig.add_subplot(111, projection="3d")
    ax.plot_wireframe(X, Y, V, rstride=2, cstride=2, color="C0", linewidth=0.6)
    _points_legend(ax, result, lambda p: ([p.point[0]], [p.point[1]], [p.value]))
    ax.set_xlabel(result.names[0])
    ax.set_ylabel(result.names[1])
    ax.set_zlabel("f")
    ax.set_title(title or f"{result.expression}")
    ax.legend(loc="best", fontsize=8)
    return fig


def figure(objective: Objective, result, kind: str = "auto"):
    """``auto``: curve (n = 1) or contour (n = 2); ``surface`` for the 3-D view of a 2-D function."""
    if kind == "surface":
        return surface(objective, result)
    if objective.n == 1:
        return curve(objective, result)
    if objective.n == 2:
        return contour(objective, result)
    raise InputError(f"--plot needs a function of 1 or 2 variables, got {objective.n} ({', '.join(objective.names)})")
