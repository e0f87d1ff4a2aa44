"""Landscape figures from a :class:`~losslens.landscape.Landscape`: line plot, contour (log levels), filled contour,
3-D surface (matplotlib), interactive 3-D surface (plotly, self-contained offline HTML) and a trajectory on its PCA
plane. Nothing is recomputed here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..validation import InputError
from . import new_figure, save

KINDS = ("contour", "filled", "surface")


def _grid(landscape):
    if landscape.values.dim() != 2:
        raise InputError(f"this figure needs a 2-D landscape, got shape {tuple(landscape.values.shape)}")
    a, b = (ax.numpy() for ax in landscape.axes)
    A, B = np.meshgrid(a, b, indexing="ij")
    return A, B, landscape.values.to(torch.float64).numpy()


def log_levels(Z: np.ndarray, count: int = 30) -> np.ndarray:
    """``count`` levels spaced evenly in log(Z − min Z + δ), δ = 1e-3 · (range or 1): dense near the minimum where a
    loss surface's interesting shape is, sparse on the steep walls. Returns increasing finite levels."""
    z = Z[np.isfinite(Z)]
    if z.size == 0:
        raise InputError("the landscape has no finite values to draw")
    lo, hi = float(z.min()), float(z.max())
    if hi <= lo:
        return np.array([lo, lo + 1.0])
    delta = 1e-3 * (hi - lo)
    levels = lo - delta + np.geomspace(delta, hi - lo + delta, count)
    return np.unique(levels)


def _labels(ax, landscape):
    d = landscape.directions
    names = _axis_names(d)
    ax.set_xlabel(names[0])
    if len(names) > 1:
        ax.set_ylabel(names[1])


def _axis_names(d) -> list[str]:
    if d.kind == "pca":
        r = d.info.get("explained_variance_ratio", [])
        return [f"PC{j + 1} ({100 * v:.1f}% of variance)" for j, v in enumerate(r)]
    if d.kind == "hessian":
        ev = d.info.get("eigenvalues", [])
        return [f"{w} eigenvector (λ={lam:.3g})" for w, lam in zip(d.info.get("which", []), ev)]
    if d.kind == "axes":
        return list(d.info.get("names", ["x", "y"]))
    if d.kind == "line":
        return ["t (0 = a, 1 = b)"]
    return [f"{d.kind} direction {j + 1}" for j in range(d.k)]


def _note_blanks(ax, Z: np.ndarray) -> None:
    """Say under the plot how many grid values are NaN or infinite: they are left blank, and a plane with few
    finite values can show no contour line at all."""
    bad = int(np.size(Z) - np.isfinite(Z).sum())
    if bad:
        ax.set_xlabel(f"{ax.get_xlabel()}\n({bad} of {np.size(Z)} grid values are NaN or infinite: left blank)")


def line_figure(landscape, title: str | None = None):
    """f along a 1-D landscape."""

    if landscape.values.dim() != 1:
        raise InputError(f"a line figure needs a 1-D landscape, got shape {tuple(landscape.values.shape)}")
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    values = landscape.values.to(torch.float64).numpy()
    t = landscape.axes[0].numpy()
    ax.plot(t, values, lw=1.5)
    ax.set_xlim(t[0], t[-1])            # the whole line, also where f is not finite (not drawn)
    _labels(ax, landscape)
    _note_blanks(ax, values)
    ax.set_ylabel("f")
    ax.set_title(title or "loss along the line")
    ax.grid(alpha=0.3)
    return fig


def contour_figure(landscape, kind: str = "contour", log: bool = True, title: str | None = None, trajectory=None):
    """Contour (``contour``), filled contour (``filled``) or matplotlib 3-D ``surface`` of a 2-D landscape.

    ``log``: levels spaced in log(f − min f) (see :func:`log_levels`); ``trajectory``: [T, 2] coordinates to draw
    on the plane (e.g. ``directions.info["coordinates"]`` of a PCA plane).
    """

    if kind not in KINDS:
        raise InputError(f"kind == {kind!r}, must be one of {', '.join(map(repr, KINDS))}")
    A, B, Z = _grid(landscape)
    levels = log_levels(Z) if log else 30
    if kind == "surface":
        fig = new_figure(figsize=(7, 5.5))
        ax = fig.add_subplot(projection="3d")
        ax.plot_surface(A, B, np.where(np.isfinite(Z), Z, np.nan), cmap="viridis", linewidth=0, antialiased=True)
        ax.set_zlabel("f")
    else:
        fig = new_figure(figsize=(6, 5))
        ax = fig.subplots()
        draw = ax.contourf if kind == "filled" else ax.contour
        cs = draw(A, B, Z, levels=levels, cmap="viridis")
        fig.colorbar(cs, ax=ax, label="f")
        if landscape.directions.kind != "axes":
            ax.plot([0], [0], "k+", ms=10)   # the origin θ₀
        if trajectory is not None:
            t = torch.as_tensor(trajectory).to(torch.float64).numpy()
            ax.plot(t[:, 0], t[:, 1], "r.-", lw=1, ms=4, label="trajectory")
            ax.plot(t[0, 0], t[0, 1], "ro", ms=6, label="start")
            ax.legend(loc="best")
    _labels(ax, landscape)
    _note_blanks(ax, Z)
    ax.set_title(title or f"loss landscape ({landscape.directions.kind} directions)")
    return fig


def trajectory_figure(landscape, title: str | None = None):
    """The trajectory of a PCA plane (``directions.info["coordinates"]``) over the landscape's filled contour."""
    d = landscape.directions
    if d.kind != "pca" or "coordinates" not in d.info:
        raise InputError(f"a trajectory figure needs PCA directions, got {d.kind!r}")
    return contour_figure(landscape, "filled", True, title or "training trajectory on its PCA plane",
                          trajectory=d.info["coordinates"])


def html_surface(landscape, path, title: str | None = None) -> Path:
    """An interactive 3-D surface as one self-contained HTML file (plotly.js embedded: works offline)."""
    import plotly.graph_objects as go

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"html file {str(path)!r} must end in .html")
    A, B, Z = _grid(landscape)
    names = _axis_names(landscape.directions)
    # contours projected on the floor and a view from above the middle show the basin even behind high walls
    fig = go.Figure(go.Surface(x=A[:, 0], y=B[0], z=np.where(np.isfinite(Z), Z, np.nan).T, colorscale="Viridis",
                               contours={"z": {"show": True, "project": {"z": True}, "usecolormap": True}}))
    fig.update_layout(title=title or f"loss landscape ({landscape.directions.kind} directions)",
                      scene={"xaxis_title": names[0], "yaxis_title": names[1], "zaxis_title": "f",
                             "camera": {"eye": {"x": 1.1, "y": -1.3, "z": 1.9}}})
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def save_figure(landscape, path, kind: str = "contour", log: bool = True, title: str | None = None) -> Path:
    """Draw the landscape (a line for 1-D, ``kind`` for 2-D, the trajectory for PCA planes) and save it."""
    if str(path).lower().endswith((".html", ".htm")):
        return html_surface(landscape, path, title)
    if landscape.values.dim() == 1:
        return save(line_figure(landscape, title), path)
    if landscape.directions.kind == "pca" and kind != "surface":
        return save(trajectory_figure(landscape, title), path)
    return save(contour_figure(landscape, kind, log, title), path)
