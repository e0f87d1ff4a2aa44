"""The optimizers, stepping many independent starts at once.

All methods advance a parameter tensor ``X`` of shape ``[m, n]`` (row ``i`` = start ``i``); rows never interact.

First-order methods are torch.optim's own, run on ``X`` as one tensor. Their updates are elementwise (every state
buffer has the shape of ``X`` and entry ``(i, j)`` is updated from entry ``(i, j)`` only), so one optimizer over the
stacked tensor is exactly ``m`` independent optimizers (checked against a loop in the tests):

=============  ======================================  ===========================================
method         torch.optim                              defaults (D2L chapter 11)
=============  ======================================  ===========================================
``gd``         ``SGD``                                 x ← x − η g
``momentum``   ``SGD(momentum=β)``                     β = 0.9 (heavy ball: v ← βv + g, x ← x − ηv)
``nesterov``   ``SGD(momentum=β, nesterov=True)``      β = 0.9
``adagrad``    ``Adagrad``                             s ← s + g², x ← x − η g / (√s + 1e-10)
``rmsprop``    ``RMSprop(alpha=γ)``                    γ = 0.9
``adadelta``   ``Adadelta(rho=ρ)``                     ρ = 0.9, η = 1 rescales the step
``adam``       ``Adam``                                β1 = 0.9, β2 = 0.999, ε = 1e-8
``adamw``      ``AdamW``                               weight decay 0.01
=============  ======================================  ===========================================

Second-order and saddle-escaping methods, written here (``H = V diag(λ) Vᵀ`` per row):

* ``newton`` (damped): x ← x − η (H + μI)⁺ g, the pseudo-inverse dropping eigenvalues with |λ + μ| ≤ ζ.
  η = 1, μ = 0 is Newton's method, exact in one step on a strictly convex quadratic. It is attracted by any
  critical point, saddles and maxima included.
* ``saddle-free-newton`` (Dauphin et al. 2014): x ← x − η V diag(1 / max(|λ|, μ)) Vᵀ g (directions with
  max(|λ|, μ) ≤ ζ are dropped). Rescaling by |H| turns negative-curvature directions into descent directions, so
  saddles repel.
* ``perturbed-gd`` (Jin et al. 2017): gradient descent that, when ‖g‖ ≤ g_p and no perturbation happened in the
  last ``t_p`` steps (``perturb_every``), adds a point drawn uniformly from the ball of radius ``r_p``. When ``t_p``
  steps after a perturbation f has not dropped by ``g_p · r_p`` below its value at the perturbation, the escape
  failed (a local minimum, as in Jin et al.'s stopping rule) and the row stops perturbing: plain GD from there.
  No perturbation in the final ``t_p`` steps either, so the run can settle.

Here ζ = sqrt(eps) · max(1, max|λ|) per row, the zero-eigenvalue tolerance of :func:`losslens.classify_point`.

Stochastic gradients (D2L 11.4): with ``noise`` σ > 0 every method sees ĝ = g + σ ξ, ξ ~ N(0, I) drawn from a
``torch.Generator`` seeded with ``seed``.

Learning-rate schedules are torch's own (:func:`parse_schedule`); they act on every method, the second-order ones
included (their η is read from the same param group).
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from ..tolerances import zero_threshold
from ..validation import InputError, check_choice, check_float, check_int
from .batch import hessians

FIRST_ORDER: dict[str, tuple[type, dict[str, Any]]] = {
    "gd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {"alpha": 0.9}),
    "adadelta": (torch.optim.Adadelta, {"rho": 0.9}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
}
OWN = ("newton", "saddle-free-newton", "perturbed-gd")
METHODS: tuple[str, ...] = tuple(FIRST_ORDER) + OWN

SCHEDULES: dict[str, type] = {
    "step": torch.optim.lr_scheduler.StepLR,
    "exponential": torch.optim.lr_scheduler.ExponentialLR,
    "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
    "linear": torch.optim.lr_scheduler.LinearLR,
    "constant": torch.optim.lr_scheduler.ConstantLR,
    "polynomial": torch.optim.lr_scheduler.PolynomialLR,
    "multistep": torch.optim.lr_scheduler.MultiStepLR,
}


_INT_KEYS = ("step_size", "T_max", "total_iters", "milestones")


def check_method(method: str) -> str:
    return check_choice("method", method, METHODS)


def parse_schedule(spec: str | None) -> tuple[str, dict[str, Any]] | None:
    """``"exponential:gamma=0.95"``, ``"step:step_size=10,gamma=0.5"``, ``"multistep:milestones=10;20"`` -> (name, kwargs).

    Keyword names are the torch scheduler's own; values are numbers (``;`` separates list items).
    """
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    name, _, rest = spec.strip().partition(":")
    check_choice("schedule", name, tuple(SCHEDULES))
    params = set(inspect.signature(SCHEDULES[name]).parameters) - {"optimizer", "last_epoch", "verbose"}
    kwargs: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, val = part.partition("=")
        key = key.strip()
        if not eq or key not in params:
            raise InputError(f"schedule {spec!r}: {part!r} must be key=value with key one of {', '.join(sorted(params))}")
        try:
            nums = [float(v) for v in val.split(";")]
        except ValueError:
            raise InputError(f"schedule {spec!r}: {key}={val!r} is not a number") from None
        if not all(math.isfinite(v) for v in nums):
            raise InputError(f"schedule {spec!r}: {key}={val!r} must be a finite number")
        if key in ("step_size", "T_max") and min(nums) < 1:
            raise InputError(f"schedule {spec!r}: {key}={val!r} must be an integer >= 1")
        if key in _INT_KEYS:
            if not all(v.is_integer() for v in nums):
                raise InputError(f"schedule {spec!r}: {key}={val!r} must be an integer")
            nums = [int(v) for v in nums]
        kwargs[key] = nums if key == "milestones" else nums[0]
    return name, kwargs


@dataclass(frozen=True)
class Settings:
    """Hyperparameters of one method (validated by :func:`settings`)."""

    method: str
    lr: float
    momentum: float | None = None
    noise: float = 0.0
    seed: int = 0
    schedule: tuple[str, dict[str, Any]] | None = None
    damping: float = 0.0
    perturb_radius: float | None = None      # None: decided by the caller from the objective's scale
    perturb_gtol: float | None = None
    perturb_every: int = 20
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"method": self.method, "lr": self.lr, "momentum": self.momentum, "noise": self.noise,
                "seed": self.seed, "schedule": None if self.schedule is None else
                {"name": self.schedule[0], **self.schedule[1]}, "damping": self.damping,
                "perturb_radius": self.perturb_radius, "perturb_gtol": self.perturb_gtol,
                "perturb_every": self.perturb_every, "options": dict(self.options)}


def settings(method: str, lr: float, *, momentum: float | None = None, noise: float = 0.0, seed: int = 0,
             schedule: str | tuple | None = None, damping: float = 0.0, perturb_radius: float | None = None,
             perturb_gtol: float | None = None, perturb_every: int = 20,
             options: dict[str, Any] | None = None) -> Settings:
    """Validate hyperparameters before any work (every bad value names itself)."""
    check_method(method)
    lr = check_float("lr", lr, lo=0, lo_open=True)
    if momentum is not None:
        if method not in ("momentum", "nesterov"):
            raise InputError(f"momentum == {momentum}, only methods 'momentum' and 'nesterov' take it (method is "
                             f"{method!r})")
        momentum = check_float("momentum", momentum, lo=0, hi=1, hi_open=True)
    noise = check_float("noise", noise, lo=0)
    seed = check_int("seed", seed, lo=0)
    sched = parse_schedule(schedule) if isinstance(schedule, str) or schedule is None else tuple(schedule)
    damping = check_float("damping", damping, lo=0)
    if perturb_radius is not None:
        perturb_radius = check_float("perturb_radius", perturb_radius, lo=0, lo_open=True)
    if perturb_gtol is not None:
        perturb_gtol = check_float("perturb_gtol", perturb_gtol, lo=0, lo_open=True)
    perturb_every = check_int("perturb_every", perturb_every, lo=1)
    options = dict(options or {})
    if options:
        if method not in FIRST_ORDER:
            raise InputError(f"options == {options}, only torch.optim methods take options (method is {method!r})")
        cls = FIRST_ORDER[method][0]
        allowed = set(inspect.signature(cls).parameters) - {"params", "lr"}
        bad = sorted(set(options) - allowed)
        if bad:
            raise InputError(f"options {bad} are not {cls.__name__} arguments; allowed: {', '.join(sorted(allowed))}")
    return Settings(method, lr, momentum, noise, seed, sched, damping, perturb_radius, perturb_gtol, perturb_every,
                    options)


def make_optimizer(s: Settings, X: torch.Tensor) -> torch.optim.Optimizer:
    """The torch.optim optimizer over ``X`` (first-order methods), or an SGD over a dummy tensor that only carries
    the learning rate for the methods written here (so torch's schedulers drive them too)."""
    if s.method in FIRST_ORDER:
        cls, defaults = FIRST_ORDER[s.method]
        kw = {**defaults, **s.options}
        if s.momentum is not None:
            kw["momentum"] = s.momentum
        return cls([X], lr=s.lr, **kw)
    return torch.optim.SGD([torch.zeros(1, dtype=X.dtype, requires_grad=True)], lr=s.lr)


def make_scheduler(s: Settings, opt: torch.optim.Optimizer):
    if s.schedule is None:
        return None
    name, kwargs = s.schedule
    try:
        return SCHEDULES[name](opt, **kwargs)
    except (TypeError, ValueError) as err:
        raise InputError(f"schedule {name} with {kwargs}: {' '.join(str(err).split())}") from None


class Stepper:
    """Advances ``X`` [m, n] one step at a time for :class:`Settings` ``s``; rows are independent.

    ``step(g, f)`` takes the exact gradients ``g`` [m, n] and values ``f`` [m] at the current ``X`` and returns the
    learning rate used. ``frozen`` [m] rows are left where they are.
    """

    def __init__(self, objective, s: Settings, X0: torch.Tensor, steps: int):
        self.objective, self.s, self.steps = objective, s, steps
        self.X = X0.detach().clone().requires_grad_(s.method in FIRST_ORDER)
        self.opt = make_optimizer(s, self.X)
        self.sched = make_scheduler(s, self.opt)
        self.gen = torch.Generator().manual_seed(s.seed)
        m = X0.shape[0]
        self.k = 0
        self.last_perturb = torch.full((m,), -(10 ** 9), dtype=torch.long)
        self.perturbs = torch.zeros(m, dtype=torch.long)
        self.f_perturb = torch.full((m,), math.inf, dtype=X0.dtype)
        self.calm = torch.zeros(m, dtype=torch.bool)     # rows whose last perturbation failed to lower f

    def state_dict(self) -> dict:
        """Everything needed to continue exactly: X, optimizer, schedule, generator and perturbation state."""
        return {"X": self.X.detach().clone(), "k": self.k, "optimizer": self.opt.state_dict(),
                "scheduler": None if self.sched is None else self.sched.state_dict(), "generator": self.gen.get_state(),
                "last_perturb": self.last_perturb, "perturbs": self.perturbs, "f_perturb": self.f_perturb,
                "calm": self.calm}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.X.copy_(state["X"])
        self.k = int(state["k"])
        self.opt.load_state_dict(state["optimizer"])
        if self.sched is not None:
            self.sched.load_state_dict(state["scheduler"])
        self.gen.set_state(state["generator"])
        for name in ("last_perturb", "perturbs", "f_perturb", "calm"):
            setattr(self, name, state[name].clone())

    @property
    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def _noisy(self, g: torch.Tensor) -> torch.Tensor:
        if self.s.noise == 0:
            return g
        return g + self.s.noise * torch.randn(g.shape, generator=self.gen, dtype=g.dtype)

    def step(self, g: torch.Tensor, f: torch.Tensor, frozen: torch.Tensor | None = None) -> float:
        lr = self.lr
        gh = self._noisy(g)
        old = self.X.detach().clone() if frozen is not None and bool(frozen.any()) else None
        if self.s.method in FIRST_ORDER:
            self.X.grad = gh.clone()
            self.opt.step()
        else:
            with torch.no_grad():
                self.X -= lr * self._direction(gh)
                if self.s.method == "perturbed-gd":
                    self._perturb(g, f)
        if old is not None:
            with torch.no_grad():
                self.X[frozen] = old[frozen]
        if self.sched is not None:
            if self.s.method not in FIRST_ORDER:
                self.opt.step()  # the lr carrier has no gradient: a no-op that keeps torch's step/schedule order
            self.sched.step()
        self.k += 1
        return lr

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        if self.s.method == "perturbed-gd":
            return g
        X = self.X.detach()
        H = hessians(self.objective, X)
        bad = ~torch.isfinite(H).all(dim=2).all(dim=1, keepdim=True)   # such rows get a non-finite step
        eye = torch.eye(X.shape[1], dtype=X.dtype).expand_as(H)
        lam, V = torch.linalg.eigh(torch.where(bad[:, :, None], eye, H))
        zeta = zero_threshold(lam)[:, None]
        if self.s.method == "newton":
            d = lam + self.s.damping
        else:  # saddle-free: |λ|, floored at the damping μ
            d = lam.abs().clamp(min=self.s.damping)
        inv = torch.where(d.abs() > zeta, 1.0 / torch.where(d == 0, torch.ones_like(d), d), torch.zeros_like(d))
        coef = inv * torch.einsum("mji,mj->mi", V, g)          # (Vᵀ g) / d
        step = torch.einsum("mij,mj->mi", V, coef)
        return torch.where(bad, torch.full_like(step, math.nan), step)

    def _perturb(self, g: torch.Tensor, f: torch.Tensor) -> None:
        s = self.s
        failed = (self.k - self.last_perturb == s.perturb_every) & (f > self.f_perturb - s.perturb_gtol * s.perturb_radius)
        self.calm |= failed
        small = torch.linalg.vector_norm(g, dim=1) <= s.perturb_gtol
        allowed = (self.k - self.last_perturb >= s.perturb_every) & (self.k < self.steps - s.perturb_every)
        rows = small & allowed & ~self.calm
        if not bool(rows.any()):
            return
        m, n = self.X.shape
        u = torch.randn(m, n, generator=self.gen, dtype=self.X.dtype)
        u = u / torch.linalg.vector_norm(u, dim=1, keepdim=True)
        r = s.perturb_radius * torch.rand(m, 1, generator=self.gen, dtype=self.X.dtype) ** (1.0 / n)
        self.X[rows] += (r * u)[rows]
        self.last_perturb[rows] = self.k
        self.f_perturb[rows] = f[rows]
        self.perturbs[rows] += 1
