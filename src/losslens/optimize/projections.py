"""Exact Euclidean projections onto convex sets: P_C(x) = argmin_{y ∈ C} ½‖y − x‖².

Every set here has a closed-form or finite (sort-based) projection, exact up to floating-point rounding:

* ``BoxSet(lo, hi)``       C = {y : lo ≤ y ≤ hi}           P(x) = clip(x, lo, hi)          (±inf bounds allowed)
* ``L2Ball(center, r)``     C = {y : ‖y − c‖₂ ≤ r}          P(x) = c + (x − c) · min(1, r / ‖x − c‖₂)
* ``L1Ball(center, r)``     C = {y : ‖y − c‖₁ ≤ r}          soft-threshold at θ found by sorting |x − c|
                                                            (Duchi, Shalev-Shwartz, Singer, Chandra 2008)
* ``Simplex(total)``        C = {y : y ≥ 0, Σ y = s}         P(x) = max(x − τ, 0), τ found by sorting x
* ``Affine(A, b)``          C = {y : A y = b}               P(x) = x − A⁺ (A x − b)   (A⁺ pseudo-inverse)
* ``Halfspace(a, b)``       C = {y : aᵀ y ≤ b}              P(x) = x − max(0, aᵀx − b) / ‖a‖² · a

Shapes: points are float64 tensors ``[n]``; ``A`` is ``[m, n]``, ``b`` ``[m]``; ``a`` is ``[n]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..results import Result
from ..tolerances import norm2
from ..validation import InputError, check_float, check_point, parse_floats

SETS = ("box", "l2", "l1", "simplex", "affine", "halfspace")


def pow2_scale(*vs: torch.Tensor, floor: float = 1.0) -> float:
    """The power of two ``s`` with ``s <= m < 2s``, ``m = max(floor, max |v_i|)`` over the tensors ``vs``: dividing
    by it is exact and keeps differences such as ``x − c`` and products such as ``aᵀx`` of entries near 1e308 (or,
    with ``floor=0``, ``aᵀa`` of entries near 1e-200) finite and nonzero."""
    m = max([floor] + [float(v.abs().max()) for v in vs if v.numel()])
    return math.ldexp(1.0, math.frexp(m)[1] - 1) if 0 < m < math.inf else 1.0


def _vec(name: str, v, n: int | None = None) -> torch.Tensor:
    t = torch.as_tensor(v, dtype=torch.float64).reshape(-1)
    if n is not None and t.numel() != n:
        raise InputError(f"{name} has {t.numel()} coordinate(s), the point has {n}")
    return t


class ConvexSet:
    """A closed convex set with an exact projection. Subclasses give :meth:`project` and :meth:`violation`."""

    kind: str = "set"

    def project(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def violation(self, x: torch.Tensor) -> float:  # pragma: no cover - abstract
        """How far outside the set's defining inequalities ``x`` is (0 inside)."""
        raise NotImplementedError

    def check_dim(self, n: int) -> None:
        if self.n is not None and self.n != n:
            raise InputError(f"{self.kind} set has dimension {self.n}, the point has {n} coordinate(s)")

    n: int | None = None


@dataclass(frozen=True, eq=False)
class BoxSet(ConvexSet):
    """{y : lo ≤ y ≤ hi}; ``lo``/``hi`` [n], entries may be ∓inf, lo ≤ hi."""

    lo: torch.Tensor
    hi: torch.Tensor
    kind: str = field(default="box", init=False)

    def __post_init__(self):
        lo, hi = _vec("lo", self.lo), _vec("hi", self.hi, None)
        if lo.numel() != hi.numel():
            raise InputError(f"box lo has {lo.numel()} and hi {hi.numel()} entries, must be equal")
        if torch.isnan(lo).any() or torch.isnan(hi).any() or (lo > hi).any():
            raise InputError(f"box lo == {lo.tolist()}, hi == {hi.tolist()}: must be numbers with lo <= hi")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def n(self):
        return self.lo.numel()

    def project(self, x):
        return torch.minimum(torch.maximum(x, self.lo), self.hi)

    def violation(self, x):
        return float(torch.cat([(self.lo - x).clamp_min(0), (x - self.hi).clamp_min(0)]).max())


@dataclass(frozen=True, eq=False)
class _Ball(ConvexSet):
    """{y : ‖y − center‖ ≤ radius} in some norm; ``center`` [n], radius ≥ 0."""

    center: torch.Tensor
    radius: float

    def __post_init__(self):
        object.__setattr__(self, "center", _vec("center", self.center))
        object.__setattr__(self, "radius", check_float("radius", self.radius, lo=0.0))

    @property
    def n(self):
        return self.center.numel()


@dataclass(frozen=True, eq=False)
class L2Ball(_Ball):
    """{y : ‖y − center‖₂ ≤ radius}."""

    kind: str = field(default="l2", init=False)

    def project(self, x):
        k = pow2_scale(x, self.center)          # d = k·(x/k − c/k): no overflow in x − c
        d = x / k - self.center / k
        norm = norm2(d)
        return x.clone() if norm <= self.radius / k else self.center + d * (self.radius / norm)

    def violation(self, x):
        return max(0.0, norm2(x - self.center) - self.radius)


@dataclass(frozen=True, eq=False)
class L1Ball(_Ball):
    """{y : ‖y − center‖₁ ≤ radius}.

    Outside the ball, P(x) = c + sign(d)·max(|d| − θ, 0) with d = x − c and θ the unique root of
    Σ max(|d_i| − θ, 0) = r, found exactly from the sorted |d| (Duchi et al. 2008, Fig. 1).
    """

    kind: str = field(default="l1", init=False)

    def project(self, x):
        d = x - self.center
        if float(d.abs().sum()) <= self.radius:
            return x.clone()
        if self.radius == 0:
            return self.center.clone()
        a = d.abs()
        a = a - a.max()          # shifted so that 1e308 - θ does not round to 0 (θ moves with the shift)
        return self.center + d.sign() * (a - _simplex_threshold(a, self.radius)).clamp_min(0)

    def violation(self, x):
        return max(0.0, float((x - self.center).abs().sum()) - self.radius)


@dataclass(frozen=True, eq=False)
class Simplex(ConvexSet):
    """{y : y ≥ 0, Σ y = total}, total > 0 (the probability simplex for total = 1); dimension from the point."""

    total: float = 1.0
    kind: str = field(default="simplex", init=False)

    def __post_init__(self):
        object.__setattr__(self, "total", check_float("total", self.total, lo=0.0, lo_open=True))

    def project(self, x):
        y = x - x.max()          # Π(x + c·1) = Π(x): shifted so that huge coordinates do not lose the total
        return (y - _simplex_threshold(y, self.total)).clamp_min(0)

    def violation(self, x):
        return max(float((-x).clamp_min(0).max()), abs(float(x.sum()) - self.total))


def _simplex_threshold(v: torch.Tensor, total: float) -> float:
    """τ with Σ max(v_i − τ, 0) = total: sort v descending, the last k with u_k > (Σ_{j≤k} u_j − total)/k."""
    u = torch.sort(v, descending=True).values
    css = torch.cumsum(u, 0) - total
    k = torch.arange(1, v.numel() + 1, dtype=v.dtype)
    rho = int(torch.nonzero(u - css / k > 0).max())
    return float(css[rho] / (rho + 1))


@dataclass(frozen=True, eq=False)
class Affine(ConvexSet):
    """{y : A y = b}; ``A`` [m, n], ``b`` [m]. Rank-deficient A is fine; an inconsistent system is refused."""

    A: torch.Tensor
    b: torch.Tensor
    kind: str = field(default="affine", init=False)

    def __post_init__(self):
        A = torch.as_tensor(self.A, dtype=torch.float64)
        A = A.reshape(1, -1) if A.dim() == 1 else A
        b = _vec("b", self.b)
        if A.dim() != 2 or A.shape[0] != b.numel():
            raise InputError(f"affine A has shape {tuple(A.shape)} and b {b.numel()} entries: A must be [m, n], b [m]")
        if not (torch.isfinite(A).all() and torch.isfinite(b).all()):
            raise InputError("affine A and b must be finite")
        pinv = torch.linalg.pinv(A)
        y = pinv @ b
        scale = max(1.0, float(b.abs().max()) if b.numel() else 1.0, float(A.abs().max()))
        if float((A @ y - b).abs().max()) > 1e-10 * scale:
            raise InputError(f"affine constraints A y = b are inconsistent (no solution), residual "
                             f"{float((A @ y - b).abs().max()):.3g}")
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "_pinv", pinv)

    @property
    def n(self):
        return self.A.shape[1]

    def project(self, x):
        return x - self._pinv @ (self.A @ x - self.b)

    def violation(self, x):
        return float((self.A @ x - self.b).abs().max())


@dataclass(frozen=True, eq=False)
class Halfspace(ConvexSet):
    """{y : aᵀ y ≤ b}; ``a`` [n] nonzero."""

    a: torch.Tensor
    b: float
    kind: str = field(default="halfspace", init=False)

    def __post_init__(self):
        a = _vec("a", self.a)
        if not torch.isfinite(a).all() or float(a.abs().max()) == 0:
            raise InputError(f"halfspace normal a == {a.tolist()}, must be finite and nonzero")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", check_float("b", self.b))

    @property
    def n(self):
        return self.a.numel()

    def project(self, x):
        # a and x divided by powers of two (exact): aᵀa neither underflows (a = 1e-200) nor overflows (a = 1e200),
        # and aᵀx stays finite for x near 1e308
        sa, k = pow2_scale(self.a, floor=0.0), pow2_scale(x)
        a, y = self.a / sa, x / k
        excess = float(a @ y) - self.b / sa / k
        return x.clone() if excess <= 0 else k * (y - (excess / float(a @ a)) * a)

    def violation(self, x):
        return max(0.0, float(self.a @ x) - self.b)


@dataclass(frozen=True)
class ProjectionResult(Result):
    """The projection ``projection`` [n] of ``point`` [n] onto a set, the distance ‖x − P(x)‖₂, and whether the
    point was already inside. ``set`` describes the set (kind and its parameters)."""

    set: dict
    point: torch.Tensor
    projection: torch.Tensor
    distance: float
    inside: bool

    @property
    def verdict(self) -> str:
        return "inside" if self.inside else "projected"

    @property
    def reason(self) -> str:
        return ("the point satisfies every condition of the set" if self.inside
                else f"the nearest point of the set is at distance {self.distance:.6g}")


def make_set(kind: str, n: int, *, radius: float | None = None, center=None, lo=None, hi=None, total: float = 1.0,
             A=None, b=None, a=None) -> ConvexSet:
    """Build a set by name (``box``, ``l2``, ``l1``, ``simplex``, ``affine``, ``halfspace``) in ``R^n``."""
    if kind not in SETS:
        raise InputError(f"set == {kind!r}, must be one of {', '.join(SETS)}")
    if kind in ("l2", "l1"):
        if radius is None:
            raise InputError(f"set {kind} needs a radius (--radius)")
        c = torch.zeros(n, dtype=torch.float64) if center is None else check_point("center", center, n)
        return (L2Ball if kind == "l2" else L1Ball)(c, radius)
    if kind == "box":
        lo_t = torch.full((n,), -math.inf, dtype=torch.float64) if lo is None else _vec("lo", lo)
        hi_t = torch.full((n,), math.inf, dtype=torch.float64) if hi is None else _vec("hi", hi)
        lo_t = lo_t.expand(n).clone() if lo_t.numel() == 1 else lo_t
        hi_t = hi_t.expand(n).clone() if hi_t.numel() == 1 else hi_t
        s = BoxSet(lo_t, hi_t)
    elif kind == "simplex":
        s = Simplex(total)
    elif kind == "affine":
        if A is None or b is None:
            raise InputError("set affine needs A and b (--A '1,1;0,1' --b '1,0')")
        s = Affine(A, b)
    else:
        if a is None or b is None:
            raise InputError("set halfspace needs a and b (--a '1,1' --b 1)")
        s = Halfspace(a, float(torch.as_tensor(b, dtype=torch.float64).reshape(-1)[0]))
    s.check_dim(n)
    return s


def describe(s: ConvexSet) -> dict:
    """The set as JSON-ready parameters."""
    d = {"kind": s.kind}
    for name in ("lo", "hi", "center", "radius", "total", "A", "b", "a"):
        if hasattr(s, name) and name not in ("kind",):
            v = getattr(s, name)
            d[name] = v.tolist() if isinstance(v, torch.Tensor) else v
    return d


def project(s: ConvexSet, x) -> ProjectionResult:
    """P_C(x) with its distance.

    >>> [round(v, 12) for v in project(L2Ball(torch.zeros(2), 1.0), [3.0, 4.0]).projection.tolist()]
    [0.6, 0.8]
    """
    if isinstance(x, str):
        x = parse_floats("point", x)
    n = s.n if s.n is not None else torch.as_tensor(x, dtype=torch.float64).reshape(-1).numel()
    x = check_point("point", x, n)
    p = s.project(x)
    return ProjectionResult(describe(s), x, p, norm2(x - p), s.violation(x) == 0.0)
