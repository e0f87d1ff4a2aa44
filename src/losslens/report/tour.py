"""``losslens tour``: every claim of D2L 11.1-11.2 as a statement, the computation that checks it, its numbers,
a figure and the command that reproduces it.

A section is a function ``run(ctx) -> list[Claim]``. Sections run in order; each finished section is written to
``OUT/sections/<id>.json`` at once through :mod:`losslens.storage` (atomic, sealed with its sha256), keyed by its
inputs (section id, quick flag, seed, losslens version, sha256 of the section's source file) and holding the sha256
of every figure file it points at, so an interrupted tour loses nothing and a rerun reuses finished sections. A
section file that does not verify, was made with other inputs, or whose figures are missing or changed is
recomputed; ``TourResult.store_notes`` says which and why (one line each).
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..results import Result, jsonable
from ..storage import CorruptFile, atomic_write, read_json, settings_mismatch, sha256, write_json
from .claims import Claim, Context, Figure, Section
from .garbage import fewer_collections
from .page import write_tour_page
from .sections import SECTIONS

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
    store_notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """``refuted`` when any claim is refuted, ``all_confirmed`` when every claim is confirmed, else ``unknown``."""
        statuses = [c.status for s in self.sections for c in s.claims]
        if "refuted" in statuses:
            return "refuted"
        return "all_confirmed" if statuses and all(s == "confirmed" for s in statuses) else "unknown"

    @property
    def reason(self) -> str:
        counts: dict[str, int] = {}
        for s in self.sections:
            for c in s.claims:
                counts[c.status] = counts.get(c.status, 0) + 1
        return f"{len(self.sections)} section(s): " + (", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                                                       or "no claims")


def _inputs(section: Section, quick: bool, seed: int) -> dict:
    """Everything that shapes a section's claims: id, quick flag, seed, losslens version, its source file's sha256."""
    module = sys.modules.get(getattr(section.run, "__module__", ""), None)
    source = getattr(module, "__file__", None)
    try:
        code = sha256(Path(source).read_bytes())[:16] if source else None
    except OSError:
        code = None
    return {"section": section.id, "quick": quick, "seed": seed, "version": __version__, "code": code}


def _key(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _figure_sums(claims, out: Path) -> dict[str, str]:
    return {f.path: sha256((out / f.path).read_bytes()) for c in claims for f in c.figures}


def _load_cached(path: Path, inputs: dict, out: Path) -> tuple[SectionResult | None, str | None]:
    """(the stored section, None) when it verifies and matches ``inputs``; else (None, why it is recomputed), the
    reason None for a section never written."""
    if not path.exists():
        return None, None
    rel = path.relative_to(out).as_posix()
    try:
        d = read_json(path)
        mismatch = settings_mismatch(d["inputs"], inputs)
        if mismatch is not None:
            return None, f"{rel} was made with other inputs ({mismatch}): recomputed"
        r = d["result"]
        claims = tuple(Claim(c["statement"], c["check"], c["status"], c["numbers"],
                             tuple(Figure(**f) for f in c["figures"]), c["command"], c.get("id", ""))
                       for c in r["claims"])
        result = SectionResult(r["id"], r["title"], claims, r["seconds"], _key(inputs))
        sums = d["figures"]
    except CorruptFile as err:
        return None, f"{rel} is corrupt ({err.reason}): recomputed"
    except (KeyError, TypeError, AttributeError):
        return None, f"{rel} is not a tour section file: recomputed"
    for fig, digest in sums.items():
        try:
            ok = sha256((out / fig).read_bytes()) == digest
        except OSError:
            return None, f"{rel}: figure {fig} is missing: recomputed"
        if not ok:
            return None, f"{rel}: figure {fig} changed since it was written (sha256): recomputed"
    if set(sums) != {f.path for c in claims for f in c.figures}:
        return None, f"{rel}: its figure checksums do not cover its figures: recomputed"
    return result, None


def _figure_style():
    """SVG text stays text (searchable, and measurable in a browser: the page's tests check that no two labels
    overlap)."""
    import matplotlib

    return matplotlib.rc_context({"svg.fonttype": "none"})


def select_sections(only: str | None) -> list[Section] | None:
    """The sections named in ``only`` ("goal,convexity"), in the tour's order; None (all) when ``only`` is None."""
    from ..validation import InputError

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
    with fewer_collections():
        return _run_tour(Path(out), quick, seed, sections, progress)


def _run_tour(out: Path, quick: bool, seed: int, sections: list[Section] | None,
              progress: Callable[[str, int, int], Any] | None) -> TourResult:
    (out / "sections").mkdir(parents=True, exist_ok=True)
    sections = SECTIONS if sections is None else sections
    t0 = time.perf_counter()
    done, reused, notes = [], [], []
    for i, section in enumerate(sections):
        if progress:
            progress(section.title, i, len(sections))
        inputs = _inputs(section, quick, seed)
        path = out / "sections" / f"{section.id}.json"
        cached, why = _load_cached(path, inputs, out)
        if cached is not None:
            done.append(cached)
            reused.append(section.id)
            continue
        if why is not None:
            notes.append(why)
        ts = time.perf_counter()
        with _figure_style():
            claims = tuple(section.run(Context(out, quick, seed)))
        result = SectionResult(section.id, section.title, claims, time.perf_counter() - ts, _key(inputs))
        write_json(path, {"inputs": inputs, "result": result.to_dict(),
                          "figures": _figure_sums(claims, out)})
        done.append(result)
    if progress:
        progress("page", len(sections), len(sections))
    tour = TourResult(__version__, quick, seed, tuple(done), tuple(reused), time.perf_counter() - t0, tuple(notes))
    atomic_write(out / "results.json", json.dumps(jsonable(tour.to_dict()), indent=1, allow_nan=False))
    write_tour_page(tour, out)
    return tour
