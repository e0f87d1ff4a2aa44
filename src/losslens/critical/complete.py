"""Stage 7: completeness by interval branch-and-bound (``n <= MAX_COMPLETE_N``).

Over the box ``B``, sub-boxes ``X`` are taken from a stack: ``X`` is discarded when an outward-rounded enclosure of
some ``g_i = ∂f/∂x_i`` over ``X`` excludes 0, or when Krawczyk gives ``K(X) ∩ X = ∅``
(:mod:`losslens.critical.certificate`); it is accounted for when ``K(X) ⊂ int X`` and the one zero in it is a
reported point (a zero not yet reported is handed to ``on_new``, refined and added); else it is bisected along its
widest relative side. A sub-box too small to bisect further is tried once more widened by its own width on every
side, for a zero on its edge (:func:`_settle_on_edge`). Sub-boxes wholly outside the natural domain of ``f`` are
skipped and their volume reported. Completeness holds only when every sub-box was settled this way within
``max_boxes`` sub-boxes (work) and before the ``deadline`` (safety net).
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import mpmath
import numpy as np
import sympy
from mpmath import iv

from .. import interval as I
from ..classify import NONSMOOTH, term_text
from ..objective import Box
from .certificate import krawczyk
from .limits import MAX_BOXES
from .symbolic import Symbolic


def _in_box(p: Sequence[float], X: list) -> bool:
    return all(x.a <= v <= x.b for v, x in zip(p, X))


def _cert_inside(cert_box, X) -> bool:
    return cert_box is not None and all(x.a <= a and b <= x.b for (a, b), x in zip(cert_box, X))


def _meets(cert_box, X) -> bool:
    return all(a <= x.b and x.a <= b for (a, b), x in zip(cert_box, X))


def _hull(cert_box, X) -> list:
    return [iv.mpf([min(mpmath.mpf(a), x.a), max(mpmath.mpf(b), x.b)]) for (a, b), x in zip(cert_box, X)]


def _contains(outer, inner) -> bool:
    """The box ``outer`` ([[lo, hi], ...] or intervals) contains the box ``inner`` (intervals)."""
    return all(float(o[0] if isinstance(o, (list, tuple)) else o.a) <= x.a and
               x.b <= float(o[1] if isinstance(o, (list, tuple)) else o.b) for o, x in zip(outer, inner))


def _settle_on_edge(sym: Symbolic, X: list, box: Box, known: list, on_new: Callable) -> bool:
    """A tiny sub-box ``X`` whose zero sits on its edge (a bisection point that is exactly a zero: the minimum 0
    of √(x² + 1e-8) on [-1, 1]) is settled on ``W``, X widened by its own width on every side (within the box):
    when Krawczyk proves exactly one zero in W and a certified point's box contains W (or lies in it), every zero
    in X is that point. A new one is refined and reported through ``on_new``."""
    W = [iv.mpf([max(x.a - (x.b - x.a), lo), min(x.b + (x.b - x.a), hi)]) for x, lo, hi in zip(X, box.lo, box.hi)]
    if krawczyk(sym, W) != "unique":
        return False
    if any(k[1] is not None and (_contains(k[1], W) or _cert_inside(k[1], W)) for k in known):
        return True
    new = on_new([I.mid(w) for w in W])
    if new is not None and new[1] is not None and (_contains(new[1], W) or _cert_inside(new[1], W)):
        known.append(new)
        return True
    return False


def prove_complete(sym: Symbolic, box: Box, known: list, deadline: float, on_new: Callable,
                   min_width: float = 1e-10, max_boxes: int = None):
    """Branch-and-bound showing that ∇f has no zero in ``box`` besides the certified points ``known``.

    ``known``: list of (point, certificate box or None). ``on_new(x)`` is called with the midpoint of a sub-box
    proved to hold exactly one zero that no known certificate covers; it returns (point, certificate box) or None.
    Returns a dict: proved, reason, boxes, unresolved (list of boxes), undefined_volume, stopped_by (None, "work":
    ``max_boxes`` sub-boxes examined, or "time": the ``deadline`` safety net).
    """
    max_boxes = MAX_BOXES if max_boxes is None else max_boxes
    start = time.perf_counter()
    stack = [I.box(box.lo, box.hi)]
    widths = np.array(box.hi) - np.array(box.lo)

    def volume(X) -> float:
        """Volume of X as a fraction of the box's, side by side (a box of sides 1e-299 has volume 0 in float64)."""
        return float(np.prod([I.width(x) / w for x, w in zip(X, widths)]))
    boxes, undefined, unresolved = 0, 0.0, []
    while stack:
        over_work, over_time = boxes >= max_boxes, time.perf_counter() > deadline
        if over_work or over_time:
            left = sum(volume(X) for X in stack)
            which = (f"work budget of {max_boxes} sub-boxes used" if over_work else
                     f"time budget ran out (safety net) after {boxes} sub-boxes")
            return {"proved": False, "boxes": boxes, "seconds": time.perf_counter() - start,
                    "reason": f"{which}, {100 * left:.3g}% of the box unsettled", "stopped_by":
                        "work" if over_work else "time", "unresolved": [], "undefined_fraction": undefined}
        X = stack.pop()
        boxes += 1
        F, *G = I.enclose_many([sym.f] + sym.grad, sym.env(X))
        if F is None or any(v is None for v in G):
            undefined += volume(X)
            continue
        if any(v.a > 0 or v.b < 0 for v in G):
            continue
        inside_known = [k for k in known if _in_box(k[0], X)]
        # a certified zero whose certificate box C meets X (it may sit on X's edge, where Krawczyk on X alone cannot
        # succeed): exactly one zero in hull(X, C) means every zero in X is that one
        if any(k[1] is not None and _meets(k[1], X) and not _cert_inside(k[1], X)
               and krawczyk(sym, _hull(k[1], X)) == "unique" for k in known):
            continue
        verdict = krawczyk(sym, X)
        if verdict == "none":
            continue
        if verdict == "unique":
            if any(_cert_inside(k[1], X) for k in inside_known):
                continue
            if not inside_known:
                new = on_new([I.mid(x) for x in X])
                if new is not None and _cert_inside(new[1], X):
                    known.append(new)
                    continue
        rel = [I.width(x) / w for x, w in zip(X, widths)]
        axis = int(np.argmax(rel))
        if rel[axis] < min_width:
            if not _settle_on_edge(sym, X, box, known, on_new):
                unresolved.append([[float(x.a), float(x.b)] for x in X])
            continue
        a, b = I.bisect(X, axis)
        stack += [b, a]
    if unresolved:
        where = sorted({tuple(round(I.mid(iv.mpf(list(u))), 6) for u in r) for r in unresolved[:1]})
        kink = kink_in(sym, [iv.mpf(list(u)) for u in unresolved[0]])
        why = (f"f is not differentiable there: a kink of {kink}, where the gradient jumps" if kink else
               "a zero of the gradient with a singular Hessian cannot be isolated by interval Newton")
        return {"proved": False, "boxes": boxes, "seconds": time.perf_counter() - start,
                "reason": (f"{len(unresolved)} tiny sub-box(es) could not be settled ({why}), e.g. near "
                           f"{list(where[0])}; everywhere else no critical point besides those reported"),
                "unresolved": unresolved[:20], "undefined_fraction": undefined, "stopped_by": None}
    return {"proved": True, "stopped_by": None, "boxes": boxes, "seconds": time.perf_counter() - start,
            "reason": f"interval branch-and-bound over {boxes} sub-boxes: every zero of the gradient in the box is "
                      "one of the reported points", "unresolved": [], "undefined_fraction": undefined}


def kink_in(sym: Symbolic, X: list) -> str | None:
    """A term ``abs(a)``, ``max(..)`` or ``min(..)`` of f that may switch branch in the box ``X`` (0 in the enclosure
    of ``a``, or two arguments' enclosures that overlap), as text; None if there is none."""
    for atom in sorted(sym.f.atoms(*NONSMOOTH), key=sympy.default_sort_key):
        enc = I.enclose_many(list(atom.args), sym.env(X))
        if any(e is None for e in enc):
            continue
        if (enc[0].a <= 0 <= enc[0].b if atom.func is sympy.Abs else
                any(u.a <= v.b and v.a <= u.b for i, u in enumerate(enc) for v in enc[i + 1:])):
            return term_text(atom)
    return None
