"""Directions that span a landscape: the plane (or line) ``θ(α, β) = θ₀ + α d₁ + β d₂`` through ``θ₀ ∈ R^n``.

Four kinds, each returning :class:`Directions` (origin ``θ₀`` [n], vectors ``D`` [k, n], k = 1 or 2):

* :func:`gaussian` — ``d ~ N(0, I)``, with *filter normalisation* (Li et al. 2018, "Visualizing the Loss Landscape of
  Neural Nets", §4): for every filter ``i`` of a weight ``W`` (the slice ``W[i]`` along the first, output axis),
  ``d[i] ← d[i] · ‖W[i]‖ / (‖d[i]‖ + 1e-10)``, so each filter of the direction has its weight's filter norm and the
  plot is comparable across layers and scale-invariant networks. Parameters with one dimension (biases, BatchNorm
  weights and biases) follow ``bias``: ``"zero"`` (Li et al.'s default ``ignore='biasbn'``: not moved),
  ``"copy"`` (Li et al.'s other option: ``d = θ`` for that parameter), ``"filter"`` (the vector is one filter:
  ``d ← d · ‖θ‖ / (‖d‖ + 1e-10)``). ``normalize="none"`` gives plain Gaussian directions (loss-landscapes style
  without the uniform sampling).
* :func:`hessian_eigen` — eigenvectors of ``∇²f(θ₀)`` for the largest (``top``) or smallest (``bottom``)
  eigenvalues: dense ``eigh`` for small ``n``, otherwise Lanczos on Hessian-vector products
  (:func:`losslens.curvature.lanczos`).
* :func:`pca` — PCA of a training trajectory (Li et al. §7): rows ``θ_t − θ_T`` of the checkpoints, centred, SVD;
  directions are the top right singular vectors, the origin is the final checkpoint ``θ_T``.
* :func:`line` — the straight line from ``a`` to ``b`` (Goodfellow et al. 2015): origin ``a``, direction ``b − a``;
  coordinate 0 is ``a`` and 1 is ``b``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..results import Result
from ..validation import InputError, check_choice, check_int

BIAS_MODES = ("zero", "copy", "filter")
NORMALIZE_MODES = ("filter", "none")
EPS = 1e-10  # Li et al.'s guard against a zero-norm direction filter


@dataclass(frozen=True)
class Directions(Result):
    """A plane or line through parameter space.

    ``origin``: θ₀ [n]; ``vectors``: D [k, n] (k = 1 line, 2 plane); ``kind``: filter | gaussian | hessian | pca |
    line; ``seed``: the seed of random directions (None otherwise); ``info``: kind-specific numbers (eigenvalues
    for hessian, explained variance ratio and trajectory coordinates for pca).
    """

    origin: torch.Tensor
    vectors: torch.Tensor
    kind: str
    seed: int | None = None
    info: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return self.vectors.shape[0]

    def settings(self) -> dict:
        """What defines these directions, for a store's manifest (the vectors' fingerprint included)."""
        from .store import fingerprint

        return {"kind": self.kind, "seed": self.seed, "k": self.k, "n": int(self.origin.numel()),
                "fingerprint": fingerprint(self.origin, self.vectors)}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "seed": self.seed, "k": self.k, "n": int(self.origin.numel()),
                "norms": [float(v.norm()) for v in self.vectors], "info": _jsonable_info(self.info)}


def _jsonable_info(info: dict) -> dict:
    from ..results import jsonable

    return {k: jsonable(v) for k, v in info.items()}


def _blocks(layout, n: int):
    """(name, shape, offset, numel) for each parameter block; one block of shape [n] when there is no layout."""
    if layout is None:
        return [("x", (n,), 0, n)]
    out = [(b.name, tuple(b.shape), b.offset, b.numel) for b in layout]
    if sum(b[3] for b in out) != n:
        raise InputError(f"layout covers {sum(b[3] for b in out)} parameters, the vector has {n}")
    return out


def filter_normalize(d: torch.Tensor, theta: torch.Tensor, layout=None, bias: str = "zero") -> torch.Tensor:
    """Li et al.'s filter normalisation of direction ``d`` [n] against parameters ``theta`` [n] (new tensor).

    ``layout``: blocks with ``name, shape, offset, numel`` (``obj.layout``); without one, the whole vector is a
    single 1-D parameter. ``bias`` decides 1-D parameters (see the module docstring).
    """
    check_choice("bias", bias, BIAS_MODES)
    if d.shape != theta.shape or d.dim() != 1:
        raise InputError(f"direction has shape {tuple(d.shape)}, parameters {tuple(theta.shape)}; both must be [n]")
    out = d.clone()
    for _, shape, off, numel in _blocks(layout, d.numel()):
        dv = out[off:off + numel].view(shape)
        w = theta[off:off + numel].view(shape)
        if len(shape) <= 1:
            if bias == "zero":
                dv.zero_()
            elif bias == "copy":
                dv.copy_(w)
            else:
                dv.mul_(w.norm() / (dv.norm() + EPS))
        else:
            rows_d = dv.reshape(shape[0], -1)
            rows_w = w.reshape(shape[0], -1)
            rows_d.mul_((rows_w.norm(dim=1) / (rows_d.norm(dim=1) + EPS)).unsqueeze(1))
    return out


def gaussian(theta, k: int = 2, *, seed: int = 0, layout=None, normalize: str = "filter",
             bias: str = "zero") -> Directions:
    """``k`` Gaussian directions through ``theta`` [n], filter-normalised by default (Li et al. 2018).

    Direction ``j`` is drawn from ``torch.Generator().manual_seed(seed)`` as the ``j``-th of ``k`` draws of
    ``N(0, I_n)`` in float64, then normalised and cast to ``theta``'s dtype, so the same seed gives the same
    directions in any dtype up to rounding.
    """
    theta = _vector("theta", theta)
    k = check_int("k", k, lo=1, hi=2)
    check_choice("normalize", normalize, NORMALIZE_MODES)
    check_choice("bias", bias, BIAS_MODES)
    seed = check_int("seed", seed)
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(k, theta.numel(), generator=g, dtype=torch.float64).to(theta.device)  # same draws anywhere
    t64 = theta.to(torch.float64)
    if normalize == "filter":
        vecs = torch.stack([filter_normalize(r, t64, layout, bias) for r in raw])
    else:
        vecs = raw
    kind = "filter" if normalize == "filter" else "gaussian"
    return Directions(theta.clone(), vecs.to(theta.dtype), kind, seed, {"bias": bias} if kind == "filter" else {})


DENSE_MAX_N = 2000  # above this many parameters the dense Hessian is not formed


def hessian_eigen(obj, theta, which: Sequence[str] = ("top", "bottom"), *, seed: int = 0, tol: float | None = None,
                  dense_max_n: int = DENSE_MAX_N, memory: float | None = None) -> Directions:
    """Unit eigenvectors of ``∇²f(theta)``: ``which`` picks ``top`` (largest algebraic eigenvalue) and/or ``bottom``
    (smallest), one direction each, in that order (``("top", "top")`` gives the two largest).

    ``info["eigenvalues"]`` holds their eigenvalues; ``info["method"]`` is ``dense`` (``torch.linalg.eigh`` of the
    Hessian, n <= ``dense_max_n``) or ``lanczos`` (:func:`losslens.curvature.lanczos` on HVPs, start vector from
    ``seed``, relative residual ``tol``, its vectors within ``memory`` bytes (default half the available memory, thick
    restarts when the basis must be small); ``info`` then also has ``converged``, ``hvps``, ``residuals`` and
    ``thick_restarts``). A model objective forms its dense Hessian from double-backward products with the unit
    vectors, 16 at a time (:meth:`ModelObjective.hessian`), so the dense path needs one gradient graph, not ``n``. An eigenvector's sign is fixed so that its largest-magnitude entry is positive.
    """
    theta = _vector("theta", theta)
    which = tuple(which)
    if not 1 <= len(which) <= 2 or any(w not in ("top", "bottom") for w in which):
        raise InputError(f"which == {which!r}, must be one or two of 'top', 'bottom'")
    n = theta.numel()
    wants = {"top": which.count("top"), "bottom": which.count("bottom")}
    found: dict[str, list[tuple[float, torch.Tensor]]] = {}
    quality: dict = {}
    if n <= dense_max_n:
        method = "dense"
        H = obj.hessian(theta).to(torch.float64)
        evals, evecs = torch.linalg.eigh((H + H.T) / 2)
        found["top"] = [(float(evals[-1 - i]), evecs[:, -1 - i]) for i in range(min(wants["top"], n))]
        found["bottom"] = [(float(evals[i]), evecs[:, i]) for i in range(min(wants["bottom"], n))]
    else:
        method = "lanczos"
        found, quality = _lanczos(obj, theta, wants, seed, tol, memory)
    vecs, vals, used = [], [], {"top": 0, "bottom": 0}
    for w in which:
        lam, v = found[w][used[w]]
        used[w] += 1
        v = v / v.norm()
        v = v * torch.sign(v[v.abs().argmax()])
        vecs.append(v)
        vals.append(lam)
    return Directions(theta.clone(), torch.stack(vecs).to(theta.device, theta.dtype), "hessian", seed,
                      {"which": list(which), "eigenvalues": vals, "method": method, **quality})


def _lanczos(obj, theta, wants: dict, seed: int, tol: float | None, memory: float | None) -> tuple[dict, dict]:
    """Top/bottom Ritz pairs from :func:`losslens.curvature.lanczos` on Hessian-vector products."""
    from ..curvature import lanczos

    r = lanczos(obj, theta, top=wants["top"], bottom=wants["bottom"], tol=tol, seed=seed, memory=memory)
    found = {"top": [(float(v), q) for v, q in zip(r.top_values, r.top_vectors)],
             "bottom": [(float(v), q) for v, q in zip(r.bottom_values, r.bottom_vectors)]}
    return found, {"converged": bool(r.converged), "hvps": r.hvps, "thick_restarts": r.thick_restarts,
                   "residuals": r.top_residuals.tolist() + r.bottom_residuals.tolist()}


def pca(checkpoints, k: int = 2) -> Directions:
    """PCA plane of a trajectory ``checkpoints`` [T, n] (oldest first, T >= k + 1) around the final one.

    ``M = [θ_t − θ_T]_t`` centred by its column means, ``M_c = U S Vᵀ``; directions ``V[:, :k]ᵀ`` (unit, orthogonal),
    ``info["explained_variance_ratio"] = S²[:k] / ΣS²`` and ``info["coordinates"]`` [T, k] = ``(θ_t − θ_T) · d_j``,
    the trajectory's position on the plane (the final checkpoint at (0, 0)). Signs: the first checkpoint has
    non-negative coordinates.
    """
    C = torch.as_tensor(checkpoints)
    if C.dim() != 2:
        raise InputError(f"checkpoints has shape {tuple(C.shape)}, must be [T, n]")
    k = check_int("k", k, lo=1, hi=2)
    if C.shape[0] < k + 1:
        raise InputError(f"checkpoints has {C.shape[0]} rows, PCA with {k} direction(s) needs at least {k + 1}")
    if not torch.isfinite(C).all():
        raise InputError("checkpoints contain non-finite parameters")
    C64 = C.to(torch.float64)
    final = C64[-1]
    M = C64 - final
    _, S, Vh = torch.linalg.svd(M - M.mean(0), full_matrices=False)
    if float(S[k - 1]) <= 1e-12 * max(float(S[0]), 1e-300):
        raise InputError(f"the trajectory spans fewer than {k} directions (checkpoints are (nearly) identical); "
                         f"use fewer directions or more distinct checkpoints")
    V = Vh[:k]
    coords = M @ V.T
    signs = torch.where(coords[0] < 0, -1.0, 1.0).to(torch.float64)
    V = V * signs.unsqueeze(1)
    coords = coords * signs
    ratio = (S[:k] ** 2 / (S ** 2).sum()).tolist()
    return Directions(final.to(C.dtype), V.to(C.dtype), "pca", None,
                      {"explained_variance_ratio": ratio, "coordinates": coords})


def line(a, b) -> Directions:
    """The straight line from ``a`` [n] to ``b`` [n]: origin ``a``, direction ``b − a`` (coordinate 1 is ``b``)."""
    a = _vector("a", a)
    b = _vector("b", b)
    if a.shape != b.shape:
        raise InputError(f"a has {a.numel()} parameters and b {b.numel()}; a line needs two points of one space")
    return Directions(a.clone(), (b.to(a.dtype) - a).unsqueeze(0), "line", None,
                      {"distance": float((b.to(a.dtype) - a).norm())})


def _vector(name: str, x) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.dim() != 1 or t.numel() == 0:
        raise InputError(f"{name} has shape {tuple(t.shape)}, must be a non-empty vector [n]")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    if not torch.isfinite(t).all():
        raise InputError(f"{name} contains non-finite values")
    return t
