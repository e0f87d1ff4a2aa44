"""Stage 8: the global minimum of ``f`` on the closed box ``B`` (interior or boundary), certified by intervals.

Upper bounds: values at the starts and at the Newton end points, polished by batched projected gradient descent
(minima may sit on the boundary), and the reported interior minima. Lower bounds: interval branch-and-bound on
``f`` over ``B`` (best-first), each sub-box ``X`` (centre ``c``) bounded below by

    max( F(X).lo, (f(c) + G(X)·(X − c)).lo )

(the natural enclosure ``F`` and the mean-value form with the gradient enclosure ``G``, outward rounded), and its
centre's enclosure ``f(c).hi`` improving the best value. Certified when ``best value − lower bound <= epsilon``.
"""
from __future__ import annotations

import heapq
import math
import time

import mpmath
import numpy as np
import torch
from mpmath import iv
from torch.func import grad as _grad, vmap

from .. import interval as I
from ..objective import Box, Objective
from .limits import MAX_BOXES
from .result import GlobalMinimum
from .symbolic import Symbolic


def _project_descent(objective: Objective, X: torch.Tensor, box: Box, iters: int = 200) -> torch.Tensor:
    """Projected gradient descent with backtracking, batched: polishes upper bounds (minima may sit on the boundary)."""
    lo, hi = box.tensors(X.dtype)
    g_fn = vmap(_grad(objective.f))
    step = torch.full((len(X),), float((hi - lo).max()) / 10, dtype=X.dtype)
    with torch.no_grad():
        v = objective.values(X)
        for _ in range(iters):
            G = torch.nan_to_num(g_fn(X), nan=0.0)
            T = torch.minimum(torch.maximum(X - step[:, None] * G, lo), hi)
            vt = objective.values(T)
            ok = torch.isfinite(vt) & (vt < v)
            X = torch.where(ok[:, None], T, X)
            v = torch.where(ok, vt, v)
            step = torch.where(ok, step * 1.5, step * 0.3)
            if bool((step < 1e-14).all()):
                break
    return X


def global_minimum(objective: Objective, sym: Symbolic | None, box: Box, candidates: torch.Tensor,
                   interior: list, epsilon: float, deadline: float, max_boxes: int = None) -> GlobalMinimum | None:
    """Best point on the closed box, and (with a symbolic form) a certified interval lower bound over the box."""
    t0 = time.perf_counter()
    with torch.no_grad():
        v = objective.values(candidates)
    keep = torch.isfinite(v)
    pool = []
    if bool(keep.any()):
        C, v = candidates[keep], v[keep]
        top = torch.argsort(v)[:16]
        P = _project_descent(objective, C[top], box)
        with torch.no_grad():
            pv = objective.values(P)
        pool += [(float(a), tuple(map(float, p))) for a, p in zip(pv, P) if math.isfinite(float(a))]
    # the reported interior points count even when no start had a finite value (x² on ±1e300: every start overflows)
    pool += [(a, tuple(p)) for p in interior
             if math.isfinite(a := float(objective.value(torch.tensor(p, dtype=objective.dtype))))]
    if not pool:
        return None
    best_v, best_x = min(pool)
    lb, boxes, reason = None, 0, "no symbolic form: no interval lower bound"
    if sym is not None:
        best_v, best_x, lb, boxes, reason = _branch_and_bound_min(sym, box, best_v, best_x, epsilon, deadline,
                                                                  MAX_BOXES if max_boxes is None else max_boxes)
    where = "interior" if any(max(abs(a - b) for a, b in zip(best_x, p)) < 1e-8 * (1 + max(map(abs, p)))
                              for p in interior) else "boundary" if _on_boundary(best_x, box) else "interior"
    gap = None if lb is None else best_v - lb
    certified = gap is not None and gap <= epsilon
    if certified:
        reason = (f"global minimum on this box, certified to within {epsilon:g}: interval lower bound {lb:.12g} "
                  f"over {boxes} sub-boxes, best value {best_v:.12g}")
    return GlobalMinimum(tuple(best_x), best_v, where, lb, gap, epsilon, certified, reason, boxes,
                         time.perf_counter() - t0)


def _on_boundary(x, box: Box) -> bool:
    return any(min(abs(v - a), abs(v - b)) <= 1e-9 * (b - a) for v, a, b in zip(x, box.lo, box.hi))


def _lower(sym: Symbolic, X: list):
    """Lower bound of f over X: the larger of the natural and the mean-value enclosure's lower ends (None: undefined)."""
    out = I.enclose_many([sym.f] + sym.grad, sym.env(X))
    F, G = out[0], out[1:]
    if F is None:
        return None, None
    c = [iv.mpf(mpmath.mpf(I.mid(x))) for x in X]
    fc = I.enclose(sym.f, sym.env(c))
    low = F.a
    if fc is not None and all(g is not None and I.is_finite(g) for g in G) and I.is_finite(fc):
        mv = fc
        for g, x, ci in zip(G, X, c):
            mv = mv + g * (x - ci)
        low = max(low, mv.a)
    mid_value = float(fc.b) if fc is not None and I.is_finite(fc) else None     # upper end: a true value is <= it
    return low, mid_value


def _branch_and_bound_min(sym, box, best_v, best_x, epsilon, deadline, max_boxes):
    widths = np.array(box.hi) - np.array(box.lo)
    X0 = I.box(box.lo, box.hi)
    low, _ = _lower(sym, X0)
    if low is None:
        return best_v, best_x, None, 1, "f is undefined on the whole box"
    heap = [(float(low), 0, X0)]
    counter, boxes = 1, 1
    while heap:
        lb = heap[0][0]
        if best_v - lb <= epsilon:
            return best_v, best_x, lb, boxes, ""
        if boxes >= max_boxes:
            return best_v, best_x, lb, boxes, (f"not certified: work budget of {max_boxes} sub-boxes used, gap "
                                               f"{best_v - lb:.3g} > epsilon {epsilon:g}")
        if time.perf_counter() > deadline:
            return best_v, best_x, lb, boxes, (f"not certified: time budget ran out (safety net) after {boxes} "
                                               f"sub-boxes with gap {best_v - lb:.3g} > epsilon {epsilon:g}")
        _, _, X = heapq.heappop(heap)
        axis = int(np.argmax([I.width(x) / w for x, w in zip(X, widths)]))
        for half in I.bisect(X, axis):
            boxes += 1
            low, mid_value = _lower(sym, half)
            if low is None:
                continue
            if mid_value is not None and mid_value < best_v:
                best_v, best_x = mid_value, tuple(I.mid(x) for x in half)
            if float(low) <= best_v - 0.0:
                heapq.heappush(heap, (float(low), counter, half))
                counter += 1
            if I.width(half[axis]) / widths[axis] < 1e-13:
                return best_v, best_x, heap[0][0] if heap else best_v, boxes, "not certified: sub-boxes too small"
    return best_v, best_x, best_v, boxes, ""
