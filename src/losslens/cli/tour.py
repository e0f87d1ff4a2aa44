"""``losslens tour`` (the whole chapter as a computed report) and ``losslens report RESULTS.json``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ._app import JSON_OPTION, command, console, emit_json, outputs_closed
from .render import print_notes


@command("tour")
def tour_cmd(
    out: Path = typer.Option(Path("losslens-tour"), "--out", help="Directory for index.html, figures, results.json."),
    quick: bool = typer.Option(False, "--quick", help="Smaller computations (about 30 s)."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated section ids: run just these."),
    json: bool = JSON_OPTION,
):
    """Run the tour of D2L 11.1-11.2: every claim computed, with figures; a rerun reuses finished sections."""
    from ..report.garbage import fewer_collections

    with fewer_collections():       # from the first import of torch, sympy and matplotlib on
        from ..report.tour import run_tour, select_sections

        sections = select_sections(only)

        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=json,
                      disable=json) as bar:
            task = bar.add_task("tour", total=None)

            def progress(title: str, i: int, total: int) -> None:
                bar.update(task, description=title, completed=i, total=total)

            tour = run_tour(out, quick=quick, seed=seed, sections=sections, progress=progress)
        print_notes(tour.store_notes)
        outputs_closed()       # every section, figure, results.json and index.html is written atomically and closed
        if json:
            emit_json(tour)
            return
        counts: dict[str, int] = {}
        for s in tour.sections:
            for c in s.claims:
                counts[c.status] = counts.get(c.status, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        console.print(f"{len(tour.sections)} sections ({summary}) in {tour.seconds:.1f} s"
                      f"{f', {len(tour.reused)} reused' if tour.reused else ''}")
        console.print(f"open {out / 'index.html'}")


@command("report")
def report_cmd(
    results: Path = typer.Argument(..., help="A saved --json result or a tour's results.json."),
    out: Optional[Path] = typer.Option(None, "--out", help="HTML file to write (default: next to the input)."),
):
    """Render any saved result as an HTML page."""
    from ..report.page import render_result

    console.print(f"wrote {render_result(results, out)}")
