"""matplotlib figures, one module per figure family. Figures are built from result objects, never recomputed here.

Every figure function returns a :class:`matplotlib.figure.Figure`; :func:`save` writes one to a file. Figures are
made by :func:`new_figure` (a ``Figure`` with an Agg canvas attached), not by pyplot: importing or using this package
never selects a matplotlib backend, so the user's backend (and any open pyplot windows) stay as they were, and
saving works on a machine without a screen. A returned figure can be shown in a notebook (its repr) or saved.
"""
from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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


def save(fig, path) -> Path:
    """Save ``fig`` to ``path`` (png, svg or pdf by suffix) and release it; returns the path."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        _release(fig)
        raise InputError(f"plot file {str(path)!r} must end in .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    tag_axes(fig)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _release(fig)
    return path
