"""Render results as self-contained HTML pages (jinja2 templates; no network needed to view them)."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..storage import atomic_write
from ..validation import InputError

_env = Environment(loader=PackageLoader("losslens.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)


def _cut(s: str, limit: int) -> str:
    """``s`` whole when it has at most ``limit`` characters, else up to the last item separator (``", "`` or
    ``"; "``) before ``limit`` and " ..." (never inside a number: a cut 8.4834e-155 would read as 8.4834)."""
    if len(s) <= limit:
        return s
    end = max(s.rfind(", ", 0, limit + 1), s.rfind("; ", 0, limit + 1))
    return (s[:end] if end > 0 else "") + " ..."


def fmt(v: Any, keep: frozenset[str] = frozenset()) -> str:
    """Numbers to 6 significant digits, lists of numbers inline, None as 'n/a', verdict words in plain words
    (``not_convex`` -> "not convex"); strings in ``keep`` (the user's own names, see :func:`user_text`) as they are."""
    if v is None:
        return "n/a"
    if isinstance(v, str) and v not in keep and re.fullmatch(r"[a-z]+(_[a-z]+)+", v):
        return v.replace("_", " ")
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    if isinstance(v, list) and len(v) <= 12 and all(isinstance(u, (int, float)) for u in v):
        return "[" + ", ".join(fmt(u) for u in v) + "]"
    if isinstance(v, dict) and len(v) <= 12:
        return _cut("; ".join(f"{k}: {fmt(u, keep)}" for k, u in v.items()), 400)
    if isinstance(v, list) and len(v) <= 12:
        return "[" + ", ".join(fmt(u, keep) for u in v) + "]"
    if isinstance(v, (list, dict)):
        return _cut(json.dumps(v), 300)
    return str(v)


# keys whose strings the user wrote: variable names and labels are shown as given, never as verdict words
USER_KEYS = frozenset({"names", "lifted_names", "variables", "expression", "objective", "model", "label", "labels",
                       "checkpoint"})


def user_text(data: Any) -> frozenset[str]:
    """Every string held (directly or in a list) under a key of :data:`USER_KEYS`, at any depth of ``data``."""
    found: set[str] = set()

    def walk(v: Any, user: bool) -> None:
        if isinstance(v, str) and user:
            found.add(v)
        elif isinstance(v, list):
            for u in v:
                walk(u, user)
        elif isinstance(v, dict):
            for k, u in v.items():
                walk(u, k in USER_KEYS)

    walk(data, False)
    return frozenset(found)


_env.filters["fmt"] = fmt
_env.globals["slug"] = lambda s: "".join(c if c.isalnum() else "-" for c in s.lower()).strip("-")


def _write(path: Path, text: str) -> None:
    atomic_write(path, text)


STATUS_WORDS = {"confirmed": "confirmed: the computation agrees", "refuted": "refuted: the computation disagrees",
                "unknown": "unknown: the computation cannot decide", "unavailable": "not checked in this build"}


def _intros(data) -> dict[str, str]:
    """Each section's opening prose and formulas (MathML from sympy), by section id."""
    from .sections import SECTIONS

    return {s.id: s.intro() for s in SECTIONS if s.intro is not None}


def render_tour(data) -> str:
    counts: dict[str, int] = {}
    for s in data["sections"]:
        for c in s["claims"]:
            counts[c["status"]] = counts.get(c["status"], 0) + 1
    return _env.get_template("tour.html.j2").render(tour=data, counts=counts, intros=_intros(data),
                                                    words=STATUS_WORDS)


def write_tour_page(tour, out: Path) -> Path:
    data = tour.to_dict() if hasattr(tour, "to_dict") else tour
    path = Path(out) / "index.html"
    _write(path, render_tour(data))
    return path


def render_result(results_json: str | Path, out: str | Path | None = None) -> Path:
    """Render any saved ``--json`` result (or a tour's results.json) as an HTML page next to it or at ``out``."""
    src = Path(results_json)
    try:
        data = json.loads(src.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"cannot read {str(src)!r}: {err.strerror}") from None
    except ValueError as err:
        raise InputError(f"{str(src)!r} is not JSON: {err}") from None
    if not (isinstance(data, dict) and "schema_version" in data and "losslens" in data):
        raise InputError(f"{str(src)!r} is not a losslens result (no schema_version and losslens keys): give a file "
                         "written by a command's --json, or a tour's results.json")
    target = Path(out) if out is not None else src.with_suffix(".html")
    if isinstance(data, dict) and "sections" in data and "version" in data:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, render_tour(data))
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _write(target, _env.get_template("result.html.j2").render(title=src.name, data=data, keep=user_text(data)))
    return target
