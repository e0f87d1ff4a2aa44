"""matplotlib figures, one module per figure family. Figures are built from result objects, never recomputed here."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no screen is assumed

from ..validation import InputError  # noqa: E402

FORMATS = ("png", "svg", "pdf")


def tag_axes(fig) -> None:
    """Name each plotting axes ``ax<i>`` and its labels ``ax<i>-xlabel`` / ``ax<i>-ylabel`` (colorbars excluded), so
    that an SVG reader can tell which axes lack a label (empty labels are not drawn)."""
    for i, ax in enumerate(a for a in fig.axes if not hasattr(a, "_colorbar")):
        ax.set_gid(f"ax{i}")
        ax.xaxis.label.set_gid(f"ax{i}-xlabel")
        ax.yaxis.label.set_gid(f"ax{i}-ylabel")


def save(fig, path) -> Path:
    """Save ``fig`` to ``path`` (png, svg or pdf by suffix) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        plt.close(fig)
        raise InputError(f"plot file {str(path)!r} must end in .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    tag_axes(fig)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
