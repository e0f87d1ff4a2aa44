"""``losslens catalog [NAME]``: the named functions, their boxes and why each matters."""
from __future__ import annotations

from typing import Optional

import typer

from ._app import JSON_OPTION, command, console, emit_json
from .render import Table


@command("catalog")
def catalog_cmd(name: Optional[str] = typer.Argument(None, help="Show one entry."), json: bool = JSON_OPTION):
    """List the catalog (or show one entry): name, expression, default box, why it matters."""
    from .. import catalog as _catalog

    result = _catalog.get(name) if name else _catalog.listing()
    if json:
        emit_json(result)
        return
    entries = [result] if name else result.functions
    table = Table(show_lines=False, header_style="bold")
    for col in ("name", "f", "box", "why"):
        table.add_column(col, overflow="fold")
    for e in entries:
        box = ", ".join(f"{v}∈[{a:g}, {b:g}]" for v, (a, b) in zip(e.names, e.box))
        table.add_row(e.name, e.expression, box, e.why)
    console.print(table)
