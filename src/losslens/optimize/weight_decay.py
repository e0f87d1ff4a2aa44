"""Penalty ↔ constraint: weight decay is a ball constraint of some radius (D2L 11.2, "Penalties").

For f and λ > 0, let x*(λ) minimise the penalised objective f(x) + (λ/2)‖x‖². With r = ‖x*(λ)‖₂, x*(λ) also
satisfies the KKT conditions of

    minimise f(x)  subject to  ½‖x‖² ≤ ½r²

with multiplier μ = λ: stationarity ∇f + μx = 0 is the penalised problem's ∇f + λx = 0. For convex f both are
global minima, so the two solutions coincide; for non-convex f each solver may stop at a different local point,
and the result says whether they agree.

The check: the two points lie within 1e-6·max(1, r), and the penalised solve did not end where f + (λ/2)‖x‖² has no
minimum (``not_min``: a maximum or saddle; ``unbounded``). Then μ = λ is a multiplier of the ball problem at the
common point (the penalised stationarity, up to that distance). The constrained solver's own multiplier is reported
but not compared: it is unique only where the constraint's gradient x is nonzero and f is smooth (r = 0 for ``x²``:
every μ ≥ 0 is one; ``|x − 1|`` with λ = 1/2: every μ in [0, 1]). When a solver ends elsewhere (the penalised
problem unbounded, a maximum) there is nothing to compare: the verdict is ``unknown``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..catalog import resolve
from ..objective import AnalyticObjective
from ..results import Result
from ..validation import check_float
from .constrained import ConstrainedResult, solve_constrained

NO_MINIMUM = ("not_min", "unbounded")     # penalised solves that show no minimiser where they ended


@dataclass(frozen=True)
class WeightDecayResult(Result):
    """``penalized``: minimiser of f + (λ/2)‖x‖² (x [n]); ``constrained``: minimiser of f over the ball of ``radius`` r
    = ‖x*(λ)‖; ``multiplier`` μ of ½‖x‖² ≤ ½r² found by the constrained solver; ``distance`` between the two
    solutions; ``agree`` when the distance is ≤ 1e-6·max(1, r) and the penalised solve found no sign that its
    objective lacks a minimum there (module docstring); the ``verdict`` ``agree``, ``differ`` or ``unknown`` (the
    penalised solve ended at a maximum, saddle or unbounded), with ``reason`` = ``explanation``. The two solver
    results (``penalized_result``, ``constrained_result``) are not in ``to_dict``: their numbers are the fields
    above."""

    objective: str
    names: tuple[str, ...]
    lam: float
    radius: float
    penalized: torch.Tensor
    penalized_value: float
    constrained: torch.Tensor
    constrained_value: float
    multiplier: float
    distance: float
    agree: bool
    penalized_result: ConstrainedResult = field(metadata={"json": False})
    constrained_result: ConstrainedResult = field(metadata={"json": False})
    explanation: str

    @property
    def verdict(self) -> str:
        if self.agree:
            return "agree"
        return "unknown" if self.penalized_result.verdict in NO_MINIMUM else "differ"

    @property
    def reason(self) -> str:
        return self.explanation


def weight_decay_ball(objective, lam: float, *, x0=None, tol: float = 1e-9) -> WeightDecayResult:
    """Solve both problems and compare (see module docstring).

    >>> r = weight_decay_ball("(x - 2)^2", 2.0)     # penalised minimiser x = 2/(1 + λ/2) = 1
    >>> round(float(r.penalized[0]), 8), round(r.radius, 8), round(r.multiplier, 6), r.agree
    (1.0, 1.0, 2.0, True)
    """
    lam = check_float("lam", lam, lo=0.0, lo_open=True)
    base = objective if isinstance(objective, AnalyticObjective) else resolve(objective)
    names = base.names
    squares = " + ".join(f"{v}^2" for v in names)
    text = base.expression.text
    penalized_obj = AnalyticObjective(f"({text}) + {lam!r}/2*({squares})", list(names))
    pen = solve_constrained(penalized_obj, [], "alm", x0=x0, tol=tol)
    radius = float(torch.linalg.vector_norm(pen.x))
    con = solve_constrained(base, [f"({squares})/2 <= {radius ** 2 / 2!r}"], "alm", x0=x0, tol=tol)
    distance = float(torch.linalg.vector_norm(pen.x - con.x))
    mu = float(con.multipliers[0])
    kkt = pen.verdict not in NO_MINIMUM
    agree = kkt and distance <= 1e-6 * max(1.0, radius)
    solver_mu = (f"the solver's multiplier is {mu:.6g}" if radius > 0 else
                 "r = 0: the ball is the point 0, where the constraint's gradient vanishes, so every mu >= 0 is a "
                 "multiplier")
    if agree:
        explanation = (f"minimiser of f + ({lam:g}/2)|x|^2 has norm r = {radius:.6g}; minimising f over |x| <= r "
                       f"gives the same point (distance {distance:.3g}), where mu = lambda = {lam:g} satisfies the "
                       f"KKT conditions ({solver_mu})")
    elif kkt:
        explanation = (f"the two solutions differ (distance {distance:.3g}, mu = {mu:.6g}, lambda = {lam:g}): "
                       "f is not convex or a solver stopped at another local point")
    else:
        explanation = (f"nothing to compare: the penalised solve ended {pen.verdict!r} ({pen.reason}), not at a "
                       f"minimiser of f + ({lam:g}/2)|x|^2")
    return WeightDecayResult(base.expression.text, names, lam, radius, pen.x, float(base.f(pen.x)), con.x,
                             con.value, mu, distance, agree, pen, con, explanation)
