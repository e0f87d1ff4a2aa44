"""Losses by name: ``cross-entropy``, ``mse`` or the user's ``package.module:fn``, with checks of the targets.

A model objective calls ``check_loss_inputs(loss, outputs, targets)`` on its first batch, so a mismatch (class labels
out of range, integer targets for a regression loss, shapes that would broadcast) is one clear message before any
work, not a silently wrong number: ``nn.MSELoss`` broadcasts targets ``[N]`` against outputs ``[N, 1]`` to an
``[N, N]`` difference with only a warning, and so do ``L1Loss``, ``SmoothL1Loss``, ``HuberLoss``, ``KLDivLoss`` and
``PoissonNLLLoss``: their targets must have the output's shape. A torch loss must average over its batch
(``reduction='mean'``): the objective's mean over samples is assembled from batch means.
"""
from __future__ import annotations

import copy
import inspect
from typing import Callable

import torch
from torch import nn

from .storage import fingerprint
from .validation import InputError

NAMES = ("cross-entropy", "mse")


class CrossEntropy(nn.CrossEntropyLoss):
    """``nn.CrossEntropyLoss`` (mean over the batch) whose messages name ``flag``."""

    def __init__(self, flag: str = "loss_fn"):
        super().__init__()
        self.flag = flag


class MSE(nn.MSELoss):
    """``nn.MSELoss`` (mean over all entries) whose messages name ``flag``."""

    def __init__(self, flag: str = "loss_fn"):
        super().__init__()
        self.flag = flag


def make_loss(spec, flag: str = "loss_fn") -> Callable:
    """``"cross-entropy"`` / ``"mse"`` -> the loss; ``"package.module:fn"`` -> the user's function (or an
    ``nn.Module`` class, instantiated without arguments); a callable is returned as is."""
    if callable(spec) and not isinstance(spec, str):
        return spec
    if not isinstance(spec, str):
        raise InputError(f"{flag} == {spec!r}, must be {', '.join(NAMES)}, package.module:fn or a callable")
    name = spec.strip().lower().replace("_", "-")
    if name in ("cross-entropy", "crossentropy", "ce"):
        return CrossEntropy(flag)
    if name in ("mse", "l2"):
        return MSE(flag)
    if ":" not in spec:
        raise InputError(f"{flag} == {spec!r}, must be {' or '.join(NAMES)}, or package.module:fn for your own loss")
    from .zoo import call_user, import_spec, required_arguments

    fn = import_spec(spec, flag, "package.module:fn")
    if inspect.isclass(fn):
        if required_arguments(fn):
            raise InputError(f"{flag} == {spec!r} is a class needing arguments {required_arguments(fn)}; give a "
                             "class that takes none or a function (outputs, targets) -> scalar")
        fn = call_user(fn, f"{flag} class {spec!r}")
    return fn


# elementwise losses that broadcast targets of another shape against the outputs (with at most a warning)
ELEMENTWISE = (nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss, nn.KLDivLoss, nn.PoissonNLLLoss)


def loss_name(loss_fn) -> str:
    """A stable name of the loss: a module's class with its public settings (and a fingerprint of its buffers, e.g.
    class weights), or a function's qualified name."""
    if isinstance(loss_fn, nn.Module):
        attrs = sorted((k, v) for k, v in vars(loss_fn).items() if not k.startswith("_") and k != "training"
                       and (v is None or isinstance(v, (int, float, str, bool))))
        tensors = list(loss_fn.state_dict().values())
        return (f"{type(loss_fn).__qualname__}({', '.join(f'{k}={v!r}' for k, v in attrs)})"
                + (f" buffers {fingerprint(*tensors)}" if tensors else ""))
    return f"{getattr(loss_fn, '__module__', '?')}.{getattr(loss_fn, '__qualname__', type(loss_fn).__name__)}"


def check_reduction(loss, flag: str = "loss_fn") -> None:
    """Refuse a torch loss that sums over its batch (``reduction='sum'``): the mean over samples is assembled from
    batch means, so a batch sum would weight each batch by its size. (``'none'`` is refused as no scalar.)"""
    reduction = getattr(loss, "reduction", "mean") if isinstance(loss, nn.modules.loss._Loss) else "mean"
    if reduction == "sum":
        raise InputError(f"{flag} {type(loss).__name__} has reduction == {reduction!r}; the loss must be a batch "
                         "mean: use reduction='mean'")


def loss_on(loss, dtype: torch.dtype, device) -> Callable:
    """``loss`` with its floating tensors (class weights, ``pos_weight``) in ``dtype`` on ``device``: a copy when
    any has to move (the caller's loss is never changed), else ``loss`` itself."""
    if not isinstance(loss, nn.Module):
        return loss
    tensors = [t for t in (*loss.parameters(), *loss.buffers()) if t.is_floating_point()]
    if all(t.dtype == dtype and t.device == torch.device(device) for t in tensors):
        return loss
    return copy.deepcopy(loss).to(device=device, dtype=dtype)


def sample_mass(loss, targets: torch.Tensor) -> float:
    """What the batch mean of ``loss`` divides by on these ``targets``, up to a factor common to all batches:
    ``Σ_i w[y_i]`` over the targets not equal to ``ignore_index`` for a cross-entropy or NLL loss with class labels
    (class ``weight`` w, 1 without), else the number of samples. With ``M_b`` this mass of batch ``b``, the mean
    over the whole data is ``Σ_b M_b L_b / Σ_b M_b`` (batch sizes alone would mis-weight class-weighted or padded
    batches)."""
    if isinstance(loss, (nn.CrossEntropyLoss, nn.NLLLoss)) and not targets.is_floating_point():
        kept = targets[targets != loss.ignore_index]
        if loss.weight is None:
            return float(kept.numel())
        return float(loss.weight.to(kept.device)[kept].double().sum())
    return float(len(targets))


def check_loss_inputs(loss, outputs, targets) -> None:
    """Refuse targets the loss would misread (see the module docstring) and a loss that is not a batch mean;
    other losses pass unchecked."""
    check_reduction(loss, getattr(loss, "flag", "loss_fn"))
    if isinstance(loss, nn.CrossEntropyLoss):
        _check_cross_entropy(getattr(loss, "flag", "loss_fn (cross-entropy)"), outputs, targets,
                             loss.ignore_index)
    elif isinstance(loss, nn.MSELoss):
        _check_mse(getattr(loss, "flag", "loss_fn (mse)"), outputs, targets)
    elif isinstance(loss, ELEMENTWISE):
        _check_same_shape(getattr(loss, "flag", "loss_fn"), type(loss).__name__, outputs, targets)


def _shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def _check_cross_entropy(flag: str, outputs, targets, ignore_index: int = -100) -> None:
    if not isinstance(outputs, torch.Tensor) or outputs.dim() == 0:
        raise InputError(f"{flag} cross-entropy needs class scores [N, C] from the model, got "
                         f"{_shape(outputs) if isinstance(outputs, torch.Tensor) else type(outputs).__name__}")
    classes = outputs.shape[1] if outputs.dim() >= 2 else outputs.shape[0]
    if classes < 2:
        raise InputError(f"{flag} cross-entropy: the model outputs {classes} class score(s) (shape "
                         f"{_shape(outputs)}), the loss of one class is 0; a classifier needs >= 2 outputs (for "
                         "regression use mse)")
    if targets.is_floating_point():
        dtype = str(targets.dtype).replace('torch.', '')
        if targets.shape != outputs.shape:
            raise InputError(f"{flag} cross-entropy: targets are {dtype} of shape {_shape(targets)}; give integer "
                             f"class labels (int64) in 0..{classes - 1} or class probabilities of the output's shape "
                             f"{_shape(outputs)} (for regression use mse)")
        sums = targets.sum(1)
        if bool((targets < 0).any()) or not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
            raise InputError(f"{flag} cross-entropy: targets are {dtype} but not class probabilities (each row >= 0, "
                             f"summing to 1 over dim 1); give int64 class labels in 0..{classes - 1} (for regression "
                             "use mse)")
        return
    if targets.dtype == torch.bool or targets.is_complex():
        raise InputError(f"{flag} cross-entropy: targets are {targets.dtype}; give int64 class labels in "
                         f"0..{classes - 1}")
    want = outputs.shape[:1] + outputs.shape[2:] if outputs.dim() >= 2 else ()
    if tuple(targets.shape) != tuple(want):
        raise InputError(f"{flag} cross-entropy: targets have shape {_shape(targets)}, the model outputs "
                         f"{_shape(outputs)}; give one class label per sample, shape {tuple(want)}")
    check_labels(flag, targets, classes, ignore_index, f" (shape {_shape(outputs)})")


def check_labels(flag: str, targets: torch.Tensor, classes: int, ignore_index: int = -100, where: str = "") -> None:
    """Class labels (but ``ignore_index``) in ``0..classes-1``; ``where`` is added after the class count."""
    labels = targets[targets != ignore_index]
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        bad = int(labels.max()) if int(labels.max()) >= classes else int(labels.min())
        raise InputError(f"{flag} cross-entropy: a target is class {bad} but the model outputs {classes} "
                         f"classes{where}; targets must be integers in 0..{classes - 1}")


def _check_mse(flag: str, outputs, targets) -> None:
    if not isinstance(outputs, torch.Tensor):
        raise InputError(f"{flag} mse needs a tensor output from the model, got {type(outputs).__name__}")
    if not targets.is_floating_point():
        raise InputError(f"{flag} mse: targets are {str(targets.dtype).replace('torch.', '')}; give floating "
                         f"targets (e.g. y.float()), or use cross-entropy for class labels")
    _check_same_shape(flag, "mse", outputs, targets)


def _check_same_shape(flag: str, name: str, outputs, targets) -> None:
    if not isinstance(outputs, torch.Tensor):
        raise InputError(f"{flag} {name} needs a tensor output from the model, got {type(outputs).__name__}")
    if targets.shape != outputs.shape:
        raise InputError(f"{flag} {name}: targets have shape {_shape(targets)}, the model outputs {_shape(outputs)}; "
                         f"give targets of the output's shape (e.g. y.reshape{tuple(outputs.shape)})")
