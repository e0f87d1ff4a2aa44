"""Stage 5: evidence for critical points the second-order test cannot decide (``degenerate``).

* 1-D: the first non-zero derivative ``f⁽ᵏ⁾(x*)``, ``k >= 2`` (to ``MP_DIGITS`` digits, zero below 1e-20), decides:
  ``k`` even: a strict local minimum if ``f⁽ᵏ⁾ > 0``, maximum if ``< 0``; ``k`` odd: an inflection, a saddle.
  Each derivative is differentiated once and kept; past the node budget of :mod:`losslens.budget` no verdict.
* n-D: witnesses on spheres of radius 1e-2, 1e-3, 1e-4 of the box diameter around ``x*`` (512 seeded directions
  each) with lower and higher values: ``behaves_like`` ``saddle`` / ``min`` / ``max`` / ``unclear``. Sampled
  evidence, not a proof: the kind stays ``degenerate``.
"""
from __future__ import annotations

import math

import mpmath
import sympy
import torch

from .. import budget
from ..objective import Box, Objective
from .limits import MP_DIGITS
from .symbolic import Symbolic


def derivative(sym: Symbolic, k: int):
    """f^(k) of a 1-D objective, computed once and kept; None when f^(k-1) is past the work budget."""
    ds = sym.derivatives
    if not ds:
        ds.append(sym.f)
    while len(ds) <= k:
        if ds[-1] is None or budget.nodes(ds[-1], budget.MAX_DIFF_NODES) > budget.MAX_DIFF_NODES:
            ds.append(None)
        else:
            ds.append(sympy.diff(ds[-1], sym.symbols[0]))
    return ds[k]


def derivative_order_1d(sym: Symbolic, x, max_order: int = budget.MAX_DERIVATIVE_ORDER) -> dict | None:
    """The first non-zero derivative test at the 1-D point ``x`` (module docstring): the evidence dict, or None
    when a derivative cannot be evaluated there."""
    s = sym.symbols[0]
    with mpmath.workdps(MP_DIGITS):
        for k in range(1, max_order + 1):
            d = derivative(sym, k)
            if d is None:
                return {"test": "first non-zero derivative", "order": None, "kind": "degenerate",
                        "statement": f"f^({k}) not computed: f^({k - 1}) has more than {budget.MAX_DIFF_NODES} "
                                     f"nodes (work budget); no verdict"}
            if k < 2:
                continue
            try:
                v = mpmath.mpf(d.evalf(MP_DIGITS, subs={s: sympy.Float(mpmath.nstr(x, MP_DIGITS), MP_DIGITS)}))
            except (TypeError, ValueError):
                return None
            if abs(v) > mpmath.mpf(10) ** -20 * max(1, k ** k):
                if k % 2 == 0:
                    kind = "min" if v > 0 else "max"
                    what = f"order {k} (even), f^({k}) {'>' if v > 0 else '<'} 0: a strict local {kind}imum"
                else:
                    kind = "saddle"
                    what = f"order {k} (odd): an inflection point, f rises on one side and falls on the other"
                return {"test": "first non-zero derivative", "order": k, "derivative": float(v), "kind": kind,
                        "statement": f"f^(2..{k - 1}) vanish to 1e-20, f^({k})(x*) = {float(v):.6g}: {what}"}
    return {"test": "first non-zero derivative", "order": None, "kind": "degenerate",
            "statement": f"the first {max_order} derivatives all vanish to 1e-20: no verdict"}


def witnesses(objective: Objective, x: torch.Tensor, value: float, box: Box, seed: int) -> dict:
    """Points near ``x`` with lower and with higher f, on spheres of shrinking radius (n-D degenerate points)."""
    lo, hi = box.tensors(x.dtype)
    diam = float(torch.linalg.vector_norm(hi - lo))
    g = torch.Generator().manual_seed(seed)
    rows = []
    for rel in (1e-2, 1e-3, 1e-4):
        r = rel * diam
        U = torch.randn(512, objective.n, generator=g, dtype=x.dtype)
        P = x + r * U / torch.linalg.vector_norm(U, dim=1, keepdim=True)
        with torch.no_grad():
            v = objective.values(P)
        v = torch.where(torch.isfinite(v), v, torch.full_like(v, math.nan))
        slack = 1e-12 * max(1.0, abs(value))
        low = int(torch.nan_to_num(v, nan=math.inf).argmin())
        high = int(torch.nan_to_num(v, nan=-math.inf).argmax())
        rows.append({"radius": r,
                     "lower": P[low].tolist() if float(v[low]) < value - slack else None,
                     "lower_value": float(v[low]),
                     "higher": P[high].tolist() if float(v[high]) > value + slack else None,
                     "higher_value": float(v[high])})
    both = all(r["lower"] is not None and r["higher"] is not None for r in rows)
    only_up = all(r["lower"] is None for r in rows)
    only_down = all(r["higher"] is None for r in rows)
    like = "saddle" if both else "min" if only_up else "max" if only_down else "unclear"
    text = {"saddle": "lower and higher values at every radius tried: behaves like a saddle",
            "min": "no lower value found at any radius tried: behaves like a minimum",
            "max": "no higher value found at any radius tried: behaves like a maximum",
            "unclear": "witnesses differ between radii"}[like]
    return {"test": "nearby witnesses", "behaves_like": like, "radii": rows,
            "statement": text + " (sampled evidence, not a proof; the kind stays degenerate)"}
