"""Proving convexity, cheapest first. Every proof carries its certificate (a rule trace, or boxes and bounds).

1. **Composition rules** (:func:`prove_composition`), DCP-like but with ranges: sums of convex terms; a positive
   multiple; the quadratic part of a sum checked exactly (constant Hessian ``Q``, ``Q ⪰ 0`` by exact rational
   arithmetic); ``h(g)`` for a scalar atom ``h`` (exp, log, powers, tanh, sin, cos, ...) where the curvature and the
   monotonicity of ``h`` are proved *on the range U of g* by interval enclosures of ``h''`` and ``h'`` on ``U``:
   ``h`` convex and (``g`` affine, or ``h`` nondecreasing and ``g`` convex, or ``h`` nonincreasing and ``g``
   concave) gives a convex ``h(g)``; log-sum-exp ``log Σ exp(g_i)``; the Euclidean norm ``sqrt(Σ (affine)^2)``;
   ``|g|``, ``max``, ``min``.
2. **Symbolic Hessian** (:func:`prove_symbolic_hessian`): ``H = ∇²f`` constant and ``H ⪰ 0`` exactly (strong
   convexity modulus μ: a rational with ``H − μI ⪰ 0`` checked exactly); one variable: ``f''`` a polynomial with
   no real root of odd multiplicity (exact root counting), or ``f''`` of provable sign; several variables: every
   principal minor of ``H`` of provable sign (``H ⪰ 0`` iff all principal minors ``>= 0``).
3. **Interval Hessian on a box** (:func:`prove_interval_hessian`): enclosures of every entry of ``H`` over a sub-box
   (outward rounding, ``mpmath.iv``); ``λ_min >= min_i (H_ii − Σ_{j≠i} |H_ij|)`` (Gershgorin) or, failing that,
   ``λ_min >= λ_min(H_c) − ‖R‖_F`` (Weyl; ``H_c`` the midpoint matrix with its ``λ_min`` bound checked by an
   interval Cholesky factorisation of ``H_c − L·I``, ``R`` the radii). Sub-boxes that fail are bisected.

One module per method (``composition``, ``hessian_sign``, ``interval_hessian``), the certificate and the exact
matrix checks in ``proof``. ``sign = -1`` proves concavity (convexity of ``-f``). Shapes: ``H`` is an ``n x n`` sympy Matrix; boxes are lists of
``n`` floats.
"""
from __future__ import annotations
from __future__ import annotations

from .composition import composition_curvature, prove_composition
from .hessian_sign import prove_symbolic_hessian, sign_of
from .interval_hessian import (IntervalOutcome, interval_hessian, lambda_min_lower, prove_interval_hessian,
                               prove_interval_whole)
from .proof import AFFINE, CONCAVE, CONVEX, UNKNOWN, Proof, exact_modulus, exact_psd

__all__ = ["AFFINE", "CONCAVE", "CONVEX", "UNKNOWN", "IntervalOutcome", "Proof", "composition_curvature",
           "exact_modulus", "exact_psd", "interval_hessian", "lambda_min_lower", "prove_composition",
           "prove_interval_hessian", "prove_interval_whole", "prove_symbolic_hessian", "sign_of"]
