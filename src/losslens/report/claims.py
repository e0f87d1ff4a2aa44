"""The tour's vocabulary: a section, the claims it makes, their figures, and what a section is given.

A section is a function ``run(ctx: Context) -> list[Claim]``; :mod:`losslens.report.tour` runs and stores them,
:mod:`losslens.report.sections` defines them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..results import Result
from ..storage import atomic_write

STATUSES = ("confirmed", "refuted", "unknown", "unavailable")


@dataclass(frozen=True)
class Figure(Result):
    """A figure file (relative to the report directory) with its alt text."""

    path: str
    alt: str
    interactive: bool = False


@dataclass(frozen=True)
class Claim(Result):
    """One statement of the chapter and its computed check.

    ``status``: ``confirmed`` (the computation agrees), ``refuted`` (it does not), ``unknown`` (it cannot decide),
    ``unavailable`` (the capability is not part of this build; said plainly, never faked).
    """

    statement: str
    check: str
    status: str
    numbers: dict = field(default_factory=dict)
    figures: tuple[Figure, ...] = ()
    command: str = ""
    id: str = ""  # the key of its check in ``sections._common.CHECKS`` (a pure function of ``numbers``)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    run: Callable[["Context"], list[Claim]]
    intro: Callable[[], str] | None = None  # opening prose and formulas (HTML with MathML), rendered on the page


_VERDICT_WORD = re.compile(r"\b[a-z]{2,}(?:_[a-z]{2,})+\b")


def plain_words(fig) -> None:
    """Verdict words in a figure's texts (titles, legends, labels) as plain words: not_convex -> not convex, as in
    the page's tables."""
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        s = t.get_text()
        plain = _VERDICT_WORD.sub(lambda m: m.group(0).replace("_", " "), s)
        if plain != s:
            t.set_text(plain)


@dataclass
class Context:
    """What a section gets: where figures go, whether to be quick, the seed."""

    out: Path
    quick: bool
    seed: int

    @property
    def figdir(self) -> Path:
        d = self.out / "figures"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def figure(self, fig, name: str, alt: str) -> Figure:
        """Save a matplotlib figure as SVG under figures/ (verdict words in plain words) and return its record."""
        from ..plot import save

        plain_words(fig)
        save(fig, self.figdir / f"{name}.svg")
        return Figure(f"figures/{name}.svg", alt)

    def figure_path(self, name: str, alt: str) -> tuple[Path, Figure]:
        """Where a plot function that saves by itself should write, and the record that points at it."""
        return self.figdir / f"{name}.svg", Figure(f"figures/{name}.svg", alt)

    def html_figure(self, html: str, name: str, alt: str) -> Figure:
        path = self.figdir / f"{name}.html"
        atomic_write(path, html)
        return Figure(f"figures/{name}.html", alt, interactive=True)
