"""``losslens tour``: every claim of D2L 11.1-11.2 as a statement, the computation that checks it, its numbers,
a figure and the command that reproduces it.

A section is a function ``run(ctx) -> list[Claim]``. Sections run in order; each finished section is written to
``OUT/sections/<id>.json`` at once, keyed by its inputs (section id, quick flag, seed, losslens version), so an
interrupted tour loses nothing and a rerun reuses finished sections.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..results import Result, jsonable

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
        """Save a matplotlib figure as SVG under figures/ and return its record."""
        from ..plot import save

        save(fig, self.figdir / f"{name}.svg")
        return Figure(f"figures/{name}.svg", alt)

    def figure_path(self, name: str, alt: str) -> tuple[Path, Figure]:
        """Where a plot function that saves by itself should write, and the record that points at it."""
        return self.figdir / f"{name}.svg", Figure(f"figures/{name}.svg", alt)

    def html_figure(self, html: str, name: str, alt: str) -> Figure:
        path = self.figdir / f"{name}.html"
        _atomic_write(path, html)
        return Figure(f"figures/{name}.html", alt, interactive=True)


@dataclass(frozen=True)
class SectionResult(Result):
    id: str
    title: str
    claims: tuple[Claim, ...]
    seconds: float
    key: str


@dataclass(frozen=True)
class TourResult(Result):
    version: str
    quick: bool
    seed: int
    sections: tuple[SectionResult, ...]
    reused: tuple[str, ...]
    seconds: float


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _figure_style():
    """SVG text stays text (searchable, and measurable in a browser: the page's tests check that no two labels
    overlap)."""
    import matplotlib

    return matplotlib.rc_context({"svg.fonttype": "none"})


def _key(section: Section, quick: bool, seed: int) -> str:
    return hashlib.sha256(json.dumps([section.id, quick, seed, __version__]).encode()).hexdigest()[:16]


def _load_cached(path: Path, key: str, out: Path) -> SectionResult | None:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if d.get("key") != key:
        return None
    claims = tuple(Claim(c["statement"], c["check"], c["status"], c["numbers"],
                         tuple(Figure(**f) for f in c["figures"]), c["command"], c.get("id", "")) for c in d["claims"])
    if not all((out / f.path).exists() for c in claims for f in c.figures):
        return None
    return SectionResult(d["id"], d["title"], claims, d["seconds"], key)


def select_sections(only: str | None) -> list[Section] | None:
    """The sections named in ``only`` ("goal,convexity"), in the tour's order; None (all) when ``only`` is None."""
    from ..validation import InputError
    from .sections import SECTIONS

    if only is None:
        return None
    ids = [s.strip() for s in only.split(",") if s.strip()]
    known = [s.id for s in SECTIONS]
    bad = [i for i in ids if i not in known]
    if bad or not ids:
        raise InputError(f"--only {only!r} names no section or an unknown one {bad}; sections are {', '.join(known)}")
    return [s for s in SECTIONS if s.id in ids]


def run_tour(out: str | Path, quick: bool = False, seed: int = 0, sections: list[Section] | None = None,
             progress: Callable[[str, int, int], Any] | None = None) -> TourResult:
    """Run every section (reusing finished ones), write ``results.json`` and ``index.html`` into ``out``."""
    from .page import write_tour_page
    from .sections import SECTIONS

    out = Path(out)
    (out / "sections").mkdir(parents=True, exist_ok=True)
    sections = SECTIONS if sections is None else sections
    t0 = time.perf_counter()
    done, reused = [], []
    for i, section in enumerate(sections):
        if progress:
            progress(section.title, i, len(sections))
        key = _key(section, quick, seed)
        path = out / "sections" / f"{section.id}.json"
        cached = _load_cached(path, key, out)
        if cached is not None:
            done.append(cached)
            reused.append(section.id)
            continue
        ts = time.perf_counter()
        with _figure_style():
            claims = tuple(section.run(Context(out, quick, seed)))
        result = SectionResult(section.id, section.title, claims, time.perf_counter() - ts, key)
        _atomic_write(path, json.dumps(result.to_dict(), indent=1))
        done.append(result)
    if progress:
        progress("page", len(sections), len(sections))
    tour = TourResult(__version__, quick, seed, tuple(done), tuple(reused), time.perf_counter() - t0)
    _atomic_write(out / "results.json", json.dumps(jsonable(tour.to_dict()), indent=1, allow_nan=False))
    write_tour_page(tour, out)
    return tour
