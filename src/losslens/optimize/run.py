"""One optimizer run on an objective: the trajectory and the verdict on why it stopped.

:func:`run` minimizes ``f`` from ``start`` for at most ``steps`` steps with one of :data:`METHODS` (see
:mod:`losslens.optimize.methods` for the update rules). Step ``k`` records ``x_k`` [n], ``f(x_k)``, ``‖∇f(x_k)‖``
(the exact gradient, also when the method sees a noisy one) and the learning rate ``η_k`` used to go to ``x_{k+1}``.
The run stops early when ``‖∇f(x_k)‖ <= gtol`` (perturbed GD: when, in addition, it has stopped perturbing because
an escape failed, or because too few steps are left), or when anything becomes non-finite. The verdict
and its thresholds are documented in :mod:`losslens.optimize.verdict`.

Empirical risk vs risk (D2L 11.1): with ``risk`` = a second objective ``f`` over the same variables, the run
minimizes ``g`` = ``objective`` and records ``f`` along the way; the step with the lowest ``g`` need not be the step
with the lowest ``f``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import torch

from ..objective import Objective, expression_text
from ..results import Result
from ..validation import InputError, check_float, check_int
from .batch import values_and_grads
from .methods import METHODS, Settings, Stepper, settings
from .verdict import SLOW, TOL, Scale, Verdict, judge, measure_scale


@dataclass(frozen=True)
class RiskTrace(Result):
    """A second objective evaluated along the run: ``values`` [K+1]; ``best_step`` its argmin along the run,
    ``empirical_best_step`` the argmin of the optimized objective, ``gap`` = risk at ``empirical_best_step`` minus
    the lowest risk seen (>= 0; > 0 means minimizing the empirical risk overshot the risk's minimum)."""

    label: str
    values: torch.Tensor
    best_step: int
    empirical_best_step: int
    gap: float


@dataclass(frozen=True)
class Run(Result):
    """A trajectory and its verdict.

    ``points`` [K+1, n], ``values`` [K+1], ``gradient_norms`` [K+1], ``lrs`` [K] (η used at each step), ``steps``
    K (steps taken), ``steps_to_tol`` (first k with ‖g_k‖ <= gtol, None if never), ``perturbations`` (perturbed GD),
    ``scale`` (the thresholds), ``evidence`` (the :class:`Verdict` with the numbers behind it; ``verdict`` and
    ``reason`` are its words), ``risk`` (None unless requested), ``expression`` (the objective's formula, None for
    an objective without one).
    """

    objective: str
    names: tuple[str, ...]
    settings: dict
    start: torch.Tensor
    points: torch.Tensor
    values: torch.Tensor
    gradient_norms: torch.Tensor
    lrs: torch.Tensor
    steps: int
    steps_to_tol: int | None
    perturbations: int
    scale: Scale
    evidence: Verdict
    risk: RiskTrace | None = None
    expression: str | None = None

    @property
    def verdict(self) -> str:
        """Why the run stopped: a word of :data:`~losslens.optimize.verdict.VERDICTS`."""
        return self.evidence.verdict

    @property
    def reason(self) -> str:
        return self.evidence.reason

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["evidence"] = {k: v for k, v in d["evidence"].items() if k not in ("verdict", "reason")}
        return d

    @property
    def final_point(self) -> torch.Tensor:
        return self.points[-1]

    @property
    def final_value(self) -> float:
        return float(self.values[-1])


def check_start(objective: Objective, start, name: str = "start") -> torch.Tensor:
    """A finite start of the right length where f and its gradient are finite (inside the function's domain)."""
    x = objective.point(start, name)
    v, g = values_and_grads(objective, x[None])
    if not (torch.isfinite(v).all() and torch.isfinite(g).all()):
        expr = getattr(objective, "expression", None)
        dom = "; ".join(label for label, _ in getattr(expr, "domain", ())) if expr is not None else ""
        raise InputError(f"{name} == {x.tolist()} is outside the function's domain or beyond float64's range: f or "
                         f"its gradient is not finite there" + (f" (needs {dom})" if dom else ""))
    return x


def _check_risk(objective: Objective, risk: Objective | None) -> Objective | None:
    if risk is not None and risk.n != objective.n:
        raise InputError(f"risk has {risk.n} variable(s) {list(risk.names)}, the objective has {objective.n} "
                         f"{list(objective.names)}: they must be the same")
    return risk


def run(objective: Objective, method: str, start, steps: int = 100, lr: float = 0.1, *,
        momentum: float | None = None, noise: float = 0.0, seed: int = 0, schedule: str | None = None,
        damping: float = 0.0, perturb_radius: float | None = None, perturb_every: int = 20,
        options: dict[str, Any] | None = None, tol: float = TOL, slow: float = SLOW, stop_at_tol: bool = True,
        risk: Objective | None = None, progress: Callable[[int], None] | None = None) -> Run:
    """Minimize ``objective`` from ``start`` with ``method``; return the trajectory and the verdict.

    ``lr`` η > 0; ``steps`` >= 1; ``noise`` σ >= 0 adds N(0, σ²I) to every gradient the method sees (seeded by
    ``seed``); ``schedule`` a torch LR scheduler spec such as ``"exponential:gamma=0.95"``; ``damping`` μ for the
    Newton methods; ``perturb_radius`` r (default 1e-3 ℓ) and ``perturb_every`` for perturbed GD (which perturbs when
    ‖g‖ <= gslow); ``options`` extra torch.optim keyword arguments; ``tol``, ``slow`` scale the thresholds of
    :mod:`~losslens.optimize.verdict`; ``risk`` a second objective recorded along the run; ``progress(k)`` is called
    after each step.

    >>> from losslens import parse
    >>> r = run(parse("x^2"), "gd", [10.0], steps=10, lr=0.2, stop_at_tol=False)
    >>> round(r.final_point.item(), 4)        # 10 (1 - 2 * 0.2)^10
    0.0605
    """
    s = settings(method, lr, momentum=momentum, noise=noise, seed=seed, schedule=schedule, damping=damping,
                 perturb_radius=perturb_radius, perturb_every=perturb_every, options=options)
    steps = check_int("steps", steps, lo=1)
    tol = check_float("tol", tol, lo=0, lo_open=True)
    slow = check_float("slow", slow, lo=0, lo_open=True)
    risk = _check_risk(objective, risk)
    x0 = check_start(objective, start)
    scale = measure_scale(objective, x0, tol, slow, seed)
    if s.method == "perturbed-gd":
        s = replace(s, perturb_radius=s.perturb_radius or 1e-3 * scale.length, perturb_gtol=scale.gslow)
    stepper = Stepper(objective, s, x0[None], steps)
    pts, vals, gns, lrs = [], [], [], []
    nonfinite = steps_to_tol = None
    for k in range(steps + 1):
        X = stepper.X.detach()
        v, g = values_and_grads(objective, X)
        gn = float(torch.linalg.vector_norm(g))
        pts.append(X[0].clone()), vals.append(float(v[0])), gns.append(gn)
        if not (math.isfinite(gn) and math.isfinite(vals[-1]) and bool(torch.isfinite(X).all())):
            nonfinite = k
            break
        critical = gn <= scale.gtol
        if critical and steps_to_tol is None:
            steps_to_tol = k
        if k == steps:
            break
        if stop_at_tol and critical and _done(s, stepper, k, steps):
            break
        lrs.append(stepper.step(g, v))
        if progress is not None:
            progress(k + 1)
    points = torch.stack(pts)
    values = torch.tensor(vals, dtype=objective.dtype)
    gnorms = torch.tensor(gns, dtype=objective.dtype)
    verdict = judge(objective, points, values, gnorms, scale, nonfinite)
    trace = _risk_trace(risk, points, values) if risk is not None else None
    return Run(objective.label, objective.names, s.to_dict(), x0, points, values, gnorms,
               torch.tensor(lrs, dtype=torch.float64), len(values) - 1, steps_to_tol, int(stepper.perturbs[0]),
               scale, verdict, trace, expression_text(objective))


def _done(s: Settings, stepper: Stepper, k: int, steps: int) -> bool:
    """Stop at a critical point; perturbed GD only once it no longer perturbs (an escape failed, or too late)."""
    if s.method != "perturbed-gd":
        return True
    return bool(stepper.calm[0]) or k >= steps - s.perturb_every


def _risk_trace(risk: Objective, points: torch.Tensor, values: torch.Tensor) -> RiskTrace:
    rv = risk.values(points.to(risk.dtype))
    finite_r = torch.where(torch.isfinite(rv), rv, torch.full_like(rv, math.inf))
    finite_e = torch.where(torch.isfinite(values), values, torch.full_like(values, math.inf))
    best, emp = int(finite_r.argmin()), int(finite_e.argmin())
    return RiskTrace(risk.label, rv, best, emp, float(rv[emp] - rv[best]))


@dataclass(frozen=True)
class Comparison(Result):
    """Several runs from the same start: ``runs`` in the order of ``methods``; ``verdict`` ``all_converged``,
    ``some_converged`` or ``none_converged``, ``reason`` each method's verdict."""

    objective: str
    names: tuple[str, ...]
    start: torch.Tensor
    methods: tuple[str, ...]
    runs: tuple[Run, ...]

    @property
    def verdict(self) -> str:
        done = sum(r.verdict == "converged" for r in self.runs)
        return "all_converged" if done == len(self.runs) else "some_converged" if done else "none_converged"

    @property
    def reason(self) -> str:
        return "; ".join(f"{m}: {r.verdict} at step {r.evidence.step}" for m, r in zip(self.methods, self.runs))


def parse_methods(text: str | list[str]) -> tuple[str, ...]:
    items = [m.strip() for m in text.split(",")] if isinstance(text, str) else list(text)
    items = [m for m in items if m]
    if not items:
        raise InputError(f"methods == {text!r}, must be a comma-separated list of {', '.join(METHODS)}")
    for m in items:
        if m not in METHODS:
            raise InputError(f"methods: {m!r} is not a method; valid: {', '.join(METHODS)}")
    if len(set(items)) != len(items):
        raise InputError(f"methods == {text!r} repeats a method")
    return tuple(items)


def compare(objective: Objective, methods, start, steps: int = 100, lr: float | dict[str, float] = 0.1,
            **kwargs) -> Comparison:
    """Run each of ``methods`` (a list or ``"gd,momentum,adam"``) from ``start``. ``lr`` is one η for all or a dict
    method -> η (missing methods get 0.1); other keyword arguments go to :func:`run` (``momentum`` only to the
    methods that take it).

    >>> from losslens import parse
    >>> c = compare(parse("elliptic"), "gd,newton", [-5.0, -2.0], steps=50, lr={"gd": 0.1, "newton": 1.0})
    >>> [(r.steps_to_tol, r.verdict) for r in c.runs]     # Newton is exact in one step on a quadratic
    [(None, 'max_steps'), (1, 'converged')]
    """
    ms = parse_methods(methods)
    if isinstance(lr, dict):
        bad = sorted(set(lr) - set(ms))
        if bad:
            raise InputError(f"lr names {bad}, which are not among the methods {list(ms)}")
    runs = []
    for m in ms:
        kw = dict(kwargs)
        if m not in ("momentum", "nesterov"):
            kw.pop("momentum", None)
        runs.append(run(objective, m, start, steps, lr.get(m, 0.1) if isinstance(lr, dict) else lr, **kw))
    return Comparison(objective.label, objective.names, runs[0].start, ms, tuple(runs))
