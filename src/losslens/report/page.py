"""Render results as self-contained HTML pages (jinja2 templates; no network needed to view them)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..storage import atomic_write
from ..validation import InputError

_env = Environment(loader=PackageLoader("losslens.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)


def fmt(v: Any) -> str:
    """Numbers to 6 significant digits, lists of numbers inline, None as 'n/a'."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    if isinstance(v, list) and len(v) <= 12 and all(isinstance(u, (int, float)) for u in v):
        return "[" + ", ".join(fmt(u) for u in v) + "]"
    if isinstance(v, (list, dict)):
        s = json.dumps(v)
        return s if len(s) <= 300 else s[:300] + " ..."
    return str(v)


_env.filters["fmt"] = fmt
_env.globals["slug"] = lambda s: "".join(c if c.isalnum() else "-" for c in s.lower()).strip("-")


def _write(path: Path, text: str) -> None:
    atomic_write(path, text)


def write_tour_page(tour, out: Path) -> Path:
    data = tour.to_dict() if hasattr(tour, "to_dict") else tour
    counts: dict[str, int] = {}
    for s in data["sections"]:
        for c in s["claims"]:
            counts[c["status"]] = counts.get(c["status"], 0) + 1
    path = Path(out) / "index.html"
    _write(path, _env.get_template("tour.html.j2").render(tour=data, counts=counts))
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
    target = Path(out) if out is not None else src.with_suffix(".html")
    if isinstance(data, dict) and "sections" in data and "version" in data:
        target.parent.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        for s in data["sections"]:
            for c in s["claims"]:
                counts[c["status"]] = counts.get(c["status"], 0) + 1
        _write(target, _env.get_template("tour.html.j2").render(tour=data, counts=counts))
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _write(target, _env.get_template("result.html.j2").render(title=src.name, data=data))
    return target
