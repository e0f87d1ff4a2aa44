"""The entry point: the eight stages of :mod:`losslens.critical` in order, with input checks and work budgets."""
from __future__ import annotations

import math
import time
from functools import partial

import torch

from .. import budget
from .. import interval as I
from ..budget import BudgetExceeded
from ..objective import Box, Objective
from ..validation import InputError, check_float, check_int
from .complete import prove_complete
from .dedupe import merge
from .examine import Search, examine
from .global_min import global_minimum
from .limits import MAX_BOXES, MAX_BOXES_LIMIT, MAX_COMPLETE_N, MAX_POINTS
from .multistart import batched_newton, sobol_starts
from .result import KINDS, CriticalPoint, CriticalPoints
from .symbolic import symbolic_form


def check_box(objective: Objective, box) -> Box:
    """``box`` (a :class:`Box`, text or None: the objective's own box) as a :class:`Box` of ``objective.n`` sides."""
    box = Box.coerce(box if box is not None else objective.box, objective.n)
    if box is None:
        raise InputError("box is missing: critical points are searched in a box, e.g. --box=-2:2,-1:3")
    return box


def is_new(p: CriticalPoint | None, points: list[CriticalPoint], radius: float) -> bool:
    """``p`` is a critical point farther than ``radius`` from every point in ``points``."""
    return p is not None and not any(math.dist(p.point, q.point) <= radius for q in points)


def add_found(search: Search, points: list[CriticalPoint], radius: float, mid: list):
    """Completeness found a sub-box with exactly one zero and no reported point: examine its midpoint ``mid`` [n],
    add the point to ``points`` when it is new; returns (point, certificate box) or None."""
    p = examine(search, [torch.tensor(mid, dtype=search.objective.dtype)], [0])[0]
    if not is_new(p, points, radius):
        return None
    points.append(p)
    return (list(p.point), p.certificate["box"])


def completeness(search: Search, points: list[CriticalPoint], radius: float, *, prove: bool, left_out: int,
                 no_symbolic: str, deadline: float, max_boxes: int) -> dict:
    """Stage 7 or the reason it is not attempted (proofs off, work budget of points used, no symbolic form,
    ``n > MAX_COMPLETE_N``). Points found by the proof are appended to ``points``."""
    n = search.objective.n
    if not prove:
        return {"proved": False, "reason": "interval proofs switched off (prove=False)", "boxes": 0}
    if left_out:
        return {"proved": False, "boxes": 0, "stopped_by": "work",
                "reason": f"{left_out} converged starts lie outside the first {MAX_POINTS} distinct critical "
                          f"points examined, the lowest first (work budget: more critical points than that, or a "
                          f"continuum of them, e.g. a constant function): no completeness proof"}
    if search.sym is None:
        return {"proved": False, "reason": no_symbolic, "boxes": 0}
    if n > MAX_COMPLETE_N:
        return {"proved": False, "boxes": 0,
                "reason": f"completeness proofs are limited to n <= {MAX_COMPLETE_N} variables (n = {n}); "
                          "the points found are still refined, certified and classified"}
    known = [(list(p.point), p.certificate["box"]) for p in points]
    return prove_complete(search.sym, search.box, known, deadline, partial(add_found, search, points, radius),
                          max_boxes=max_boxes)


def find_critical_points(objective: Objective, box=None, *, starts: int | None = None, seed: int = 0,
                         time_budget: float = 10.0, epsilon: float = 1e-6, merge_radius: float = 1e-6,
                         prove: bool = True, max_boxes: int = None) -> CriticalPoints:
    """Find, refine, certify and classify every critical point of ``objective`` in ``box``; the global minimum.

    ``box``: a :class:`Box`, text ``"-1:2,0:3"`` or None (the objective's own box); ``starts``: number of Sobol
    starts (default 256·n, at most 4096); ``time_budget``: seconds for the interval proofs (completeness and
    global minimum; finding points is not cut short); ``epsilon``: tolerance of the global-minimum certificate;
    ``prove``: run the interval proofs at all; ``max_boxes``: work budget of each interval branch-and-bound
    (completeness, global minimum), in sub-boxes (default :data:`MAX_BOXES`). The box counts decide; the time
    budget is an outer safety net, and ``completeness["stopped_by"]`` says which one stopped a proof. The symbolic
    gradient and Hessian are built within the node budget of :mod:`losslens.budget`; past it the proofs are skipped
    with that reason. Interval arithmetic runs at :data:`losslens.interval.PREC` bits (the caller's mpmath
    precision is restored afterwards).

    >>> from losslens import parse
    >>> r = find_critical_points(parse("himmelblau"), time_budget=30)
    >>> r.counts, r.complete
    ({'min': 4, 'max': 1, 'saddle': 4, 'degenerate': 0, 'nonsmooth': 0}, True)
    """
    t0 = time.perf_counter()
    if not isinstance(objective, Objective):
        raise InputError(f"objective == {objective!r}, must be a losslens Objective (an expression or catalog name "
                         "via losslens.parse)")
    box = check_box(objective, box)
    m = check_int("starts", starts if starts is not None else min(4096, 256 * objective.n), lo=1, hi=1 << 20)
    seed = check_int("seed", seed, lo=0)
    time_budget = check_float("time_budget", time_budget, lo=0, lo_open=True)
    epsilon = check_float("epsilon", epsilon, lo=0, lo_open=True)
    merge_radius = check_float("merge_radius", merge_radius, lo=0, lo_open=True)
    max_boxes = check_int("max_boxes", max_boxes if max_boxes is not None else MAX_BOXES, lo=1, hi=MAX_BOXES_LIMIT)
    with I.precision():
        return _find(objective, box, m, seed, time_budget, epsilon, merge_radius, prove, max_boxes, t0)


def _find(objective, box, m, seed, time_budget, epsilon, merge_radius, prove, max_boxes, t0) -> CriticalPoints:
    no_symbolic = "no symbolic form: interval branch-and-bound needs the expression"
    try:
        with budget.safety_net(time_budget + 1.0, "symbolic gradient and Hessian"):
            sym = symbolic_form(objective)
    except BudgetExceeded as err:
        sym, no_symbolic = None, f"no symbolic form within budget ({err}): interval proofs skipped"
    search = Search.of(objective, sym, box, seed)
    lo, hi = box.tensors(objective.dtype)
    radius = merge_radius * search.diam

    # 1-3: starts, batched Newton, merge
    X0 = sobol_starts(box, m, seed, objective.dtype)
    X, gn, finite, gscale = batched_newton(objective, X0)
    undefined = {"starts_not_finite": int((~finite).sum()), "starts": m}
    slack = 1e-9 * search.width
    conv = finite & (gn <= 1e-6 * gscale) & ((X >= lo - slack) & (X <= hi + slack)).all(1)
    with torch.no_grad():      # lowest values first: past the MAX_POINTS budget, the points left out are the highest
        ends = X[conv][torch.argsort(objective.values(X[conv]), stable=True)]
    clusters, left_out = merge(ends, radius, MAX_POINTS)

    # 4-6: refine, classify, evidence, certificate
    points: list[CriticalPoint] = []
    for p in examine(search, [x for x, _ in clusters], [k for _, k in clusters]):
        if is_new(p, points, radius):
            points.append(p)

    # 7: completeness, half of the time budget (the rest, and what it leaves, goes to the global minimum)
    t_proofs = time.perf_counter()
    proof = completeness(search, points, radius, prove=prove, left_out=left_out, no_symbolic=no_symbolic,
                         deadline=t_proofs + 0.5 * time_budget, max_boxes=max_boxes)
    undefined["box_fraction_undefined"] = proof.pop("undefined_fraction", None)

    # 8: global minimum on the box
    interior = [list(p.point) for p in points if p.kind in ("min", "degenerate", "nonsmooth")]
    gm = None
    if prove or sym is None:
        inbox = torch.minimum(torch.maximum(torch.nan_to_num(X, nan=0.0), lo), hi)
        gm = global_minimum(objective, sym if prove else None, box, torch.cat([X0, inbox]), interior, epsilon,
                            t_proofs + time_budget, max_boxes)
    points.sort(key=lambda p: (p.value, p.point))
    counts = {k: sum(p.kind == k for p in points) for k in KINDS}
    text = getattr(objective, "expression", None)
    return CriticalPoints(str(text) if text is not None else objective.label, objective.names, box.to_dict(),
                          tuple(points), counts, bool(proof["proved"]), proof, gm, undefined, m, seed,
                          time.perf_counter() - t0)
