"""Stage 4: refine a candidate by Newton's method on the exact gradient in ``MP_DIGITS`` (50) digit arithmetic.

``p ← p − m·H(p)⁻¹ g(p)`` (``g``, ``H``: the sympy gradient and Hessian evaluated in mpmath, an LU solve), with the
multiplicity correction ``m`` of :mod:`losslens.critical.multistart` at a zero with a singular Hessian. It stops
on a step below the working precision or when ‖g‖ no longer falls (rounding noise), and keeps the best point, so a
reported point is a zero of ``g`` to far below float64 rounding (``residual`` = ‖g‖ there).
"""
from __future__ import annotations

from typing import Sequence

import mpmath

from .limits import MP_DIGITS
from .symbolic import Symbolic


def _mp_vec(fn, x):
    return mpmath.matrix([mpmath.mpf(v) for v in fn(*x)])


def refine(sym: Symbolic, x: Sequence[float], iters: int = 400) -> tuple[list, float] | None:
    """Newton on the exact gradient in 50-digit arithmetic from ``x``. Returns (point, ‖g‖) or None on failure."""
    if sym.mp_grad is None:
        return None
    with mpmath.workdps(MP_DIGITS):
        try:
            p = mpmath.matrix([mpmath.mpf(float(v)) for v in x])
            g = _mp_vec(sym.mp_grad, p)
            best = (p, mpmath.norm(g))
            tiny = mpmath.mpf(10) ** (5 - MP_DIGITS)
            prev_dn, stalled = None, 0
            for _ in range(iters):
                if best[1] == 0:
                    break
                H = mpmath.matrix(sym.mp_hess(*p))
                try:
                    d = mpmath.lu_solve(H, g)
                except ZeroDivisionError:
                    break
                dn = mpmath.norm(d)
                mult = 1
                if prev_dn is not None and 0.3 < dn / prev_dn < 0.99:
                    mult = int(mpmath.nint(1 / (1 - dn / prev_dn)))     # multiplicity estimate (see multistart)
                prev_dn = dn
                if mult > 1:
                    q = p - mult * d
                    gq = _mp_vec(sym.mp_grad, q)
                    if mpmath.norm(gq) < best[1]:
                        d = mult * d
                p = p - d
                g = _mp_vec(sym.mp_grad, p)
                r = mpmath.norm(g)
                if not mpmath.isfinite(r):
                    break
                if r < best[1]:
                    best, stalled = (p, r), 0
                else:
                    stalled += 1
                # stop on a step below the working precision, or when ‖g‖ no longer falls (rounding noise); the
                # last step is kept when it helped (x² from x = -1e-300: one step, to 0, below 1e-45 in length)
                if mpmath.norm(d) <= tiny * (1 + mpmath.norm(p)) or stalled >= 3:
                    break
            p, r = best
            return [p[i] for i in range(len(x))], float(r)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
            return None
