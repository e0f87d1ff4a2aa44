"""Critical points of a small real network and how their index relates to their loss.

Dauphin et al. (NeurIPS 2014) and Pennington & Bahri (ICML 2017): critical points of a network's loss with high
loss are saddles with many descent directions, those with low loss are (near) minima; the index
``α = #{λ_i(∇²f) < 0} / n`` grows with the loss ``ε``. Pennington & Bahri predict ``α ≈ α₀ ((ε − ε_c)/ε_c)^{3/2}``
above a critical loss ``ε_c`` (and ``α = 0`` below it).

**Objective.** ``f(x) = CE(x) + (wd/2)‖x‖²``: the mean cross-entropy of an MLP ``64 → h → 10`` (tanh) on
``samples`` digits images (float64, :class:`losslens.model.ModelObjective`) plus weight decay ``wd``. Without
weight decay the classes are separable for this network, the cross-entropy has no finite minimiser and Newton runs
to infinity (measured); ``wd > 0`` also removes the exact zero eigenvalue of the output-bias shift. ``loss`` below is
this ``f``; ``data_loss`` the cross-entropy alone.

**Solver** (:func:`find_critical_point`). For ``n ≤ dense_max`` each iteration forms the dense Hessian
``H = Q diag(λ) Qᵀ`` (``torch.func.jacrev`` twice, float64, ``eigh``), ``c = Qᵀ g``, and steps

    target "any"      d = −Q diag(λ / (λ² + μ)) c     Levenberg–Marquardt on φ = ½‖g‖²: argmin ‖g + H d‖² + μ‖d‖²
                                                      (μ → 0: d = −H⁺ g, the least-squares Newton step)
    target "minimum"  d = −Q diag(1 / (|λ| + μ)) c   saddle-free Newton (Dauphin et al. 2014), descends f

(eigenvalues with ``|λ| ≤ 10⁻¹² max|λ|`` dropped). ``μ`` starts at 0 (the plain Newton step); a step is accepted
when it lowers ``φ`` ("any") or ``f`` ("minimum"; or ``φ`` once ``H ≻ 0``), then ``μ ← μ/10`` (0 below 10⁻¹²);
otherwise ``μ ← max(10μ, 10⁻⁸)`` (μ in units of ``max|λ|²`` resp. ``max|λ|``). Near a non-degenerate critical
point μ returns to 0 and the step is Newton's: quadratic convergence. For larger ``n``, Newton-MR (Roosta et al.
2018; MINRES on Hessian-vector products ``obj.hvp``, ``d ≈ −H⁺g``, backtracking on ``φ``) is used instead; the
Hessian is never formed during the search. The experiment runs torch on one thread (restored afterwards): for
these sizes extra threads only add waiting (measured ~10x slower with 2 threads on a loaded 2-core machine).

Minimising ``φ`` is not globally convergent: ``φ`` has local minima with ``g ≠ 0`` and ``H g = 0`` ("non-stationary
points", Doye & Wales 2002); from the gradient-descent path most searches end there (measured). So the critical
points come from two families of starts:

* ``reduced k``: the network with only its first ``k`` hidden units (the others' weights fixed at 0; ``k = 0..h``) is
  trained to a minimum (gradient descent, then saddle-free Newton in that subspace). A unit with all weights 0 has
  exactly zero gradient (``tanh(0) = 0``, and weight decay of 0 is 0), so this point is a critical point of the
  full network (Fukumizu & Amari 2000). Its index is computed with the full network's Hessian; ``k = h`` gives
  minima of the full network. Solved again with target "any" on the full network (the gradient check). The full
  Hessian there is block diagonal: the k-unit Hessian ⊕ one ``[[wd·I, Cᵀ], [C, wd·I]]`` block per switched-off
  unit, ``C = mean_i (p_i − e_{y_i}) [x_i, 1]ᵀ`` [10, 65], so each such unit adds ``#{σ(C) > wd}`` negative
  eigenvalues: these saddles are the Fukumizu–Amari family, the index falls as units are switched on.
* ``path``: snapshots of full-batch gradient descent (``torch.optim.SGD``) on the full network, then target "any"
  (the Pennington–Bahri procedure); reported whether or not they converge.

A point counts as critical when ``‖∇f(x)‖ ≤ tol = rtol · G``, ``G`` the median ‖∇f‖ at the random initialisations
(the gradient scale of the problem), ``rtol = 1e-8`` by default. **Index** from the dense Hessian (``eigvalsh``):
eigenvalues with ``|λ| ≤ zero_tol · max(1, max|λ|)`` (``zero_tol = sqrt(ε)`` of float64, 1.5e-8: the one
zero-eigenvalue rule of :mod:`losslens.tolerances`, ~10⁵ times the eigensolver's error ``n·ε·‖H‖``) count as zero;
``index = negative / n``; ``min_abs_eigenvalue`` shows the margin.

**Fit and verdict** over the distinct converged points (same loss to 1e-9 relative and same index count as one):
linear fit ``index ≈ slope·loss + intercept``, Spearman's ρ, and the Pennington–Bahri form
``α = A·max(0, ε − ε_c)^{3/2}`` (A, ε_c by least squares), each with its rms residual. Verdict
``saddles_high_minima_low`` when ρ > 0 with p < 0.05, at least one minimum (no negative and no zero eigenvalue) and
one saddle were found,
and every minimum has a lower loss than every saddle; ``index_rises_with_loss`` when only the rank
correlation holds; ``not_observed`` when ρ < 0 with p < 0.05; ``unknown`` otherwise (fewer than 5 distinct critical
points, all one index or loss, not significant), with the reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..newton_step import newton_step
from ..objective import Objective
from ..results import Result
from ..tolerances import default_tol, zero_eigenvalues
from ..validation import InputError, check_choice, check_float, check_int

ZERO_TOL = default_tol(torch.float64)     # the relative tolerance of the zero-eigenvalue rule


@dataclass(frozen=True)
class NetworkPoint(Result):
    """A critical point of a network's loss, or the end of one search for it: where the search started (``start``,
    ``start_loss``) and where it ended.

    ``loss`` = f (with weight decay), ``data_loss`` = cross-entropy; ``gradient_norm`` = ‖∇f‖ at the end;
    ``converged`` = ``gradient_norm <= tol``; ``status`` converged / stalled (a local minimum of ½‖g‖² with g ≠ 0, or
    no acceptable step) / max_iter; ``iterations`` Newton iterations, ``hessians`` dense Hessians and ``hvps``
    Hessian-vector products used (all stages); ``units`` active hidden units (``reduced`` starts), else None;
    ``negative``/``zero`` eigenvalue counts of the full Hessian [n × n], ``index = negative / n``.
    """

    start: str
    family: str
    units: int | None
    start_loss: float
    loss: float
    data_loss: float
    gradient_norm: float
    converged: bool
    status: str
    iterations: int
    hessians: int
    hvps: int
    n: int
    negative: int
    zero: int
    index: float
    min_eigenvalue: float
    max_eigenvalue: float
    min_abs_eigenvalue: float


@dataclass(frozen=True)
class NetworkSaddles(Result):
    """All searches; fits and verdict over the distinct converged points (``distinct`` of them).

    ``tol`` = ``rtol`` · ``gradient_scale``; ``slope``/``intercept``: linear fit of index on loss; ``spearman``,
    ``spearman_p``: rank correlation; ``pb_scale``, ``pb_eps_c``: Pennington–Bahri fit
    ``α = pb_scale · max(0, ε − ε_c)^{3/2}``; ``pb_rmse``, ``linear_rmse``: root-mean-square residual of each fit.
    """

    hidden: int
    samples: int
    weight_decay: float
    n_params: int
    seed: int
    rtol: float
    gradient_scale: float
    tol: float
    zero_tol: float
    points: tuple[NetworkPoint, ...]
    distinct: int
    slope: float | None
    intercept: float | None
    linear_rmse: float | None
    spearman: float | None
    spearman_p: float | None
    pb_scale: float | None
    pb_eps_c: float | None
    pb_rmse: float | None
    verdict: str
    reason: str


# --- objectives ---------------------------------------------------------------------------------------------------
class WeightDecayed(Objective):
    """``f(x) = base.f(x) + (wd/2)‖x‖²`` over the same flat vector [n]."""

    def __init__(self, base: Objective, wd: float):
        self.base, self.wd = base, float(wd)
        self.names, self.dtype, self.label = base.names, base.dtype, f"{base.label} + wd {wd:g}"

    def f(self, x):
        return self.base.f(x) + 0.5 * self.wd * (x @ x)


class Subspace(Objective):
    """``f_S(z) = base.f(x)`` with ``x[S] = z`` [|S|] and every other coordinate fixed at 0."""

    def __init__(self, base: Objective, keep: torch.Tensor):
        self.base, self.keep = base, keep
        self.names, self.dtype, self.label = tuple(base.names[i] for i in keep.tolist()), base.dtype, base.label

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(self.base.n, dtype=z.dtype).index_copy(0, self.keep, z)

    def f(self, z):
        return self.base.f(self.embed(z))


def tiny_mlp(hidden: int, seed: int = 0) -> nn.Module:
    """MLP 64 → hidden → 10 with tanh, seeded initialisation (the global RNG is untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, 10))


def digits_objective(model: nn.Module, samples: int, seed: int = 0):
    """Mean cross-entropy of ``model`` on the first ``samples`` digits training images (float64)."""
    from ..datasets import digits
    from ..model import ModelObjective

    X, y = digits(seed=seed, dtype=torch.float64).train
    samples = check_int("samples", samples, lo=10, hi=len(X))
    return ModelObjective(model, nn.CrossEntropyLoss(), (X[:samples], y[:samples]), dtype=torch.float64)


def unit_coordinates(hidden: int, units: int) -> torch.Tensor:
    """Flat indices (``nn.Sequential(Linear(64, h), Tanh, Linear(h, 10))`` layout) of hidden units ``0..units-1``
    (their input weights, bias and output weights) and of the output bias."""
    h = hidden
    rows = torch.arange(64 * units)                                   # W1[:units, :] (row-major [h, 64])
    b1 = 64 * h + torch.arange(units)
    W2 = 65 * h + (torch.arange(10)[:, None] * h + torch.arange(units)[None, :]).reshape(-1)   # W2[:, :units]
    b2 = 75 * h + torch.arange(10)
    return torch.cat([rows, b1, W2, b2]).sort().values


# --- solver -------------------------------------------------------------------------------------------------------
def dense_hessian(obj: Objective, x: torch.Tensor) -> torch.Tensor:
    """∇²f(x) [n, n] by reverse-over-reverse ``torch.func.jacrev``, symmetrised (cheaper than forward-over-reverse
    ``torch.func.hessian`` for these models; the tests compare the two)."""
    from torch.func import jacrev

    H = jacrev(jacrev(obj.f))(x)
    return 0.5 * (H + H.T)


def point_index(obj: Objective, x: torch.Tensor, zero_tol: float = ZERO_TOL, hessian: torch.Tensor | None = None
                ) -> tuple[int, int, float, float, float]:
    """(negative, zero, λ_min, λ_max, min|λ|) of the dense Hessian at ``x``; |λ| <= zero_tol·max(1, max|λ|) is
    zero (:func:`losslens.tolerances.zero_eigenvalues`)."""
    ev = torch.linalg.eigvalsh(dense_hessian(obj, x) if hessian is None else hessian)
    zero = zero_eigenvalues(ev, zero_tol)
    return (int(((ev < 0) & ~zero).sum()), int(zero.sum()), float(ev[0]), float(ev[-1]), float(ev.abs().min()))


@dataclass(frozen=True)
class NewtonSearch:
    """Outcome of one solver run: the end point ``x`` [n], ``converged`` (‖∇f(x)‖ <= tol), why it stopped, and the
    work done (Newton iterations, dense Hessians, Hessian-vector products)."""

    x: torch.Tensor
    converged: bool
    status: str
    gradient_norm: float
    iterations: int
    hessians: int
    hvps: int


def value_and_grad(obj: Objective, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(f(x), ∇f(x) [n]) by one ``torch.autograd.grad``: the numbers of :meth:`Objective.value_and_grad`
    (``torch.func``) at about half its per-call cost for these small networks (Newton's line search calls it often)."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        v = obj.f(xg)
        (g,) = torch.autograd.grad(v, xg)
    return v.detach(), g


def newton_dense(obj: Objective, x0: torch.Tensor, tol: float, max_iter: int = 100, target: str = "any",
                 stall: int = 10) -> NewtonSearch:
    """Dense-Hessian Newton with a Levenberg–Marquardt safeguard (module docstring). Stops when ‖g‖ <= tol, when no
    step is accepted for μ up to 10⁸, or when the last ``stall`` iterations lowered ‖g‖ by less than 2 % in all
    (and, for target "minimum", f by less than 10⁻¹⁰ relative)."""
    x = x0.detach().clone()
    f0, g = value_and_grad(obj, x)
    f0 = float(f0)
    mu, hessians, history = 0.0, 0, []
    for it in range(max_iter):
        gn = float(g.norm())
        history.append((gn, f0))
        if gn <= tol:
            return NewtonSearch(x, True, "converged", gn, it, hessians, 0)
        if len(history) > stall:
            g_old, f_old = history[-stall - 1]
            if gn > 0.98 * g_old and (target == "any" or f_old - f0 <= 1e-10 * abs(f_old)):
                return NewtonSearch(x, False, "stalled", gn, it, hessians, 0)
        lam, Q = torch.linalg.eigh(dense_hessian(obj, x))
        hessians += 1
        scale = float(lam.abs().max()) or 1.0
        while True:      # with μ = 0 the pseudo-inverse drops (numerically) zero λ: |λ| <= 10⁻¹² max|λ|
            if target == "any":
                d = newton_step(lam, Q, g, mu * scale ** 2, drop=1e-12)
            else:
                d = newton_step(lam, Q, g, mu * scale, kind="saddle-free", drop=1e-12)
            fn, gx = value_and_grad(obj, x + d)
            fn = float(fn)
            if target == "any":
                ok = float(gx.norm()) < gn
            else:
                ok = fn < f0 or (float(lam[0]) > 0 and float(gx.norm()) < gn and fn <= f0 + 1e-12 * abs(f0))
            if ok and math.isfinite(fn):
                x, g, f0, mu = x + d, gx, fn, (mu / 10 if mu > 1e-12 else 0.0)
                break
            mu = max(10 * mu, 1e-8)
            if mu > 1e8:
                return NewtonSearch(x, False, "stalled", gn, it, hessians, 0)
    gn = float(g.norm())
    return NewtonSearch(x, gn <= tol, "converged" if gn <= tol else "max_iter", gn, max_iter, hessians, 0)


def newton_mr(obj: Objective, x0: torch.Tensor, tol: float = 1e-8, max_iter: int = 100, minres_iter: int = 200
              ) -> NewtonSearch:
    """Minimise ½‖∇f‖² by Newton-MR from ``x0`` [n] with Hessian-vector products only (for large ``n``)."""
    from scipy.sparse.linalg import LinearOperator, minres

    x = x0.detach().clone()
    hvps = 0
    g = obj.grad(x)
    for it in range(max_iter):
        gn2 = float(g @ g)
        if math.sqrt(gn2) <= tol:
            return NewtonSearch(x, True, "converged", math.sqrt(gn2), it, 0, hvps)
        counter = [0]

        def mv(v, x=x):
            counter[0] += 1
            return obj.hvp(x, torch.as_tensor(np.asarray(v).ravel(), dtype=torch.float64)).numpy()

        H = LinearOperator((obj.n, obj.n), matvec=mv, dtype=np.float64)
        d, _ = minres(H, -g.numpy(), maxiter=minres_iter, rtol=1e-10)
        d = torch.as_tensor(d, dtype=torch.float64)
        Hd = obj.hvp(x, d)
        hvps += counter[0] + 1
        slope = float(2 * g @ Hd)                 # d/dα ‖g(x + αd)‖² at α = 0
        if not slope < 0:                         # MINRES stopped early on a bad direction: use −Hg instead
            d = -obj.hvp(x, g)
            hvps += 1
            slope = float(-2 * d @ d)
        alpha = 1.0
        while alpha > 1e-10:
            gx = obj.grad(x + alpha * d)
            if float(gx @ gx) <= gn2 + 1e-4 * alpha * slope:
                break
            alpha /= 2
        else:
            return NewtonSearch(x, False, "stalled", math.sqrt(gn2), it, 0, hvps)
        x, g = x + alpha * d, gx
    gn = float(g.norm())
    return NewtonSearch(x, gn <= tol, "converged" if gn <= tol else "max_iter", gn, max_iter, 0, hvps)


def find_critical_point(obj: Objective, x0: torch.Tensor, tol: float, max_iter: int = 100, target: str = "any",
                        dense_max: int = 3000) -> NewtonSearch:
    """A critical point near ``x0`` [n]: dense Newton for ``n <= dense_max``, Newton-MR (target "any" only) above."""
    tol = check_float("tol", tol, lo=0, lo_open=True)
    max_iter = check_int("max_iter", max_iter, lo=1)
    check_choice("target", target, ("any", "minimum"))
    x0 = obj.point(x0, "x0")
    if obj.n <= dense_max:
        return newton_dense(obj, x0, tol, max_iter, target)
    if target != "any":
        raise InputError(f"target == {target!r} needs the dense Hessian, n == {obj.n} > dense_max == {dense_max}")
    return newton_mr(obj, x0, tol, max_iter)


# --- the experiment -----------------------------------------------------------------------------------------------
def gd_snapshots(obj: Objective, x0: torch.Tensor, lr: float, steps: tuple[int, ...]
                 ) -> list[tuple[int, torch.Tensor]]:
    """Full-batch gradient descent (torch.optim.SGD) from ``x0``; the iterate at each step in ``steps``.

    ∇f(x) by ``backward()`` into ``x.grad``: the same numbers as :meth:`Objective.grad` (``torch.func.grad``), at
    half its per-call cost for these small networks."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.SGD([x], lr=lr)
    out, step = [], 0
    for target in sorted(steps):
        while step < target:
            opt.zero_grad()
            with torch.enable_grad():
                obj.f(x).backward()
            opt.step()
            step += 1
        out.append((step, x.detach().clone()))
    return out


def network_saddles(hidden: int = 6, samples: int = 200, weight_decay: float = 1e-2, inits: int = 3,
                    path_steps: tuple[int, ...] = (10, 100), warmup: int = 300, lr: float = 0.5, rtol: float = 1e-8,
                    max_iter: int = 100, seed: int = 0, progress: Callable[[int, int], None] | None = None
                    ) -> NetworkSaddles:
    """Critical points of the weight-decayed digits MLP (module docstring) and their index against their loss."""
    hidden = check_int("hidden", hidden, lo=1, hi=64)
    inits = check_int("inits", inits, lo=1)
    warmup = check_int("warmup", warmup, lo=0)
    max_iter = check_int("max_iter", max_iter, lo=1)
    rtol = check_float("rtol", rtol, lo=0, lo_open=True)
    lr = check_float("lr", lr, lo=0, lo_open=True)
    weight_decay = check_float("weight_decay", weight_decay, lo=0, lo_open=True)
    for s in path_steps:
        check_int("path_steps", s, lo=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)       # n×n eigh and batched products of this size: threads only add waiting (measured)
    try:
        return _network_saddles(hidden, samples, weight_decay, inits, path_steps, warmup, lr, rtol, max_iter, seed,
                                progress)
    finally:
        torch.set_num_threads(threads)


def _network_saddles(hidden, samples, weight_decay, inits, path_steps, warmup, lr, rtol, max_iter, seed, progress):
    objs = [WeightDecayed(digits_objective(tiny_mlp(hidden, seed + i), samples, seed), weight_decay)
            for i in range(inits)]
    obj, x_inits = objs[0], [o.base.x0 for o in objs]
    scale = float(np.median([float(obj.grad(x).norm()) for x in x_inits]))
    tol = rtol * scale

    jobs = [("reduced", k, i) for k in range(hidden + 1) for i in (range(1) if k == 0 else range(inits))]
    jobs += [("path", s, i) for i in range(inits) for s in path_steps]
    points = []
    for j, (family, arg, i) in enumerate(jobs):
        if progress:
            progress(j, len(jobs))
        if family == "reduced":
            points.append(_reduced_point(obj, hidden, arg, x_inits[i], i, warmup, lr, tol, max_iter))
        else:
            (_, xs), = gd_snapshots(obj, x_inits[i], lr, (arg,))
            found = find_critical_point(obj, xs, tol, max_iter)
            points.append(_point(obj, f"init {i}, GD step {arg}", "path", None, xs, found))
    if progress:
        progress(len(jobs), len(jobs))
    return NetworkSaddles(hidden, samples, weight_decay, obj.n, seed, rtol, scale, tol, ZERO_TOL, tuple(points),
                          *_fit(points))


def _reduced_point(obj, hidden, k, x_init, i, warmup, lr, tol, max_iter) -> NetworkPoint:
    """Minimum of the network restricted to hidden units < k, embedded, then solved on the full network."""
    sub = Subspace(obj, unit_coordinates(hidden, k))
    z0 = x_init[sub.keep]
    (_, z), = gd_snapshots(sub, z0, lr, (warmup,))
    low = find_critical_point(sub, z, tol, max_iter, target="minimum")
    full = find_critical_point(obj, sub.embed(low.x), tol, max_iter)
    total = NewtonSearch(full.x, full.converged, full.status, full.gradient_norm, low.iterations + full.iterations,
                   low.hessians + full.hessians, low.hvps + full.hvps)
    return _point(obj, f"{k}/{hidden} units, init {i}", "reduced", k, sub.embed(z0), total)


def _point(obj, label, family, units, x0, s: NewtonSearch) -> NetworkPoint:
    H = dense_hessian(obj, s.x)
    neg, zero, lo, hi, small = point_index(obj, s.x, hessian=H)
    return NetworkPoint(label, family, units, float(obj.value(x0)), float(obj.value(s.x)),
                         float(obj.base.value(s.x)), s.gradient_norm, s.converged, s.status, s.iterations,
                         s.hessians + 1, s.hvps, obj.n, neg, zero, neg / obj.n, lo, hi, small)


def distinct_points(points) -> list[NetworkPoint]:
    """Converged points, one per (loss to 1e-9 relative, negative count)."""
    out: list[NetworkPoint] = []
    for p in points:
        if p.converged and not any(q.negative == p.negative and abs(q.loss - p.loss) <= 1e-9 * abs(q.loss)
                                   for q in out):
            out.append(p)
    return out


def _pb_fit(loss: np.ndarray, idx: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Least-squares (A, ε_c, rms residual) of α = A·max(0, ε − ε_c)^{3/2} (Pennington–Bahri's
    α₀((ε − ε_c)/ε_c)^{3/2} with A = α₀/ε_c^{3/2}, well conditioned also as ε_c → 0), or Nones when it fails."""
    from scipy.optimize import curve_fit

    model = lambda e, a, ec: a * np.clip(e - ec, 0, None) ** 1.5
    ec0 = 0.9 * float(loss.min())
    try:
        (a, ec), _ = curve_fit(model, loss, idx, p0=(float(idx.max()) / (float(loss.max()) - ec0) ** 1.5, ec0),
                               bounds=([0, 0], [np.inf, float(loss.max())]), maxfev=20000)
    except (RuntimeError, ValueError):
        return None, None, None
    return float(a), float(ec), float(np.sqrt(np.mean((model(loss, a, ec) - idx) ** 2)))


def _fit(points) -> tuple:
    """(distinct, slope, intercept, linear_rmse, ρ, p, α₀, ε_c, pb_rmse, verdict, reason) over converged points."""
    from scipy.stats import spearmanr

    good = distinct_points(points)
    none = (None,) * 8
    converged = sum(p.converged for p in points)
    if len(good) < 5:
        return (len(good), *none, "unknown",
                f"only {len(good)} distinct critical points ({converged} of {len(points)} searches converged; need 5)")
    loss = np.array([p.loss for p in good])
    idx = np.array([p.index for p in good])
    if np.ptp(loss) == 0 or np.ptp(idx) == 0:
        return len(good), *none, "unknown", "all distinct critical points share one loss or one index"
    slope, intercept = np.polyfit(loss, idx, 1)
    lin_rmse = float(np.sqrt(np.mean((slope * loss + intercept - idx) ** 2)))
    rho, pval = spearmanr(loss, idx)
    a0, ec, pb_rmse = _pb_fit(loss, idx)
    minima = [p.loss for p in good if p.negative == 0 and p.zero == 0]    # degenerate points are not proven minima
    saddles = [p.loss for p in good if p.negative > 0]
    separated = bool(minima and saddles and max(minima) < min(saddles))
    msg = (f"{len(good)} distinct critical points ({converged} of {len(points)} searches converged); Spearman "
           f"rho(index, loss) = {rho:.3f} (p = {pval:.2g}); {len(minima)} minima (loss "
           f"{_span(minima)}), {len(saddles)} saddles (loss {_span(saddles)})"
           + ("; every minimum lies below every saddle" if separated else ""))
    if rho > 0 and pval < 0.05:
        verdict = "saddles_high_minima_low" if separated else "index_rises_with_loss"
    elif rho < 0 and pval < 0.05:
        verdict = "not_observed"
    else:
        verdict = "unknown"
        msg += "; the rank correlation is not significant"
    return len(good), float(slope), float(intercept), lin_rmse, float(rho), float(pval), a0, ec, pb_rmse, verdict, msg


def _span(values: list[float]) -> str:
    return f"{min(values):.4g}..{max(values):.4g}" if values else "none"
