"""What a point is, by the second-order test (D2L 11.1).

At ``x`` with gradient ``g`` and Hessian eigenvalues ``λ_1 <= ... <= λ_n``:

* ``not_critical``  ‖g‖ > tol · max(1, |f(x)|)
* ``min`` / ``max`` all λ > zero_tol / all λ < -zero_tol
* ``saddle``        some λ > zero_tol and some λ < -zero_tol (decided even if other λ are ~0)
* ``degenerate``    critical, no sign change, and some |λ| <= zero_tol: the second-order test cannot decide
* ``not_finite``    f, g or H is NaN/inf at x (e.g. log of a negative number)

``tol`` defaults to sqrt(machine epsilon) of the objective's dtype (1.5e-8 for float64);
``zero_tol`` = tol · max(1, max |λ|) so the test is scale-aware (the one zero-eigenvalue rule,
:mod:`losslens.tolerances`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from .objective import Objective, expression_text
from .results import Result
from .tolerances import default_tol, zero_threshold
from .validation import check_float

KINDS = ("min", "max", "saddle", "degenerate", "not_critical", "not_finite")


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
        t = torch.as_tensor(t)
        return "nan" if bool(torch.isnan(t).any()) else "inf (overflow)"

    parts = [f"{name} is {how(t)}" for name, t in (("value", value), ("gradient", g), ("Hessian", H))
             if not bool(torch.isfinite(torch.as_tensor(t)).all())]
    return "not finite here: " + ", ".join(parts) + " (outside the function's domain, or beyond the float range)"


def _report(objective: Objective, x, v, g, H, tol: float) -> PointReport:
    H = 0.5 * (H + H.T)
    value = float(v)
    gnorm = float(torch.linalg.vector_norm(g))
    finite = math.isfinite(value) and math.isfinite(gnorm) and bool(torch.isfinite(H).all())
    if not finite:
        eig = torch.full((objective.n,), math.nan, dtype=x.dtype)
        return PointReport(objective.names, x, value, g, gnorm, H, eig, "not_finite", _nonfinite_reason(value, g, H),
                           tol, math.nan)
    eig = torch.linalg.eigvalsh(H)
    zero_tol = float(zero_threshold(eig, tol))
    pos, neg = int((eig > zero_tol).sum()), int((eig < -zero_tol).sum())
    zero = objective.n - pos - neg
    gtol = tol * max(1.0, abs(value))
    if gnorm > gtol:
        kind, reason = "not_critical", f"|grad| = {gnorm:.3g} > {gtol:.3g}"
    elif pos and neg:
        kind, reason = "saddle", f"{pos} positive and {neg} negative Hessian eigenvalue(s)"
    elif zero:
        kind, reason = "degenerate", (f"{zero} Hessian eigenvalue(s) within {zero_tol:.3g} of zero: "
                                       "the second-order test cannot decide")
    elif pos:
        kind, reason = "min", "all Hessian eigenvalues positive"
    else:
        kind, reason = "max", "all Hessian eigenvalues negative"
    return PointReport(objective.names, x, value, g, gnorm, H, eig, kind, reason, tol, zero_tol)
