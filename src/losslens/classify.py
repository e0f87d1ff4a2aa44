"""What a point is, by the second-order test (D2L 11.1).

At ``x`` with gradient ``g`` and Hessian eigenvalues ``λ_1 <= ... <= λ_n``:

* ``not_critical``  ‖g‖ > tol · max(1, |f(x)|)
* ``min`` / ``max`` all λ > zero_tol / all λ < -zero_tol, and the Hessian changes by at most ½ min|λ| across twice
  the Newton step ``d = −H⁻¹g`` (:func:`curvature_change`); otherwise ``degenerate``: the gradient test accepts
  ``x³`` at 1e-7 (3e-14 <= tol) where ``f'' = 6e-7 > 0``, yet x³ has no minimum
* ``saddle``        some λ > zero_tol and some λ < -zero_tol (decided even if other λ are ~0)
* ``degenerate``    critical, no sign change, and some |λ| <= zero_tol: the second-order test cannot decide
* ``not_finite``    f, g or H is NaN/inf at x (e.g. log of a negative number)
* ``nonsmooth``     x lies on a kink of a term ``abs``, ``max``, ``min`` or ``relu`` of a formula (its argument is 0,
  or two of its arguments tie): f need not be differentiable there, and the gradient and Hessian autograd returns
  are one branch's, so neither test applies (``x² − |x|`` at 0 is a maximum although that Hessian is +2)

``tol`` defaults to sqrt(machine epsilon) of the objective's dtype (1.5e-8 for float64);
``zero_tol`` = tol · max(1, max |λ|) so the test is scale-aware (the one zero-eigenvalue rule,
:mod:`losslens.tolerances`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import sympy
import torch

from .objective import Objective, expression_text
from .results import Result
from .tolerances import default_tol, norm2, zero_threshold
from .validation import check_float

KINDS = ("min", "max", "saddle", "degenerate", "not_critical", "not_finite", "nonsmooth")
NONSMOOTH = (sympy.Abs, sympy.Max, sympy.Min)


@dataclass(frozen=True)
class PointReport(Result):
    """Value [], gradient [n], Hessian [n, n] and its ascending eigenvalues [n] at ``point`` [n], with the verdict
    (``kind``, also as ``verdict``) and its ``reason``; ``expression``: the objective's formula (None without one)."""

    names: tuple[str, ...]
    point: torch.Tensor
    value: float
    gradient: torch.Tensor
    gradient_norm: float
    hessian: torch.Tensor
    eigenvalues: torch.Tensor
    kind: str
    reason: str
    tol: float
    zero_tol: float
    expression: str | None = None

    @property
    def verdict(self) -> str:
        """The kind of point (``kind``, one of :data:`KINDS`)."""
        return self.kind


def classify_point(objective: Objective, x, tol: float | None = None) -> PointReport:
    """Value, gradient, Hessian, eigenvalues and the kind of point ``x`` is.

    >>> from losslens import parse
    >>> classify_point(parse("x^2 - y^2"), [0.0, 0.0]).kind
    'saddle'
    """
    x = objective.point(x)
    tol = default_tol(objective.dtype) if tol is None else check_float("tol", tol, lo=0, lo_open=True)
    v, g = objective.value_and_grad(x)
    return replace(_report(objective, x, v, g, objective.hessian(x), tol), expression=expression_text(objective))


def classify_points(objective: Objective, X, tol: float | None = None) -> list[PointReport]:
    """:func:`classify_point` for every row of ``X`` [m, n], with one batched (vmapped) Hessian evaluation.

    >>> from losslens import parse
    >>> [r.kind for r in classify_points(parse("x^2 - y^2"), [[0.0, 0.0], [1.0, 0.0]])]
    ['saddle', 'not_critical']
    """
    from torch.func import hessian, vmap

    X = torch.as_tensor(X, dtype=objective.dtype)
    X = torch.stack([objective.point(x) for x in X]) if len(X) else X.reshape(0, objective.n)
    if not len(X):
        return []
    tol = default_tol(objective.dtype) if tol is None else check_float("tol", tol, lo=0, lo_open=True)
    V, G, Hs = objective.values(X), objective.grads(X), vmap(hessian(objective.f))(X)
    return [_report(objective, x, v, g, H, tol) for x, v, g, H in zip(X, V, G, Hs)]


def _nonfinite_reason(value: float, g: torch.Tensor, H: torch.Tensor) -> str:
    """Which of value, gradient, Hessian is not finite, and how (inf: overflow; nan: undefined or inf - inf)."""
    def how(t) -> str:
        return "nan" if bool(torch.isnan(t).any()) else "inf (overflow)"

    value = torch.tensor(value, dtype=torch.float64)        # a Python float: float64, not torch's default float32
    parts = [f"{name} is {how(t)}" for name, t in (("value", value), ("gradient", g), ("Hessian", H))
             if not bool(torch.isfinite(t).all())]
    return "not finite here: " + ", ".join(parts) + " (outside the function's domain, or beyond the float range)"


def _report(objective: Objective, x, v, g, H, tol: float) -> PointReport:
    H = 0.5 * (H + H.T)
    value = float(v)
    gnorm = norm2(g)
    finite = math.isfinite(value) and math.isfinite(gnorm) and bool(torch.isfinite(H).all())
    if not finite:
        eig = torch.full((objective.n,), math.nan, dtype=x.dtype)
        return PointReport(objective.names, x, value, g, gnorm, H, eig, "not_finite", _nonfinite_reason(value, g, H),
                           tol, math.nan)
    eig, V = torch.linalg.eigh(H)
    zero_tol = float(zero_threshold(eig, tol))
    pos, neg = int((eig > zero_tol).sum()), int((eig < -zero_tol).sum())
    zero = objective.n - pos - neg
    gtol = tol * max(1.0, abs(value))
    on = kinks(objective, x, tol)
    if on:          # before not_critical too: at 0, x + |x| is a minimum although autograd's slope there is 1
        kind, reason = "nonsmooth", (f"on a kink of {', '.join(on)}: f need not be differentiable here, so the "
                                     "gradient and Hessian tests do not apply (autograd's values are one branch's)")
    elif gnorm > gtol:
        kind, reason = "not_critical", f"|grad| = {gnorm:.3g} > {gtol:.3g}"
    elif pos and neg:
        kind, reason = "saddle", f"{pos} positive and {neg} negative Hessian eigenvalue(s)"
    elif zero:
        kind, reason = "degenerate", (f"{zero} Hessian eigenvalue(s) within {zero_tol:.3g} of zero: "
                                       "the second-order test cannot decide")
    else:
        kind, sign = ("min", "positive") if pos else ("max", "negative")
        reason = f"all Hessian eigenvalues {sign}"
        change = curvature_change(objective, x, g, eig, V)
        if change > 0.5 * float(eig.abs().min()):
            kind, reason = "degenerate", (f"all Hessian eigenvalues {sign}, but across twice the Newton step they "
                                          f"change by {change:.3g} > half the smallest |eigenvalue|: the curvature "
                                          "vanishes ahead (x^3 at 1e-7), so the second-order test cannot decide")
    return PointReport(objective.names, x, value, g, gnorm, H, eig, kind, reason, tol, zero_tol)


def curvature_change(objective: Objective, x: torch.Tensor, g: torch.Tensor, lam: torch.Tensor,
                     V: torch.Tensor) -> float:
    """‖∇²f(x + 2d) − ∇²f(x)‖₂ for the Newton step d = −H⁻¹g (H = V diag(λ) Vᵀ definite); inf when the Hessian there is
    not finite.

    Newton–Kantorovich: when the Hessian changes by at most ½ min|λ| over the ball of radius 2‖d‖, a zero of ∇f lies
    in that ball and the Hessian there keeps its signs, so x is next to a strict local minimum (maximum). The secant
    along d stands in for the Lipschitz bound. ‖∇f‖ can pass a scale-relative tolerance where the curvature is about
    to vanish: Newton on x³ from 1 stops at x = 0.00098 (f'' = 0.0059 > 0) next to the inflection at 0, and on
    exp(x) at x = −14, where nothing is ahead; there the change is the whole of λ_min."""
    d = -(V @ ((V.T @ g) / lam))
    H = objective.hessian(x + 2 * d)
    if not torch.isfinite(H).all():
        return math.inf
    diff = 0.5 * (H + H.T) - (V * lam) @ V.T
    return float(torch.linalg.eigvalsh(diff).abs().max())


def kinks(objective: Objective, x: torch.Tensor, tol: float) -> list[str]:
    """The terms ``abs(a)``, ``max(a_1, ..)``, ``min(a_1, ..)`` (``relu(a) = max(0, a)``) of the objective's formula
    that switch branch at ``x`` [n]: ``|a(x)| <= tol · max(1, ‖x‖∞)``, or a gap between the two largest (smallest)
    arguments within that times ``max(1, |largest|)``; [] for objectives without a formula.

    >>> from losslens import parse
    >>> f = parse("x^2 - abs(x) + max(x, y)")
    >>> kinks(f, torch.tensor([0.0, 1.0], dtype=torch.float64), 1e-8), kinks(f, torch.tensor([0.5, 0.5]), 1e-8)
    (['abs(x) (its argument is 0)'], ['max(x, y) (arguments tie at 0.5)'])
    """
    expr = getattr(objective, "sympy", None)
    atoms = sorted(expr.atoms(*NONSMOOTH), key=sympy.default_sort_key) if isinstance(expr, sympy.Expr) else []
    if not atoms:
        return []
    values = x.tolist()
    subs = dict(zip(objective.symbols, values))
    scale = tol * max([1.0] + [abs(v) for v in values])
    found = []
    for atom in atoms:
        args = [_real(a, subs) for a in atom.args]
        if None in args:
            continue
        if atom.func is sympy.Abs:
            if abs(args[0]) <= scale:
                found.append(f"{term_text(atom)} (its argument is 0)")
            continue
        first, second = sorted(args, reverse=atom.func is sympy.Max)[:2]
        if abs(first - second) <= scale * max(1.0, abs(first)):
            found.append(f"{term_text(atom)} (arguments tie at {first:.6g})")
    return found


def _real(e: sympy.Expr, subs: dict) -> float | None:
    """``e`` at ``subs`` as a float, or None where it is not a finite real number."""
    try:
        v = complex(e.evalf(subs=subs))
    except (TypeError, ValueError, ZeroDivisionError):      # zoo, nan, 1/0: not a number here
        return None
    return v.real if v.imag == 0 and math.isfinite(v.real) else None


def term_text(atom: sympy.Expr) -> str:
    """A term as the expression language writes it: ``abs(a)``, ``relu(a)``, ``max(a, b)``."""
    from sympy.printing.str import sstr

    if atom.func is sympy.Abs:
        return f"abs({sstr(atom.args[0])})"
    if atom.func is sympy.Max and len(atom.args) == 2 and atom.args[0] == 0:
        return f"relu({sstr(atom.args[1])})"
    name = "max" if atom.func is sympy.Max else "min"
    return f"{name}({', '.join(sstr(a) for a in atom.args)})"
