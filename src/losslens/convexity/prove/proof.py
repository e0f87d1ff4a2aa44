"""The certificate every convexity proof returns, and the exact PSD / modulus checks of constant matrices."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy

from ...results import Result


AFFINE, CONVEX, CONCAVE, UNKNOWN = "affine", "convex", "concave", "unknown"


@dataclass(frozen=True)
class Proof(Result):
    """A certificate that ``sign*f`` is convex on a region.

    ``method``: composition | constant_hessian | univariate_polynomial | hessian_sign | hessian_minors |
    interval_hessian; ``strength``: convex | strictly_convex | strongly_convex; ``modulus``: proved μ with
    ``∇²f ⪰ μI`` (strongly convex) or None; ``trace``: the rule steps, readable; ``boxes``: for interval proofs, each
    leaf as ``{"lo": [n], "hi": [n], "lambda_min_lower": float}``.
    """

    method: str
    strength: str
    modulus: float | None = None
    trace: tuple[str, ...] = ()
    boxes: tuple[dict, ...] = field(default_factory=tuple)
    boxes_total: int = 0


def exact_psd(M: sympy.Matrix) -> bool | None:
    """``M ⪰ 0`` decided exactly for a constant symmetric matrix (None when sympy cannot decide)."""
    try:
        r = M.is_positive_semidefinite
    except (TypeError, ValueError, NotImplementedError):
        return None
    return None if r is None else bool(r)


def exact_modulus(M: sympy.Matrix) -> sympy.Rational | None:
    """A rational ``μ > 0`` with ``M − μI ⪰ 0`` (proved exactly), just below ``λ_min(M)``; None if M is not PD."""
    try:
        lam = float(np.linalg.eigvalsh(np.array(M.evalf(30).tolist(), dtype=float)).min())
    except (TypeError, ValueError):
        return None
    if not lam > 0:
        return None
    nice = sympy.Rational(lam).limit_denominator(1000)     # the exact λ_min when it is a simple fraction
    candidates = [nice] if abs(float(nice) - lam) <= 1e-12 * abs(lam) else []
    candidates += [sympy.Rational(lam * s).limit_denominator(10 ** 12) for s in (1 - 1e-9, 0.999, 0.9, 0.5)]
    for mu in candidates:
        if mu > 0 and exact_psd(M - mu * sympy.eye(M.rows)):
            return mu
    return None
