"""Shared rich renderings of tensors and tables."""
from __future__ import annotations

import math

from rich.markup import escape
from rich import table as rich_table

from ._app import err_console


class Table(rich_table.Table):
    """A rich table whose columns fold long cells onto more lines instead of cutting them with "…" (a cut number
    such as -4.63650768… for -4.6365e-69 reads as a different value)."""

    def add_column(self, *args, overflow="fold", **kwargs):
        return super().add_column(*args, overflow=overflow, **kwargs)


def fmt(v: float, digits: int = 6) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return str(v)
    return f"{v:.{digits}g}"


def vector(t, digits: int = 6) -> str:
    return escape("[" + ", ".join(fmt(float(u), digits) for u in t.reshape(-1)) + "]")


def matrix_table(M, names, title: str) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("")
    for n in names:
        table.add_column(n, justify="right")
    for n, row in zip(names, M):
        table.add_row(n, *(fmt(float(u)) for u in row))
    return table


def print_notes(notes) -> None:
    """Each store note (a corrupt or mismatched file that was recomputed) as one ``losslens: note:`` line on stderr."""
    for note in notes:
        err_console.print(f"losslens: note: {note}", markup=False)
