"""Exact and asymptotic probabilities that a GOE matrix is positive definite.

GOE(n): ``H = (A + Aᵀ)/2`` with ``A`` an ``n × n`` matrix of independent N(0, 1) entries, so the diagonal is
N(0, 1), the off-diagonal N(0, 1/2), and the density of ``H`` is ∝ exp(−tr H²/2). Its eigenvalues have the joint
density (Mehta, *Random Matrices*, ch. 3)

    p(λ₁..λₙ) = (1/Zₙ) Π_i exp(−λ_i²/2) Π_{i<j} |λ_i − λ_j|,   Zₙ = (2π)^{n/2} Π_{j=1}^{n} Γ(1 + j/2) / Γ(3/2).

**Exact** ``Pₙ = P(all λ_i > 0) = n! · Pf(A⁺) / Zₙ`` by de Bruijn's identity (de Bruijn 1955): on the ordered set
``0 < x₁ < … < xₙ`` the Vandermonde ``Π_{i<j}(x_j − x_i) = det[x_k^{j}]``, and the integral of a determinant against
``|Δ|`` is the Pfaffian of ``A⁺_{jk} = ∫∫_{x, y > 0} sign(y − x) x^j y^k w(x) w(y) dx dy`` (``w(x) = e^{−x²/2}``,
``j, k = 0..n−1``; for odd ``n`` bordered by ``b_j = ∫_0^∞ x^j w(x) dx``). Every entry is closed form (a recursion by
parts, no quadrature), evaluated in mpmath at a precision that grows with ``n``; the Pfaffian's magnitude is
``sqrt(det)`` and the integral is positive, so no sign bookkeeping is needed. Small cases: ``P₁ = 1/2``,
``P₂ = (2 − √2)/4`` (derivation in :func:`goe_p2_closed_form`).

**Asymptote** ``ln Pₙ ≈ −θ n²`` with ``θ = ln 3 / 4 ≈ 0.2747`` (Dean & Majumdar, "Large deviations of extreme
eigenvalues of random matrices", Phys. Rev. Lett. 97, 160201 (2006)); the correction terms are of lower order in n.

**Naive** "each eigenvalue an independent fair coin": ``Pₙ = 2^{−n}``. It is wrong because the eigenvalues repel
(the ``|λ_i − λ_j|`` factor): pushing all of them to one side of 0 costs energy ∝ n², not n.
"""
from __future__ import annotations

import math

import mpmath

from ..validation import check_int

THETA = math.log(3.0) / 4.0
"""Dean & Majumdar (2006): ln P(GOE(n) positive definite) ≈ −θ n² for large n."""


def goe_p2_closed_form() -> float:
    """``P₂ = (2 − √2)/4 ≈ 0.14645``.

    Derivation: ``H = [[a, b], [b, c]]`` with ``a, c ~ N(0, 1)``, ``b ~ N(0, 1/2)``. Put ``u = (a + c)/√2``,
    ``v = (a − c)/√2`` and ``w = √2 b``: three independent N(0, 1). ``H ≻ 0`` iff its smaller eigenvalue
    ``(a + c)/2 − sqrt(((a − c)/2)² + b²) = (u − sqrt(v² + w²))/√2 > 0``, i.e. ``u > R`` with ``R² = v² + w² ~ χ²₂``,
    ``P(R² < r²) = 1 − e^{−r²/2}``. So ``P₂ = ½ E[1 − e^{−u²/2}] = ½ (1 − 1/√2)`` (``E e^{−u²/2} = 1/√2``).
    """
    return (2.0 - math.sqrt(2.0)) / 4.0


def _digits(n: int) -> int:
    # the moment matrix is Hankel-like: its determinant loses about n·log10(n) digits to cancellation
    return 40 + int(3 * n * max(1.0, math.log10(n + 1)))


def goe_log_positive_probability(n: int, dps: int | None = None) -> float:
    """ln P(GOE(n) ≻ 0), exact up to rounding (mpmath with ``dps`` digits; default grows with ``n``)."""
    n = check_int("n", n, lo=1, hi=400)
    with mpmath.workdps(dps or _digits(n)):
        return float(_log_p(n))


def goe_positive_probability(n: int, dps: int | None = None) -> float:
    """P(GOE(n) ≻ 0) as a float (underflows to 0 past n ≈ 50; use the log version there)."""
    return math.exp(goe_log_positive_probability(n, dps))


def _log_p(n: int):
    mp = mpmath.mp
    size = n + (n % 2)
    # M_j = ∫_0^∞ x^j e^{-x²/2} dx ; J_m = ∫_0^∞ x^m e^{-x²} dx
    M = [mpmath.power(2, mp.mpf(j - 1) / 2) * mpmath.gamma(mp.mpf(j + 1) / 2) for j in range(2 * n + 2)]
    J = lambda m: mpmath.gamma(mp.mpf(m + 1) / 2) / 2  # noqa: E731
    # I[j][k] = ∫∫_{0<y<x} x^j y^k w(x) w(y): by parts in x, I_jk = (j-1) I_{j-2,k} + J_{j+k-1}
    I = [[mp.zero] * n for _ in range(n)]
    col0 = [mp.zero] * n
    for j in range(n):
        if j == 0:
            col0[0] = M[0] ** 2 / 2
        elif j == 1:
            col0[1] = J(0)
        else:
            col0[j] = (j - 1) * col0[j - 2] + J(j - 1)
    for k in range(n):
        for j in range(n):
            if j == 0:
                I[0][k] = M[0] * M[k] - col0[k]
            elif j == 1:
                I[1][k] = J(k)
            else:
                I[j][k] = (j - 1) * I[j - 2][k] + J(j + k - 1)
    A = mpmath.zeros(size, size)
    for j in range(n):
        for k in range(n):
            A[j, k] = I[k][j] - I[j][k]
    if n % 2:
        for j in range(n):
            A[j, n] = M[j]
            A[n, j] = -M[j]
    det = mpmath.det(A)
    log_z = (mp.mpf(n) / 2) * mpmath.log(2 * mp.pi) + sum(mpmath.loggamma(1 + mp.mpf(j) / 2) for j in range(1, n + 1)) \
        - n * mpmath.loggamma(mp.mpf(3) / 2)
    return mpmath.loggamma(n + 1) + mpmath.log(abs(det)) / 2 - log_z


def asymptotic_log_probability(n: int) -> float:
    """Dean–Majumdar leading order: ln P ≈ −θ n², θ = ln 3 / 4."""
    return -THETA * n * n


def naive_log_probability(n: int) -> float:
    """The independent-coin guess: ln P = −n ln 2."""
    return -n * math.log(2.0)
