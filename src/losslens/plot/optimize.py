"""Figures of optimizer runs and basins, drawn from :class:`~losslens.optimize.Run`,
:class:`~losslens.optimize.Comparison` and :class:`~losslens.optimize.BasinMap` results.

* :func:`trajectories` — 2-D: contour lines of f with each trajectory as ``-o`` (D2L's ``show_trace_2d``);
  1-D: the curve f(x) with the iterates on it (D2L's ``show_trace``); n > 2: f against the step.
* :func:`curves` — f (and the risk, when recorded) and ‖∇f‖ against the step.
* :func:`basin_map` — which endpoint each start reached: an image over the start grid (2-D), a strip under
  f(x) (1-D) or a scatter of the first two coordinates (random starts).

The objective is evaluated here only to draw the landscape behind the results.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..objective import Objective
from . import new_figure

COLORS = ["#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
LANDSCAPE = "#1f77b4"


def _view(runs, objective: Objective, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Plot limits: the runs' finite points, widened to the region, clipped to 3 region sizes around it."""
    reg = runs[0].scale.region
    lo, hi = np.array(reg.lo), np.array(reg.hi)
    pts = np.concatenate([r.points.numpy() for r in runs])
    pts = pts[np.isfinite(pts).all(axis=1)]
    plo = np.minimum(lo, pts.min(axis=0)) if len(pts) else lo
    phi = np.maximum(hi, pts.max(axis=0)) if len(pts) else hi
    w = hi - lo
    plo, phi = np.maximum(plo, lo - w), np.minimum(phi, hi + w)
    pad = margin * (phi - plo)
    return plo - pad, phi + pad


def _grid_values(objective: Objective, lo, hi, k: int = 200):
    axes = [np.linspace(a, b, k) for a, b in zip(lo, hi)]
    mesh = np.meshgrid(*axes, indexing="xy")
    X = torch.tensor(np.stack([m.reshape(-1) for m in mesh], axis=1), dtype=objective.dtype)
    with torch.no_grad():
        v = objective.values(X).numpy().reshape(mesh[0].shape)
    return mesh, np.where(np.isfinite(v), v, np.nan)


def _label(run, name: str | None) -> str:
    return f"{name or run.settings['method']}: {run.verdict}"


def trajectories(runs: Sequence, objective: Objective, labels: Sequence[str] | None = None, title: str | None = None):
    """One axes with every run of ``runs`` over the landscape of ``objective``; returns the figure."""
    runs = list(runs)
    labels = list(labels) if labels is not None else [None] * len(runs)
    fig = new_figure(figsize=(6, 5))
    ax = fig.subplots()
    n = objective.n
    if n == 2:
        lo, hi = _view(runs, objective)
        (x1, x2), v = _grid_values(objective, lo, hi)
        ax.contour(x1, x2, v, levels=20, colors=LANDSCAPE, linewidths=0.7)
        for i, (r, name) in enumerate(zip(runs, labels)):
            p = r.points.numpy()
            ax.plot(p[:, 0], p[:, 1], "-o", color=COLORS[i % len(COLORS)], markersize=3, label=_label(r, name))
        ax.set_xlim(lo[0], hi[0]), ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel(objective.names[0]), ax.set_ylabel(objective.names[1])
    elif n == 1:
        lo, hi = _view(runs, objective)
        (x,), v = _grid_values(objective, lo, hi, 400)
        ax.plot(x, v, "-", color=LANDSCAPE, label=f"f({objective.names[0]})")
        for i, (r, name) in enumerate(zip(runs, labels)):
            ax.plot(r.points[:, 0].numpy(), r.values.numpy(), "-o", color=COLORS[i % len(COLORS)], markersize=3,
                    label=_label(r, name))
        ax.set_xlim(lo[0], hi[0])
        ax.set_xlabel(objective.names[0]), ax.set_ylabel("f")
    else:
        for i, (r, name) in enumerate(zip(runs, labels)):
            ax.plot(r.values.numpy(), "-o", color=COLORS[i % len(COLORS)], markersize=2, label=_label(r, name))
        ax.set_xlabel("step"), ax.set_ylabel("f")
    ax.set_title(title or objective.label)
    ax.legend(fontsize=8)
    return fig


def curves(runs: Sequence, labels: Sequence[str] | None = None, title: str | None = None):
    """f (and the recorded risk, dashed) and ‖∇f‖ (log scale) against the step; returns the figure."""
    runs = list(runs)
    labels = list(labels) if labels is not None else [None] * len(runs)
    fig = new_figure(figsize=(10, 4))
    a1, a2 = fig.subplots(1, 2)
    for i, (r, name) in enumerate(zip(runs, labels)):
        c = COLORS[i % len(COLORS)]
        # markers too: a finite value between non-finite ones (a run that overflows at step 1) has no segment
        a1.plot(r.values.numpy(), "-o", color=c, markersize=2, label=f"{name or r.settings['method']}: f")
        if r.risk is not None:
            a1.plot(r.risk.values.numpy(), "--", color=c, label=f"risk {r.risk.label}")
            a1.axvline(r.risk.best_step, color=c, linestyle=":", linewidth=0.8)
        g = r.gradient_norms.numpy()
        a2.semilogy(np.where(g > 0, g, np.nan), "-o", color=c, markersize=2, label=_label(r, name))
        a2.axhline(r.scale.gtol, color=c, linestyle=":", linewidth=0.8)
    a1.ticklabel_format(axis="y", useOffset=False)  # values near a constant read as they are, not as an offset
    a1.set_xlabel("step"), a1.set_ylabel("value"), a1.legend(fontsize=8)
    a2.set_xlabel("step"), a2.set_ylabel("|grad| (dotted: gtol)"), a2.legend(fontsize=8)
    fig.suptitle(title or runs[0].objective)
    return fig


def basin_map(bmap, objective: Objective, title: str | None = None):
    """Which endpoint each start of ``bmap`` reached; endpoints marked (★ minima, ✕ saddles, ▲ maxima)."""
    from ..optimize.basins import DIVERGED, UNSETTLED

    palette = COLORS + ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5"]
    cats = [(DIVERGED, "diverged", "#000000"), (UNSETTLED, "unsettled", "#d9d9d9")]
    cats += [(j, f"{e.role.replace('_', ' ')} f={e.value:.4g}", palette[j % len(palette)])
             for j, e in enumerate(bmap.endpoints)]
    frac = {DIVERGED: bmap.diverged_fraction, UNSETTLED: bmap.unsettled_fraction,
            **{j: e.fraction for j, e in enumerate(bmap.endpoints)}}
    code = {lab: i for i, (lab, _, _) in enumerate(cats)}
    labels = bmap.labels.numpy()
    idx = np.vectorize(code.get)(labels) if len(labels) else labels
    from matplotlib.colors import ListedColormap
    cmap = ListedColormap([c for _, _, c in cats])
    fig = new_figure(figsize=(6.5, 5))
    ax = fig.subplots()
    box = bmap.box
    if bmap.grid is not None and objective.n == 2:
        g = bmap.grid
        ax.imshow(idx.reshape(g[1], g[0]), origin="lower", extent=(box.lo[0], box.hi[0], box.lo[1], box.hi[1]),
                  cmap=cmap, vmin=-0.5, vmax=len(cats) - 0.5, interpolation="nearest", aspect="auto")
        (x1, x2), v = _grid_values(objective, box.lo, box.hi, 150)
        ax.contour(x1, x2, v, levels=15, colors="white", linewidths=0.5, alpha=0.7)
    elif objective.n == 1:
        (x,), v = _grid_values(objective, box.lo, box.hi, 400)
        ax.plot(x, v, color=LANDSCAPE)
        finite = v[np.isfinite(v)]      # NaN or ±inf values (log on x <= 0) would put the strip off the plot
        base = finite.min() - 0.05 * (finite.max() - finite.min() + 1e-300) if finite.size else 0.0
        if not finite.size:
            ax.text(0.5, 0.6, "f is NaN or infinite on the whole box", transform=ax.transAxes, ha="center",
                    fontsize=9, color="firebrick")
        ax.scatter(bmap.starts[:, 0].numpy(), np.full(len(labels), base), c=idx, cmap=cmap, vmin=-0.5,
                   vmax=len(cats) - 0.5, marker="|", s=200)
    else:
        ax.scatter(bmap.starts[:, 0].numpy(), bmap.starts[:, 1].numpy(), c=idx, cmap=cmap, vmin=-0.5,
                   vmax=len(cats) - 0.5, s=4)
    marks = {"min": "*", "saddle": "X", "max": "^"}
    for j, e in enumerate(bmap.endpoints):
        p = e.point.numpy()
        y = p[1] if objective.n >= 2 else e.value
        ax.plot(p[0], y, marks.get(e.kind, "o"), color="black", markersize=11 if e.kind == "min" else 8,
                markeredgecolor="white")
    from matplotlib.patches import Patch
    handles = [Patch(color=c, label=f"{name}: {frac[lab]:.1%}") for lab, name, c in cats if frac[lab] > 0]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xlim(box.lo[0], box.hi[0])
    if objective.n >= 2:
        ax.set_ylim(box.lo[1], box.hi[1])
        ax.set_ylabel(objective.names[1])
    elif objective.n == 1:
        ax.set_ylabel(f"f({objective.names[0]})")
    ax.set_xlabel(objective.names[0])
    ax.set_title(title or f"{bmap.objective}: basins of {bmap.settings['method']} ({bmap.m} starts, {bmap.steps} "
                 "steps)")
    return fig
