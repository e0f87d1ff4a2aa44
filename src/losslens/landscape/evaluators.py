"""Evaluators: f at a chunk of plane points ``θ(c) = θ₀ + Σ_j c_j d_j``, ``C`` [m, k] (float64) -> values [m].

* :class:`ValuesEvaluator` (``values``): ``obj.values(θ₀ + C D)`` — column-wise for analytic objectives, ``vmap``
  over ``functional_call`` for model objectives.
* :class:`LoopEvaluator` (``loop``): ``obj.value(θ(c))`` one point at a time; the plain sequential reference.
* the fast paths of model objectives, each in its own module: :mod:`.sequential` (``nn.Sequential`` stacks whose
  first layer is linear in the plane coordinates) and :mod:`.networks` (any network, fused); both share the pieces
  here (:func:`bound_copy`, the objective's batches) and :func:`.threads.split_over_threads`.

A point's value depends only on the point (and, on the row path, on its row and step), never on which chunk, thread
or rank computed it.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..model import pick_output
from ..validation import InputError
from .directions import Directions

METHODS = ("auto", "fast", "values", "loop")
LINEAR_IN_WEIGHTS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)   # output = Z ⊛ W + b: linear in (W, b)


def linear_in_weights(m: nn.Module) -> bool:
    """``m`` is a Linear/ConvNd whose parameters are its own ``weight`` and ``bias``, so its output is linear in
    them: not a weight-normed, spectrally normed or otherwise parametrized one (``weight = g·v/‖v‖`` and the like are
    not linear in the parameters), and no forward pre-hook recomputing its weight."""
    return (isinstance(m, LINEAR_IN_WEIGHTS) and {k for k, _ in m.named_parameters()} <= {"weight", "bias"}
            and not m._forward_pre_hooks and not hasattr(m, "parametrizations"))
PRECOMPUTE_BUDGET = 1 << 28   # bytes of first-layer products H_j kept in memory (256 MiB)
ADD_RELU = getattr(torch.ops.aten, "_add_relu", None)     # ATen's fused relu(a + α b) kernel
ADD_RELU_ = getattr(torch.ops.aten, "_add_relu_", None)    # in place: relu(a + b) into a


def is_model_objective(obj) -> bool:
    """A :class:`~losslens.model.ModelObjective` (or anything with its ``layout``, ``module`` and ``batches``)."""
    return all(hasattr(obj, a) for a in ("layout", "module", "batches", "num_samples")) \
        and not getattr(obj, "streaming", False)


class _PlaneEvaluator:
    name = "?"      # the method
    path = "?"      # the evaluator that computes the values (``Landscape.evaluator``)

    def __init__(self, obj, directions: Directions):
        dtype = getattr(obj, "dtype", torch.float64)
        self.obj = obj
        self.origin = directions.origin.to(dtype)
        self.vectors = directions.vectors.to(dtype)

    def points(self, C: torch.Tensor) -> torch.Tensor:
        """θ₀ + C D, [m, n]."""
        return self.origin + C.to(self.origin.device, self.origin.dtype) @ self.vectors

    def _set(self, c: list[float], theta: torch.Tensor) -> None:
        """theta ← θ₀ + Σ_j c_j d_j."""
        torch.add(self.origin, self.vectors[0], alpha=float(c[0]), out=theta)
        for j in range(1, len(c)):
            theta.add_(self.vectors[j], alpha=float(c[j]))

    def _selected(self, out):
        """The model output the loss takes: ``out[obj.output]`` of a dict or tuple output (``output=``)."""
        return pick_output(out, getattr(self.obj, "output", None))

    def describe(self) -> dict:
        """What the values are of (a store's manifest): the method (fast, values and loop agree to rounding only);
        for a model objective also its data, loss and randomness, so a store is never resumed with another method,
        loss, data set, mode or dropout seed."""
        out = {"label": str(getattr(self.obj, "label", type(self.obj).__name__)), "n": int(self.obj.n),
               "dtype": str(self.origin.dtype).replace("torch.", ""), "method": self.name}
        if hasattr(self.obj, "fingerprint") and hasattr(self.obj, "randomness"):
            from ..losses import loss_name

            loss = getattr(self.obj, "loss_fn", None)
            out.update(data=self.obj.fingerprint()[:16], randomness=self.obj.randomness,
                       loss="closure" if loss is None else loss_name(loss), output=getattr(self.obj, "output", None))
        return out


class ValuesEvaluator(_PlaneEvaluator):
    name = path = "values"

    def __call__(self, C: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.obj.values(self.points(C))


class LoopEvaluator(_PlaneEvaluator):
    name = path = "loop"

    def __call__(self, C: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            X = self.points(C)
            return torch.stack([self.obj.value(x) for x in X]) if len(X) else X.new_zeros(0)


def bound_copy(obj, theta: torch.Tensor) -> nn.Module:
    """A private copy of ``obj.module`` (its dtype and mode) whose trainable parameters are views of ``theta`` [n]
    (``obj.layout``'s slices): writing θ into ``theta`` sets the copy's weights, with no per-point copies."""
    net = copy.deepcopy(obj.module)
    net.requires_grad_(False)
    names = dict(net.named_parameters())
    for block in obj.layout:
        module_name, _, attr = block.name.rpartition(".")
        module = net.get_submodule(module_name) if module_name else net
        view = theta[block.offset:block.offset + block.numel].view(block.shape)
        if block.name not in names:
            raise InputError(f"parameter {block.name!r} of the layout is not in the model")
        module._parameters[attr] = nn.Parameter(view, requires_grad=False)
    return net


def _tied(module: nn.Module) -> bool:
    """Does one parameter tensor appear under several names (weight tying)?"""
    return len(list(module.named_parameters(remove_duplicate=False))) != len(list(module.named_parameters()))


def _inputs(batch):
    return batch[0]


def _targets(batch):
    return batch[-1]


def _batches_and_weights(obj):
    """The objective's fixed batches and their weights (f = Σ_b w_b · mean loss of batch b; w_b = |b| / N, or a
    batch's share of the class weights, ``ModelObjective.weight``)."""
    batches = list(obj.batches)
    return batches, list(obj.batch_weights)


def class_targets(loss_fn, targets: list[torch.Tensor]) -> list[torch.Tensor] | None:
    """Per batch its targets as a column [N, 1] when ``loss_fn`` is ``nn.CrossEntropyLoss()`` with default settings
    (mean over samples, no weights or smoothing) and every target is a class index other than ``ignore_index``:
    then :func:`mean_log_loss` is that loss. Else None."""
    plain = (type(loss_fn) is nn.CrossEntropyLoss and loss_fn.weight is None and loss_fn.reduction == "mean"
             and loss_fn.label_smoothing == 0.0)
    if not plain or not all(t.dim() == 1 and not t.is_floating_point() and bool((t >= 0).all())
                            and not bool((t == loss_fn.ignore_index).any()) for t in targets):
        return None
    return [t.view(-1, 1) for t in targets]


def mean_log_loss(Z: torch.Tensor, column: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of logits ``Z`` [N, C] with class indices ``column`` [N, 1]: mean_i (log Σ_c exp Z_ic − Z_{i,y_i})
    (``logsumexp`` shifts by each row's max), several times faster than ``nn.functional.cross_entropy`` for few
    classes on a CPU."""
    return (torch.logsumexp(Z, 1).sum() - Z.gather(1, column).sum()) / Z.shape[0]
