"""matplotlib figures, one module per figure family. Figures are built from result objects, never recomputed here."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no screen is assumed

from ..validation import InputError  # noqa: E402

FORMATS = ("png", "svg", "pdf")


def save(fig, path) -> Path:
    """Save ``fig`` to ``path`` (png, svg or pdf by suffix) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        plt.close(fig)
        raise InputError(f"plot file {str(path)!r} must end in .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
