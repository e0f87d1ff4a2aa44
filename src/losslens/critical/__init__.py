"""Every critical point of ``f`` in a box, what each one is, and which minimum is the global one (D2L 11.1).

A critical point is a zero of the gradient, ``g(x) = ∇f(x) = 0`` (``x``: [n]). The pipeline:

1. **Starts.** ``m`` scrambled Sobol points in the box ``B = [lo, hi]`` (``torch.quasirandom.SobolEngine``, seeded).
2. **Batched damped Newton on g.** All starts at once (``vmap`` of ``torch.func`` gradient and Hessian ``H``); the
   step is Levenberg–Marquardt on ``g = 0``, ``d = -(H² + μI)⁻¹ H g`` (``H`` symmetric, so ``Hᵀ = H``), which stays
   defined where ``H`` is singular, with a backtracking line search on ``‖g‖²`` (step sizes 1, 1/2, ..., 1/32).
   Newton on ``g`` converges to minima, maxima and saddles alike.
3. **Merge** the converged starts (distance ≤ ``merge_radius`` · diameter of ``B``) into candidates.
4. **Refine** each candidate in ``mpmath`` (50 digits) by Newton on the exact (sympy) gradient, so a reported point
   is a zero of ``g`` to far below float64 rounding (``residual`` = ``‖g‖`` there).
5. **Classify** with :func:`losslens.classify.classify_points` (second-order test, one batched Hessian). For points the second-order test
   cannot decide (``degenerate``): in 1-D the first non-zero derivative ``f⁽ᵏ⁾(x*)``, ``k >= 3``, decides (``k``
   even: min if ``f⁽ᵏ⁾ > 0``, max if ``< 0``; ``k`` odd: an inflection, a saddle); in n-D nearby witnesses of lower
   and higher values are reported, and the kind stays ``degenerate``.
6. **Existence certificate** (Krawczyk): on a small box ``X`` around ``x*`` with ``c = mid(X)``, ``Y ≈ H(c)⁻¹``,
   ``K(X) = c - Y g(c) + (I - Y J(X))(X - c)`` where ``J(X)`` encloses ``H`` over ``X`` (:mod:`losslens.interval`).
   ``K(X) ⊂ int X`` proves that ``X`` holds exactly one zero of ``g``; ``K(X) ∩ X = ∅`` proves it holds none.
7. **Completeness** (``n <= 3``): interval branch-and-bound over ``B``: a sub-box is discarded when an enclosure of
   some ``g_i`` excludes 0 or ``K(X) ∩ X = ∅``; it is accounted for when ``K(X) ⊂ int X`` and the one zero is a
   reported point (a zero not yet reported is refined and added); else it is bisected. ``complete`` is true only
   when every sub-box was settled this way within the time budget.
8. **Global minimum on B** (interior or boundary): interval branch-and-bound on ``f`` with lower bounds
   ``max(F(X), f(c) + G(X)·(X - c))`` (natural and mean-value forms, outward rounded) and upper bounds from values
   at points of ``B``. Certified when ``best value - lower bound <= epsilon``.

Parts of ``B`` where ``f`` is undefined (``log``, ``sqrt``) are skipped and reported: starts where ``f`` is not
finite, and sub-boxes wholly outside the natural domain.

One module per stage: :mod:`.multistart` (1-2), :mod:`.dedupe` (3), :mod:`.refinement` (4), :mod:`.examine` (4-6 for
a batch of candidates), :mod:`.higher_order` (5), :mod:`.certificate` (6), :mod:`.complete` (7), :mod:`.global_min`
(8); :mod:`.symbolic` (the exact gradient and Hessian), :mod:`.limits` (work budgets), :mod:`.result` (the result
dataclasses) and :mod:`.pipeline` (:func:`find_critical_points`, the stages in order).
"""
from __future__ import annotations

from .complete import prove_complete
from .dedupe import merge
from .global_min import global_minimum
from .certificate import certify, krawczyk
from .limits import (HIGHER_ORDER_POINTS, HIGHER_ORDER_SECONDS, MAX_BOXES, MAX_BOXES_LIMIT, MAX_COMPLETE_N,
                     MAX_POINTS, MP_DIGITS)
from .multistart import batched_newton, sobol_starts
from .pipeline import find_critical_points
from .refinement import refine
from .result import KINDS, CriticalPoint, CriticalPoints, GlobalMinimum
from .symbolic import Symbolic, symbolic_form

__all__ = [
    # the entry point and its results
    "find_critical_points", "CriticalPoints", "CriticalPoint", "GlobalMinimum", "KINDS",
    # the stages
    "sobol_starts", "batched_newton", "merge", "refine", "krawczyk", "certify", "prove_complete", "global_minimum",
    "Symbolic", "symbolic_form",
    # work budgets
    "MAX_COMPLETE_N", "MP_DIGITS", "MAX_BOXES", "MAX_BOXES_LIMIT", "MAX_POINTS", "HIGHER_ORDER_POINTS",
    "HIGHER_ORDER_SECONDS",
]
