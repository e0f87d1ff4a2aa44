"""The one idea: an objective ``f : R^n -> R`` over one flat parameter vector ``x``.

Every analysis in losslens takes an :class:`Objective`. A subclass supplies only the pure function
``f(x)`` (``x`` of shape ``[n]`` -> scalar); derivatives come from ``torch.func``:

* ``grad(x)``          = ∇f(x)                         shape [n]
* ``hvp(x, v)``        = ∇²f(x) v  (forward-over-reverse: jvp of grad)   v: [n] -> [n], or [k, n] -> [k, n]
* ``hessian(x)``       = ∇²f(x)                        shape [n, n] (dense; small n only)
* ``values(X)``        = f for each row of X           [m, n] -> [m]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch.func import grad as _grad, grad_and_value, hessian as _hessian, jvp, vjp, vmap

from .validation import InputError, check_point, check_points


@dataclass(frozen=True)
class Box:
    """Per-variable bounds ``lo[i] <= x[i] <= hi[i]`` (finite, ``lo < hi``)."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    def __post_init__(self):
        if len(self.lo) != len(self.hi) or not self.lo:
            raise InputError(f"box needs as many lower as upper bounds, got {len(self.lo)} and {len(self.hi)}")
        for i, (a, b) in enumerate(zip(self.lo, self.hi)):
            if not (math.isfinite(a) and math.isfinite(b)):
                raise InputError(f"box bound {i} == {a}:{b}, bounds must be finite")
            if not a < b:
                raise InputError(f"box bound {i} == {a}:{b}, must have lo < hi")

    @property
    def n(self) -> int:
        return len(self.lo)

    @classmethod
    def parse(cls, text: str, n: int) -> "Box":
        """``"-1:2,-3:3"`` (one ``lo:hi`` per variable) or ``"-1:1"`` (the same for all ``n``)."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("box is empty, must look like -1:2,-3:3 (one lo:hi per variable) or -1:1")
        parts = [p.strip() for p in text.split(",")]
        bounds = []
        for p in parts:
            ab = p.split(":")
            if len(ab) != 2:
                raise InputError(f"box part {p!r} must be lo:hi, e.g. -1:2")
            try:
                bounds.append((float(ab[0]), float(ab[1])))
            except ValueError:
                raise InputError(f"box part {p!r} must be two numbers lo:hi, e.g. -1:2") from None
        if len(bounds) == 1:
            bounds = bounds * n
        if len(bounds) != n:
            raise InputError(f"box has {len(bounds)} lo:hi parts, the objective has {n} variable(s)")
        return cls(tuple(b[0] for b in bounds), tuple(b[1] for b in bounds))

    @classmethod
    def coerce(cls, box, n: int) -> "Box | None":
        """A :class:`Box`, text ``"-1:2,0:3"`` or pairs ``[(lo, hi), ...]`` (None stays None), checked to have ``n``
        parts."""
        if box is None:
            return None
        if isinstance(box, str):
            box = cls.parse(box, n)
        elif not isinstance(box, Box):
            try:
                lo, hi = zip(*box)
            except (TypeError, ValueError):
                raise InputError(f"box == {box!r}, must be a Box, text like -1:2,0:3 or pairs [(lo, hi), ...]") \
                    from None
            box = cls(tuple(map(float, lo)), tuple(map(float, hi)))
        if box.n != n:
            raise InputError(f"box has {box.n} lo:hi parts, the objective has {n} variable(s)")
        return box

    @classmethod
    def cube(cls, lo: float, hi: float, n: int) -> "Box":
        return cls((float(lo),) * n, (float(hi),) * n)

    def tensors(self, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.tensor(self.lo, dtype=dtype), torch.tensor(self.hi, dtype=dtype)

    def contains(self, x: torch.Tensor) -> bool:
        lo, hi = self.tensors(x.dtype)
        return bool(((x >= lo) & (x <= hi)).all())

    def sample(self, m: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """``m`` uniform points in the box, shape [m, n]."""
        g = torch.Generator().manual_seed(seed)
        lo, hi = self.tensors(dtype)
        return lo + (hi - lo) * torch.rand(m, self.n, generator=g, dtype=dtype)

    def to_dict(self) -> dict:
        return {"lo": list(self.lo), "hi": list(self.hi)}

    def __str__(self) -> str:
        return ",".join(f"{a:g}:{b:g}" for a, b in zip(self.lo, self.hi))


class Objective:
    """A scalar function of one flat vector. Subclasses implement :meth:`f`.

    Attributes: ``names`` (one per coordinate), ``dtype`` (default float64), ``box`` (a :class:`Box` or None),
    ``label`` (how to show it).
    """

    names: tuple[str, ...] = ()
    dtype: torch.dtype = torch.float64
    box: Box | None = None
    label: str = "objective"

    @property
    def n(self) -> int:
        return len(self.names)

    def f(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """f(x) for x of shape [n]; returns a 0-dim tensor. Must be a pure torch function (torch.func)."""
        raise NotImplementedError

    # --- checked entry points -------------------------------------------------------------------------------
    def point(self, x, name: str = "x") -> torch.Tensor:
        """Validate and convert a point to a tensor [n] of this objective's dtype."""
        return check_point(name, x, self.n, self.dtype)

    def value(self, x) -> torch.Tensor:
        return self.f(self.point(x))

    def grad(self, x) -> torch.Tensor:
        return _grad(self.f)(self.point(x))

    def value_and_grad(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        g, v = grad_and_value(self.f)(self.point(x))
        return v, g

    def hvp(self, x, v) -> torch.Tensor:
        """∇²f(x) v for v of shape [n] or a batch [k, n] (one forward-over-reverse pass per vector, vmapped)."""
        x = self.point(x)
        v = torch.as_tensor(v, dtype=self.dtype)
        if v.shape[-1:] != (self.n,) or v.dim() not in (1, 2):
            raise InputError(f"v has shape {tuple(v.shape)}, must be [{self.n}] or [k, {self.n}]")
        if not getattr(self, "_hvp_reverse", False):
            try:
                return _hvp(self.f, x, v)
            except (RuntimeError, NotImplementedError) as err:
                if "ZeroTensor" not in str(err) and "forward AD" not in str(err):
                    raise
                # torch 2.13: forward-mode through mse_loss backward fails on the target's zero tangent, and
                # huber_loss/smooth_l1_loss backward have no forward-mode formula at all; reverse-over-reverse gives
                # the same product (H is symmetric) at a higher cost.
                self._hvp_reverse = True
        return _hvp_reverse(self.f, x, v)

    def hessian(self, x) -> torch.Tensor:
        return _hessian(self.f)(self.point(x))

    def hvp_at(self, x) -> Callable[[torch.Tensor], torch.Tensor]:
        """``v ↦ ∇²f(x) v`` at a fixed ``x`` with the gradient's graph recorded once (v: [n] or [k, n]).

        ``g = ∇f(x)`` is computed once with its autograd graph kept (memory: one graph of ``f`` and its backward);
        each product is then one backward pass through it, ``H v = ∇_x (gᵀ v)`` (double backward, batched over
        the rows of a [k, n] ``v``), cheaper than :meth:`hvp`, which redoes the forward and backward pass per call.
        For many products at one point.
        """
        xg = self.point(x).detach().requires_grad_(True)
        with torch.enable_grad():
            g = torch.autograd.grad(self.f(xg), xg, create_graph=True)[0]

        def apply(v: torch.Tensor) -> torch.Tensor:
            v = torch.as_tensor(v, dtype=self.dtype)
            if v.shape[-1:] != (self.n,) or v.dim() not in (1, 2):
                raise InputError(f"v has shape {tuple(v.shape)}, must be [{self.n}] or [k, {self.n}]")
            if not g.requires_grad:          # f is affine in x: the Hessian is zero
                return torch.zeros_like(v)
            if v.dim() == 1:
                return torch.autograd.grad(g, xg, v, retain_graph=True)[0]
            try:
                return torch.autograd.grad(g, xg, v, retain_graph=True, is_grads_batched=True)[0]
            except RuntimeError:             # an op without a batching rule: one backward per vector
                return torch.stack([torch.autograd.grad(g, xg, u, retain_graph=True)[0] for u in v])

        return apply

    def values(self, X, chunk: int = 65536) -> torch.Tensor:
        """f at each row of X [m, n] -> [m], vmapped in chunks to bound memory."""
        X = check_points("X", X, self.n, self.dtype)
        return torch.cat([_mapped(self.f, c) for c in X.split(chunk)]) if len(X) else X.new_zeros(0)

    def grads(self, X, chunk: int = 65536) -> torch.Tensor:
        """∇f at each row of X [m, n] -> [m, n]."""
        X = check_points("X", X, self.n, self.dtype)
        g = _grad(self.f)
        return torch.cat([_mapped(g, c) for c in X.split(chunk)]) if len(X) else X.new_zeros(0, self.n)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, n={self.n})"


def _mapped(fn: Callable, X: torch.Tensor) -> torch.Tensor:
    """``fn`` on each row of ``X`` [m, ...] stacked: one ``vmap``, or a loop over the rows when ``fn`` cannot be
    vmapped: an operation without a batching rule (``nn.LSTM`` with batched weights on torch 2.13) or data-dependent
    control flow (``F.gaussian_nll_loss`` checks its variances with ``if``)."""
    try:
        return vmap(fn)(X)
    except RuntimeError as err:
        if "Batching rule not implemented" not in str(err) and not str(err).startswith("vmap:"):
            raise
    return torch.stack([fn(x) for x in X])


def _hvp(f: Callable, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Forward-over-reverse: H v = d/dt ∇f(x + t v) at t = 0."""
    one = lambda u: jvp(_grad(f), (x,), (u,))[1]
    return one(v) if v.dim() == 1 else _mapped(one, v)


def _hvp_reverse(f: Callable, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Reverse-over-reverse: H v = vᵀH = vjp of ∇f (H symmetric)."""
    _, pullback = vjp(_grad(f), x)
    one = lambda u: pullback(u)[0]
    return one(v) if v.dim() == 1 else _mapped(one, v)


class FunctionObjective(Objective):
    """Wrap a pure torch function ``fn(x[n]) -> scalar`` as an objective."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], n: int | None = None,
                 names: Sequence[str] | None = None, dtype: torch.dtype = torch.float64,
                 box: Box | None = None, label: str = "function"):
        if names is None:
            if n is None:
                raise InputError("FunctionObjective needs n or names")
            names = [f"x{i + 1}" for i in range(n)]
        self.names = tuple(names)
        self._fn = fn
        self.dtype = dtype
        self.box = box
        self.label = label

    def f(self, x):
        return self._fn(x)


class AnalyticObjective(Objective):
    """An objective given by a typed expression (float64 by default, exact sympy form alongside).

    ``values(X)`` evaluates the expression tree once on the columns of X, without vmap.
    """

    def __init__(self, expression, vars: Sequence[str] | str | None = None, box: Box | None = None,
                 dtype: torch.dtype = torch.float64, label: str | None = None):
        from .expr import Expression, parse  # expr is a leaf module; imported here to keep objective.py light

        self.expression = expression if isinstance(expression, Expression) else parse(expression, vars)
        self.names = self.expression.variables
        if box is not None and box.n != self.n:
            raise InputError(f"box has {box.n} lo:hi parts, the objective has {self.n} variable(s)")
        self.box = box
        self.dtype = dtype
        self.label = label or self.expression.text

    @property
    def sympy(self):
        return self.expression.sympy

    @property
    def symbols(self):
        return self.expression.symbols

    def f(self, x):
        return self.expression.evaluate(x.unbind(-1))

    def values(self, X, chunk: int = 1 << 20) -> torch.Tensor:
        X = check_points("X", X, self.n, self.dtype)
        # column views, no transposed copy: elementwise ops read strided input as fast as contiguous
        return torch.cat([self.expression.evaluate(c.unbind(1)) for c in X.split(chunk)]) if len(X) else X.new_zeros(0)


def expression_text(objective: Objective) -> str | None:
    """The formula of an objective that has one (a typed expression or a catalog entry), else None."""
    expression = getattr(objective, "expression", None)
    return None if expression is None else str(expression)
