"""Evaluators: f at a chunk of plane points ``θ(c) = θ₀ + Σ_j c_j d_j``, ``C`` [m, k] (float64) -> values [m].

* :class:`ValuesEvaluator` (``values``): ``obj.values(θ₀ + C D)`` — column-wise for analytic objectives, ``vmap``
  over ``functional_call`` for model objectives.
* :class:`LoopEvaluator` (``loop``): ``obj.value(θ(c))`` one point at a time; the plain sequential reference.
* :class:`ModelPlaneEvaluator` (``fast``, model objectives): a private copy of the network whose parameters are
  views of one flat buffer; per point the buffer is set to ``θ₀ + Σ c_j d_j`` (one fused pass over ``n`` numbers)
  and the copy runs a plain forward over the fixed batches (no ``functional_call`` dispatch, no per-point copies).
  When the network is an ``nn.Sequential`` whose first parametrised layer is an ``nn.Linear`` or ``nn.ConvNd``
  that only parameter-free layers (``Flatten``, ``Identity``, ``Unflatten``) precede, that layer is linear in the
  plane coordinates (shown for Linear; a convolution is the same with ⊛):

      Z (W₀ + Σ c_j ΔW_j)ᵀ + (b₀ + Σ c_j Δb_j) = H₀ + Σ c_j H_j,   H₀ = Z W₀ᵀ + b₀,  H_j = Z ΔW_jᵀ + Δb_j,

  so ``H₀, H_j`` [N, out] are formed once per run and each point costs an axpy instead of the first matmul.

Every point is computed on its own, so a point's value does not depend on which chunk (or rank) computed it.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call

from ..validation import InputError, check_choice
from .directions import Directions

METHODS = ("auto", "fast", "values", "loop")
PREFIX_OK = (nn.Flatten, nn.Identity, nn.Unflatten)
LINEAR_IN_WEIGHTS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)   # output = Z ⊛ W + b: linear in (W, b)
PRECOMPUTE_BUDGET = 1 << 28   # bytes of first-layer products H_j kept in memory (256 MiB)


def is_model_objective(obj) -> bool:
    """A :class:`~losslens.model.ModelObjective` (or anything with its ``layout``, ``module`` and ``batches``)."""
    return all(hasattr(obj, a) for a in ("layout", "module", "batches", "num_samples"))


def make_evaluator(obj, directions: Directions, method: str = "auto"):
    """The evaluator for ``method`` (see the module docstring); ``auto`` = ``fast`` for models, else ``values``."""
    check_choice("method", method, METHODS)
    if method == "auto":
        method = "fast" if is_model_objective(obj) and not _tied(obj.module) else "values"
    if method == "fast":
        if not is_model_objective(obj):
            raise InputError("method == 'fast' needs a model objective; use 'values' or 'loop' for functions")
        return ModelPlaneEvaluator(obj, directions)
    if method == "loop":
        return LoopEvaluator(obj, directions)
    return ValuesEvaluator(obj, directions)


class _PlaneEvaluator:
    name = "?"

    def __init__(self, obj, directions: Directions):
        dtype = getattr(obj, "dtype", torch.float64)
        self.obj = obj
        self.origin = directions.origin.to(dtype)
        self.vectors = directions.vectors.to(dtype)

    def points(self, C: torch.Tensor) -> torch.Tensor:
        """θ₀ + C D, [m, n]."""
        return self.origin + C.to(self.origin.dtype) @ self.vectors

    def describe(self) -> dict:
        return {"label": str(getattr(self.obj, "label", type(self.obj).__name__)), "n": int(self.obj.n),
                "dtype": str(self.origin.dtype).replace("torch.", "")}


class ValuesEvaluator(_PlaneEvaluator):
    name = "values"

    def __call__(self, C: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.obj.values(self.points(C))


class LoopEvaluator(_PlaneEvaluator):
    name = "loop"

    def __call__(self, C: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            X = self.points(C)
            return torch.stack([self.obj.value(x) for x in X]) if len(X) else X.new_zeros(0)


class ModelPlaneEvaluator(_PlaneEvaluator):
    """Fast per-point model evaluation (see the module docstring). The user's model is never touched."""

    name = "fast"

    def __init__(self, obj, directions: Directions):
        super().__init__(obj, directions)
        self.batches, self.weights = _batches_and_weights(obj)
        self.loss_fn = getattr(obj, "loss_fn", None)
        self.closure = getattr(obj, "closure", None)
        if _tied(obj.module):
            raise InputError("method == 'fast' cannot evaluate a model whose modules share (tie) parameters; use "
                             "method='values'")
        self.net = copy.deepcopy(obj.module)     # already in the objective's dtype and mode
        self.net.requires_grad_(False)
        self.theta = self.origin.clone()
        names = dict(self.net.named_parameters())
        for block in obj.layout:
            module_name, _, attr = block.name.rpartition(".")
            module = self.net.get_submodule(module_name) if module_name else self.net
            view = self.theta[block.offset:block.offset + block.numel].view(block.shape)
            if block.name not in names:
                raise InputError(f"parameter {block.name!r} of the layout is not in the model")
            module._parameters[attr] = nn.Parameter(view, requires_grad=False)
        self.first = self._linear_first(obj)

    def _linear_first(self, obj):
        """(index of the first layer, [per batch: (H₀, [H_j])]) when the first-layer identity applies, else None."""
        net = self.net
        if self.closure is not None or not isinstance(net, nn.Sequential) or len(self.batches[0]) != 2:
            return None
        idx = None
        for i, m in enumerate(net):
            if any(True for _ in m.parameters()):
                idx = i
                break
            if not isinstance(m, PREFIX_OK):
                return None
        if idx is None or not isinstance(net[idx], LINEAR_IN_WEIGHTS):
            return None
        lin = net[idx]
        trainable = {b.name for b in obj.layout}
        pnames = [f"{idx}.{p}" for p, _ in lin.named_parameters()]
        if not all(p in trainable for p in pnames):
            return None
        k = self.vectors.shape[0]
        rows = sum(len(_inputs(b)) for b in self.batches)
        blocks = {b.name: b for b in obj.layout}

        def part(vec, attr):
            b = blocks[f"{idx}.{attr}"]
            return vec[b.offset:b.offset + b.numel].view(b.shape)

        def layer(vec, Z):
            """The layer with its weight (and bias) taken from ``vec``: linear in ``vec``."""
            return functional_call(lin, {a: part(vec, a) for a, _ in lin.named_parameters()}, (Z,))

        pre = []
        with torch.no_grad():
            for batch in self.batches:
                Z = net[:idx](_inputs(batch)) if idx else _inputs(batch)
                H0 = layer(self.origin, Z)
                if H0.numel() // max(len(Z), 1) * rows * (k + 1) * H0.element_size() > PRECOMPUTE_BUDGET:
                    return None
                pre.append((H0, [layer(v, Z) for v in self.vectors]))
        self.rest = net[idx + 1:]
        self.buffer = [torch.empty_like(H0) for H0, _ in pre]
        self.head = _Head(self.rest, self.loss_fn, [_targets(b) for b in self.batches])
        return idx, pre

    def _set(self, c: torch.Tensor) -> None:
        torch.add(self.origin, self.vectors[0], alpha=float(c[0]), out=self.theta)
        for j in range(1, len(c)):
            self.theta.add_(self.vectors[j], alpha=float(c[j]))

    def _point(self, c: torch.Tensor) -> torch.Tensor:
        self._set(c)
        total = self.theta.new_zeros(())
        for bi, (batch, w) in enumerate(zip(self.batches, self.weights)):
            if self.first is not None:
                H0, Hs = self.first[1][bi]
                h = self.buffer[bi]
                torch.add(H0, Hs[0], alpha=float(c[0]), out=h)
                for j in range(1, len(c)):
                    h.add_(Hs[j], alpha=float(c[j]))
                loss = self.head(h, bi)
            elif self.closure is not None:
                loss = self.closure(self.net, batch)
            else:
                loss = self.loss_fn(self.net(*batch[:-1]), _targets(batch))
            total = total + w * loss
        return total

    def __call__(self, C: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.stack([self._point(c) for c in C]) if len(C) else self.theta.new_zeros(0)


def _tied(module: nn.Module) -> bool:
    """Does one parameter tensor appear under several names (weight tying)?"""
    return len(list(module.named_parameters(remove_duplicate=False))) != len(list(module.named_parameters()))


def _inputs(batch):
    return batch[0]


def _targets(batch):
    return batch[-1]


def _batches_and_weights(obj):
    """The objective's fixed batches and their weights |b| / N (f = Σ_b w_b · mean loss of batch b)."""
    batches = list(obj.batches)
    return batches, [len(_inputs(b)) / obj.num_samples for b in batches]


ACTIVATIONS_INPLACE = {nn.ReLU: torch.relu_, nn.Tanh: torch.tanh_, nn.Sigmoid: torch.sigmoid_}


class _Head:
    """The layers after the first Linear, and the loss, on the first layer's output ``h`` [N, out].

    For a stack of ``Linear`` and ReLU/Tanh/Sigmoid layers it runs the same arithmetic with less overhead: in-place
    activations, and a narrow last layer computed transposed, ``Zᵀ = W hᵀ + b`` [classes, N], so that cross-entropy
    reduces over the short class axis with contiguous, vectorised rows:
    ``CE = mean_i (m_i + log Σ_c exp(Z_ci − m_i) − Z_{y_i i})``, ``m_i = max_c Z_ci`` (the log-sum-exp shift).
    Any other layer or loss runs through the modules themselves.
    """

    def __init__(self, rest: nn.Sequential, loss_fn, targets: list[torch.Tensor]):
        self.rest, self.loss_fn = rest, loss_fn
        self.layers = self._plan(rest)
        self.ce = _plain_cross_entropy(loss_fn) and all(
            t.dim() == 1 and not t.is_floating_point() and bool((t >= 0).all()) for t in targets)
        self.rows = [t.unsqueeze(0) for t in targets] if self.ce else None
        self.targets = targets

    @staticmethod
    def _plan(rest):
        layers = list(rest)
        if not layers or not isinstance(layers[-1], nn.Linear):
            return None
        plan = []
        for m in layers:
            if isinstance(m, nn.Linear):
                plan.append(("linear", m))
            elif type(m) in ACTIVATIONS_INPLACE:
                plan.append(("act", ACTIVATIONS_INPLACE[type(m)]))
            elif isinstance(m, nn.Identity):
                continue
            else:
                return None
        return plan

    def __call__(self, h: torch.Tensor, bi: int) -> torch.Tensor:
        y = self.targets[bi]
        if self.layers is None:
            return self.loss_fn(self.rest(h), y)
        *body, (_, last) = self.layers
        for kind, op in body:
            h = op(h) if kind == "act" else nn.functional.linear(h, op.weight, op.bias)
        bias = last.bias.unsqueeze(1) if last.bias is not None else h.new_zeros(1, 1)
        Zt = torch.addmm(bias, last.weight, h.T)            # [classes, N]
        if not self.ce:
            return self.loss_fn(Zt.T, y)
        m = Zt.amax(0)
        lse = (Zt - m).exp_().sum(0).log_().add_(m)
        return lse.mean() - Zt.gather(0, self.rows[bi]).mean()


def _plain_cross_entropy(loss_fn) -> bool:
    """``nn.CrossEntropyLoss()`` with default settings (mean over samples, no weights, smoothing or ignore_index
    hits: targets are checked to be class indices)."""
    return (type(loss_fn) is nn.CrossEntropyLoss and loss_fn.weight is None and loss_fn.reduction == "mean"
            and loss_fn.label_smoothing == 0.0)
