"""Convexity figures (D2L 11.2): a function with a chord, its epigraph, a 2-D set with a witness segment, and
sublevel-set contours. Values shown are float64 evaluations for drawing; the verdicts come from the result objects.
"""
from __future__ import annotations

import numpy as np
import torch

from ..objective import AnalyticObjective, Box
from ..validation import InputError
from . import new_figure


def _grid_1d(obj: AnalyticObjective, lo: float, hi: float, m: int = 400):
    x = torch.linspace(lo, hi, m, dtype=torch.float64)
    with torch.no_grad():
        y = obj.values(x[:, None])
    return x.numpy(), np.where(np.isfinite(y.numpy()), y.numpy(), np.nan)


def _check_dims(obj, n, what):
    if obj.n != n:
        raise InputError(f"{what} needs a function of {n} variable(s), got {obj.n} ({', '.join(obj.names)})")


def _formula(obj) -> str:
    """The objective's formula (its expression text), not its catalog name."""
    expression = getattr(obj, "expression", None)
    return getattr(expression, "text", None) or obj.label


def chord_axes(ax, obj: AnalyticObjective, a: float, b: float, lo: float, hi: float, lam: float = 0.5):
    """f on [lo, hi] with the chord from (a, f(a)) to (b, f(b)) and the point λa + (1−λ)b marked on both."""
    x, y = _grid_1d(obj, lo, hi)
    ax.plot(x, y, color="C0", label=f"f({obj.names[0]}) = {_formula(obj)}")
    fa, fb = (float(obj.value([t])) for t in (a, b))
    ax.plot([a, b], [fa, fb], color="C3", lw=1.5, label="chord")
    m = lam * a + (1 - lam) * b
    ax.plot([m, m], [float(obj.value([m])), lam * fa + (1 - lam) * fb], "k:", lw=1)
    ax.scatter([a, b], [fa, fb], color="C3", zorder=3)
    ax.set_xlabel(obj.names[0])
    ax.set_ylabel(f"f({obj.names[0]})")
    ax.legend(loc="best", fontsize=8)


def epigraph_axes(ax, obj: AnalyticObjective, lo: float, hi: float):
    """The epigraph {(x, t) : t >= f(x)} shaded: convex function ⇔ convex epigraph."""
    x, y = _grid_1d(obj, lo, hi)
    top = np.nanmax(y) + 0.1 * (np.nanmax(y) - np.nanmin(y) + 1)
    ax.fill_between(x, y, top, color="C2", alpha=0.3, label="epigraph")
    ax.plot(x, y, color="C2")
    ax.set_ylim(np.nanmin(y) - 0.05 * (top - np.nanmin(y)), top)
    ax.set_xlabel(obj.names[0])
    ax.set_ylabel(f"t (epigraph: t >= f({obj.names[0]}))")
    ax.legend(loc="best", fontsize=8)


def function_figure(obj: AnalyticObjective, result, box: Box | None = None):
    """1-D: chord figure (with the witness chord when not convex) beside the epigraph."""

    _check_dims(obj, 1, "the chord figure")
    w = getattr(result, "witness", None)
    if box is not None:
        lo, hi = box.lo[0], box.hi[0]
    elif w is not None:
        c, r = (w.a[0] + w.b[0]) / 2, abs(w.b[0] - w.a[0])
        lo, hi = c - 1.5 * r, c + 1.5 * r
    else:
        lo, hi = -2.0, 2.0
    a, b, lam = (w.a[0], w.b[0], w.lam) if w is not None else (lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo), 0.5)
    fig = new_figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    chord_axes(ax1, obj, a, b, lo, hi, lam)
    verdict = getattr(result, "verdict", None)
    if verdict is None:       # a local-convexity result: shade the proved interval
        radius = getattr(result, "radius", 0.0)
        if radius > 0:
            ax1.axvspan(result.point[0] - radius, result.point[0] + radius, color="C2", alpha=0.15,
                        label="proved convex")
            ax1.legend(loc="best", fontsize=8)
        verdict = "local convexity"
    ax1.set_title(f"{verdict}: a chord below f (Jensen violated)" if w is not None else verdict)
    epigraph_axes(ax2, obj, lo, hi)
    ax2.set_title("epigraph")
    return fig


def sublevel_figure(obj: AnalyticObjective, box: Box, levels=None, result=None):
    """2-D: contours of f (the boundaries of sublevel sets {f <= c}), with a witness segment if one is given."""

    _check_dims(obj, 2, "the sublevel-set figure")
    X, Y, Z = _grid_2d(lambda P: obj.values(P), box)
    fig = new_figure(figsize=(5.5, 5))
    ax = fig.subplots()
    cs = ax.contour(X, Y, Z, levels=levels if levels is not None else 15, cmap="viridis")
    ax.clabel(cs, fontsize=7)
    w = getattr(result, "witness", None)
    if w is not None:
        _segment(ax, w.a, w.b, w.lam)
    ax.set_xlabel(obj.names[0])
    ax.set_ylabel(obj.names[1])
    ax.set_title(f"sublevel sets of {_formula(obj)}" + (f" — {result.verdict}" if result is not None else ""))
    return fig


def set_figure(spec, result, box: Box | None = None):
    """2-D set shaded (float membership on a grid, for drawing) with the witness segment a–b and its mix point; a set
    with one equality h = 0 is drawn as the curve h = 0 where its other constraints hold."""

    from ..convexity.sets import _inside_numeric, _torch_fns, equality

    if spec.n != 2:
        raise InputError(f"the set figure needs 2 variables, the set has {spec.n} ({', '.join(spec.variables)})")
    w = result.witness
    if box is None and w is None:
        box = Box.cube(-2.0, 2.0, 2)
    elif box is None:       # centred on the witness segment
        c = [(u + v) / 2 for u, v in zip(w.a, w.b)]
        r = max(1.5, 1.2 * max(abs(u - v) for u, v in zip(w.a, w.b)))
        box = Box(tuple(v - r for v in c), tuple(v + r for v in c))
    fig = new_figure(figsize=(5.5, 5))
    ax = fig.subplots()
    eq = equality(spec.parts[0]) if len(spec.parts) == 1 else None
    if eq is None:
        exprs = _torch_fns(spec)
        X, Y, Z = _grid_2d(lambda P: _inside_numeric(exprs, P).to(torch.float64), box)
        ax.contourf(X, Y, Z, levels=[0.5, 1.5], colors=["C0"], alpha=0.35)
        ax.contour(X, Y, Z, levels=[0.5], colors=["C0"], linewidths=1)
        if not np.any(Z > 0.5):     # nothing shaded: say so rather than leave a blank plot unexplained
            ax.text(0.5, 0.5, f"no point of the {X.shape[0]}×{X.shape[1]} grid lies in the set:\nit is empty here "
                    "or thinner than the grid spacing", transform=ax.transAxes, ha="center", va="center",
                    fontsize=8, color="firebrick")
    else:                   # a curve: h = 0 where the other constraints hold
        h = spec.expression(eq[0])
        rest = [[spec.expression(c) for c in spec.parts[0] if c.text != eq[0].text]]

        def on_rest(P):
            v = h.evaluate(P.unbind(1)).to(torch.float64)
            return torch.where(_inside_numeric(rest, P), v, torch.nan) if rest[0] else v

        X, Y, H = _grid_2d(on_rest, box)
        ax.contour(X, Y, H, levels=[0.0], colors=["C0"], linewidths=1.8)
    if w is not None:
        _segment(ax, w.a, w.b, w.lam)
    ax.set_xlabel(spec.variables[0])
    ax.set_ylabel(spec.variables[1])
    ax.set_aspect("equal")
    ax.set_title(f"{spec.text} — {result.verdict}", fontsize=9)
    return fig


def _segment(ax, a, b, lam):
    m = [lam * u + (1 - lam) * v for u, v in zip(a, b)]
    ax.plot([a[0], b[0]], [a[1], b[1]], color="C3", lw=1.5, label="witness segment")
    ax.scatter([a[0], b[0]], [a[1], b[1]], color="C3", zorder=3)
    ax.scatter([m[0]], [m[1]], color="k", marker="x", zorder=4, label="leaves the set")
    ax.legend(loc="best", fontsize=8)


def _grid_2d(fn, box: Box, m: int = 240):
    xs = torch.linspace(box.lo[0], box.hi[0], m, dtype=torch.float64)
    ys = torch.linspace(box.lo[1], box.hi[1], m, dtype=torch.float64)
    X, Y = torch.meshgrid(xs, ys, indexing="xy")
    with torch.no_grad():
        Z = fn(torch.stack([X.reshape(-1), Y.reshape(-1)], 1)).reshape(X.shape)
    Z = Z.numpy()
    return X.numpy(), Y.numpy(), np.where(np.isfinite(Z), Z, np.nan)
