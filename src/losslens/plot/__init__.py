"""matplotlib figures, one module per figure family. Figures are built from result objects, never recomputed here.

Every figure function returns a :class:`matplotlib.figure.Figure`; :func:`save` writes one to a file. Figures are
made by :func:`new_figure` (a ``Figure`` with an Agg canvas attached), not by pyplot: importing or using this package
never selects a matplotlib backend, so the user's backend (and any open pyplot windows) stay as they were, and
saving works on a machine without a screen. A returned figure can be shown in a notebook (its repr) or saved.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine

from ..validation import InputError

FORMATS = ("png", "svg", "pdf")


def new_figure(**kwargs) -> Figure:
    """A :class:`~matplotlib.figure.Figure` (``kwargs`` as for it, e.g. ``figsize``) drawn by an Agg canvas.

    >>> fig = new_figure(figsize=(2, 1)); ax = fig.subplots()
    >>> type(fig.canvas).__name__
    'FigureCanvasAgg'
    """
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def tag_axes(fig) -> None:
    """Name each plotting axes ``ax<i>`` and its labels ``ax<i>-xlabel`` / ``ax<i>-ylabel`` (colorbars excluded), so
    that an SVG reader can tell which axes lack a label (empty labels are not drawn)."""
    for i, ax in enumerate(a for a in fig.axes if not hasattr(a, "_colorbar")):
        ax.set_gid(f"ax{i}")
        ax.xaxis.label.set_gid(f"ax{i}-xlabel")
        ax.yaxis.label.set_gid(f"ax{i}-ylabel")


def _release(fig) -> None:
    """Drop a figure that pyplot manages (made outside this package); figures of :func:`new_figure` need nothing."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


def svg_tight_bbox(fig):
    """The box (inches) that ``savefig(..., format="svg", bbox_inches="tight")`` crops ``fig`` to, measured without
    drawing the figure; None where that measurement could differ (then use ``bbox_inches="tight"``).

    ``bbox_inches="tight"`` draws a figure twice: once with drawing switched off, only to lay it out, then for real.
    ``Figure.get_tightbbox`` lays out ticks, labels, titles, legends (``loc="best"`` included) and annotations by
    itself, so measured on the SVG backend's own renderer (text sizes in points, the figure at the 72 dpi the SVG
    backend draws at) it gives the same box and the figure is drawn once. Not for a figure with a layout engine
    (constrained layout runs only while drawing) or with 3-D axes (they place their ticks while drawing).

    >>> import io, re
    >>> fig = new_figure(figsize=(2, 1)); _ = fig.subplots().set_xlabel("x")
    >>> print("%.6f %.6f" % tuple(svg_tight_bbox(fig).size * 72))      # in points
    156.854687 104.638828
    >>> buf = io.StringIO(); fig.savefig(buf, format="svg", bbox_inches="tight")
    >>> re.search(r'width="(.*?)pt" height="(.*?)pt"', buf.getvalue()).groups()
    ('156.854687', '104.638828')
    """
    from matplotlib.backends.backend_svg import RendererSVG

    engine = fig.get_layout_engine()
    if (engine is not None and not isinstance(engine, PlaceHolderLayoutEngine)) or any(
            ax.name == "3d" for ax in fig.axes):
        return None
    dpi, manager = fig.dpi, fig.canvas.manager
    fig.canvas.manager = None      # as in savefig: a window showing the figure is not resized by the dpi change
    fig.dpi = 72
    try:
        w, h = fig.get_size_inches()
        box = fig.get_tightbbox(RendererSVG(w * 72, h * 72, io.StringIO()))
    finally:
        fig.dpi = dpi
        fig.canvas.manager = manager
    return box.padded(matplotlib.rcParams["savefig.pad_inches"])


def save(fig, path) -> Path:
    """Save ``fig`` to ``path`` (png, svg or pdf by suffix) and release it; returns the path.

    Cropped to the figure's tight bounding box; an SVG is drawn once (:func:`svg_tight_bbox`)."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        _release(fig)
        raise InputError(f"plot file {str(path)!r} must end in .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    tag_axes(fig)
    box = svg_tight_bbox(fig) if suffix == "svg" else None
    fig.savefig(path, dpi=120, bbox_inches="tight" if box is None else box)
    _release(fig)
    return path
