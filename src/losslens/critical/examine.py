"""Stages 4-6 for a batch of candidates: refine each one, classify all at once, then evidence and certificate.

A candidate ``x`` (float64, [n]) is refined in 50 digits (:mod:`losslens.critical.refinement`) and the refined point is
kept only if it stays in the box (to a slack of 1e-9 of each side) and within 1e-3 of the box diameter of ``x``;
the second-order test (:func:`losslens.classify.classify_points`, one batched Hessian) gives the kind; points that
are ``not_critical``/``not_finite`` there are dropped; every point gets a Krawczyk certificate when ``f`` has a
symbolic form; a ``degenerate`` point with a certificate is decided by the signs of its Hessian's eigenvalues in 50
digits (:func:`certified_inertia`: the certificate proves the Hessian nonsingular), the others get higher-order
evidence (:mod:`losslens.critical.higher_order`). (Far from the candidate, the refined point is kept only when it
is a zero of the gradient: :func:`refined`.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import torch

from .. import budget
from ..budget import BudgetExceeded
from ..classify import PointReport, classify_points
from ..objective import Box, Objective
from .higher_order import derivative_order_1d, witnesses
from .certificate import certify
from .limits import HIGHER_ORDER_POINTS, HIGHER_ORDER_SECONDS, MP_DIGITS
from .refinement import refine
from .result import CriticalPoint
from .symbolic import Symbolic


@dataclass(frozen=True)
class Search:
    """What every stage needs to know about one search: the objective, its symbolic form (or None), the box, the
    seed of the witnesses, the box widths ``width`` [n] and diameter ``diam`` = ‖width‖."""

    objective: Objective
    sym: Symbolic | None
    box: Box
    seed: int
    width: torch.Tensor
    diam: float

    @classmethod
    def of(cls, objective: Objective, sym: Symbolic | None, box: Box, seed: int) -> "Search":
        lo, hi = box.tensors(objective.dtype)
        width = hi - lo
        return cls(objective, sym, box, seed, width, float(torch.linalg.vector_norm(width)))


def refined(search: Search, x_float: torch.Tensor) -> tuple[list, float | None, list | None]:
    """(point [n] as floats, residual ‖g‖ at the 50-digit point or None, the 50-digit point or None).

    The refined point replaces the candidate when it stays in the box and either lies within 1e-3 of the box
    diameter of it, or is farther but a zero of the exact gradient: ‖g‖ there at most 1e-20 of ‖g‖ at the
    candidate (:data:`CONVERGED`). A farther zero means the candidate was not one: where ∇f is tiny without
    vanishing (``1e-12 x²``, ``x⁸`` near 0), the float64 test calls it critical, and Newton in 50 digits runs to
    the zero it was near; reporting the candidate would name a non-critical point ``min``."""
    residual, xs, mp_point = None, x_float.tolist(), None
    if search.sym is None:
        return xs, residual, mp_point
    ref = refine(search.sym, xs)
    if ref is not None:
        cand = [float(v) for v in ref[0]]
        slack = (1e-9 * search.width).tolist()
        inside = all(a - s <= v <= b + s for v, a, b, s in zip(cand, search.box.lo, search.box.hi, slack))
        if inside and (math.dist(cand, xs) <= 1e-3 * search.diam or converged(search.sym, xs, ref[1])):
            mp_point, residual, xs = ref[0], ref[1], cand
    return xs, residual, mp_point


CONVERGED = 1e-20   # a refinement reached a zero of ∇f when ‖g‖ fell below this fraction of its starting value


def converged(sym: Symbolic, xs: list, residual: float) -> bool:
    """``residual`` (‖g‖ at the refined point) is at most :data:`CONVERGED` times ‖g‖ at ``xs`` [n] (50 digits)."""
    with mpmath.workdps(MP_DIGITS):
        start = mpmath.norm(mpmath.matrix([mpmath.mpf(v) for v in sym.mp_grad(*[mpmath.mpf(u) for u in xs])]))
    return residual == 0 or (mpmath.isfinite(start) and residual <= CONVERGED * float(start))


def examine(search: Search, xs_float: list, counts: list) -> list[CriticalPoint | None]:
    """Refine each candidate [n], classify all in one batch, then evidence and certificate per point (None for a
    candidate that is not a critical point after all); ``counts``: starts that converged to each candidate."""
    rows = [refined(search, x) for x in xs_float]
    if not rows:
        return []
    obj = search.objective
    reports = classify_points(obj, torch.tensor([r[0] for r in rows], dtype=obj.dtype))
    return [critical_point(search, rep, *r, count) for rep, r, count in zip(reports, rows, counts)]


def higher_order_evidence(search: Search, rep: PointReport, xs: list, mp_point) -> dict:
    """Evidence for a degenerate point: the 1-D derivative test (within its work budget) or n-D witnesses."""
    sym = search.sym
    if search.objective.n != 1 or sym is None:
        return witnesses(search.objective, rep.point, rep.value, search.box, search.seed)
    if sym.higher_order_left <= 0:
        return {"test": "first non-zero derivative", "order": None, "kind": "degenerate",
                "statement": f"not attempted: the higher-order test ran at {HIGHER_ORDER_POINTS} "
                             f"degenerate points already (work budget); no verdict"}
    sym.higher_order_left -= 1
    try:
        with budget.safety_net(HIGHER_ORDER_SECONDS, "higher-order derivative test"):
            return derivative_order_1d(sym, mp_point[0] if mp_point else mpmath.mpf(xs[0]))
    except BudgetExceeded as err:
        return {"test": "first non-zero derivative", "order": None, "kind": "degenerate",
                "statement": f"stopped by the time safety net: {err}; no verdict"}


def certified_inertia(sym: Symbolic, mp_point: list) -> dict:
    """The second-order test at a certified zero, from the Hessian's eigenvalues in ``MP_DIGITS`` digits.

    A Krawczyk certificate (K(X) ⊂ int X) proves every matrix of the interval Hessian over the certificate box X
    nonsingular, so no eigenvalue of ∇²f crosses 0 in X: the signs at the 50-digit point ``mp_point`` [n] (in X)
    are those at the zero. The float64 test may still call such a point degenerate when the Hessian is badly
    scaled (x² + 1e8·y²: λ = 2 is below 1.5e-8 · 2e8)."""
    with mpmath.workdps(MP_DIGITS):
        eig = sorted(mpmath.eigsy(mpmath.matrix(sym.mp_hess(*mp_point)), eigvals_only=True))
    pos, neg = sum(v > 0 for v in eig), sum(v < 0 for v in eig)
    kind = ("degenerate" if pos + neg < len(eig) else "saddle" if pos and neg else "min" if pos else "max")
    return {"test": "certified second-order test", "eigenvalues": [float(v) for v in eig], "kind": kind,
            "statement": f"the Krawczyk certificate proves the Hessian nonsingular at the zero; its eigenvalues in "
                         f"{MP_DIGITS} digits are {', '.join(f'{float(v):.6g}' for v in eig)}: {kind}"}


def critical_point(search: Search, rep: PointReport, xs: list, residual, mp_point, count: int
                   ) -> CriticalPoint | None:
    """The :class:`CriticalPoint` at the refined point ``xs`` from its second-order report (None: not critical)."""
    if rep.kind in ("not_critical", "not_finite"):
        return None
    kind, evidence, reason = rep.kind, None, rep.reason
    cert = {"method": "krawczyk", "box": None, "statement": "not attempted: no symbolic form"}
    if search.sym is not None:
        cert = certify(search.sym, xs, search.width.tolist())
    if kind == "degenerate" and cert["box"] is not None and mp_point is not None and search.sym.mp_hess:
        evidence = certified_inertia(search.sym, mp_point)
        kind, reason = evidence["kind"], f"float64 second-order test undecided; {evidence['statement']}"
    elif kind == "degenerate":
        evidence = higher_order_evidence(search, rep, xs, mp_point)
        if evidence is not None and evidence.get("test") == "first non-zero derivative" \
                and evidence["kind"] != "degenerate":
            kind = evidence["kind"]
            reason = f"second-order test undecided; {evidence['statement']}"
    return CriticalPoint(tuple(xs), rep.value, rep.gradient_norm, residual, tuple(rep.eigenvalues.tolist()),
                         kind, rep.kind, reason, evidence, cert["box"] is not None, cert, count)
