"""Stage 6: Krawczyk existence certificates for zeros of the gradient.

On a box ``X`` (n intervals) with ``c = mid(X)``, ``Y ≈ J(c)⁻¹`` (the midpoint of the interval Hessian, inverted in
float64) and ``J(X)`` an outward-rounded enclosure of the Hessian over ``X`` (:mod:`losslens.interval`):

    K(X) = c − Y g(c) + (I − Y J(X)) (X − c)

``K(X) ⊂ int X`` proves that ``X`` holds exactly one zero of ``g = ∇f``; ``K(X) ∩ X = ∅`` proves it holds none.
"""
from __future__ import annotations

from typing import Sequence

import mpmath
import numpy as np
from mpmath import iv

from .. import interval as I
from .symbolic import Symbolic


def krawczyk(sym: Symbolic, X: list) -> str:
    """``"unique"`` (exactly one zero of ∇f in X), ``"none"`` (no zero in X) or ``"unknown"``; X: n intervals."""
    n = len(X)
    c = [mpmath.mpf(I.mid(x)) for x in X]
    J = I.enclose_many([sym.hess[i][j] for i in range(n) for j in range(n)], sym.env(X))
    gc = I.enclose_many(sym.grad, sym.env([iv.mpf(v) for v in c]))
    if any(v is None or not I.is_finite(v) for v in J + gc):
        return "unknown"
    Jm = np.array([[I.mid(J[i * n + j]) for j in range(n)] for i in range(n)])
    try:
        Y = np.linalg.inv(Jm)
    except np.linalg.LinAlgError:
        return "unknown"
    if not np.isfinite(Y).all():
        return "unknown"
    Yi = [[iv.mpf(float(Y[i, j])) for j in range(n)] for i in range(n)]
    inside = True
    for i in range(n):
        k = iv.mpf(c[i])
        for j in range(n):
            k -= Yi[i][j] * gc[j]
            m = iv.mpf(1 if i == j else 0)
            for l in range(n):
                m -= Yi[i][l] * J[l * n + j]
            k += m * (X[j] - iv.mpf(c[j]))
        if k.b < X[i].a or k.a > X[i].b:
            return "none"
        inside &= I.inside(k, X[i])
    return "unique" if inside else "unknown"


def certify(sym: Symbolic, x: Sequence, scale: Sequence[float]) -> dict:
    """Krawczyk on boxes ``x ± r·scale`` for a few radii; the certificate (box) of the first that proves uniqueness."""
    for r in (1e-7, 1e-9, 1e-5, 1e-11):
        X = [iv.mpf([mpmath.mpf(float(v)) - r * s, mpmath.mpf(float(v)) + r * s]) for v, s in zip(x, scale)]
        if krawczyk(sym, X) == "unique":
            return {"method": "krawczyk", "box": [[float(v.a), float(v.b)] for v in X],
                    "statement": "exactly one zero of the gradient in this box"}
    return {"method": "krawczyk", "box": None,
            "statement": "not certified: K(X) is not inside X (singular or ill-conditioned Hessian at the point)"}
