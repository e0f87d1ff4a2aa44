"""ModelObjective: the loss of an ``nn.Module`` on data as a function of one flat parameter vector.

    f(x) = (1/N) Σ_b  N_b · L_b(model(x; inputs_b), targets_b)

``x`` [n] is the concatenation of the trainable parameters (``obj.layout`` says which slice is which tensor),
``L_b`` the batch-mean loss, ``N_b`` the batch size and ``N`` the number of samples. Evaluation goes through
``torch.func.functional_call`` on a private copy of the model, so the user's model (parameters, buffers,
train/eval mode, ``.grad``) is never changed. Frozen parameters (``requires_grad=False``) are constants.

In ``mode="train"`` ``f`` is still one deterministic function of ``x``: dropout masks are fixed per batch from
``(seed, batch position, call)`` (:mod:`losslens.stochastic`), and BatchNorm normalises each batch of
``batch_size`` samples by that batch's own statistics, so the value depends on ``batch_size`` (as in training).
Hessian products and dense Hessians run with the math kernel of ``scaled_dot_product_attention`` (the only one
with a double backward), so attention models need no change.

Under ``torch.distributed`` each rank holds a contiguous shard of the samples; ``value``, ``grad``, ``hvp``,
``hessian``, ``values`` and ``grads`` all-reduce their per-rank partial sums, so every analysis that uses these
methods runs unchanged on several processes. (Calling ``f`` directly gives the local part only.)
"""
from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn
from torch.func import functional_call, replace_all_batch_norm_modules_

from .objective import Objective
from .stochastic import check_fixable, fixed_randomness, math_attention, needs_mode
from .validation import InputError, check_choice, check_int

Batch = tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class Block:
    """One parameter tensor inside the flat vector: ``x[offset : offset + numel].view(shape)``."""

    name: str
    shape: tuple[int, ...]
    offset: int
    numel: int


class ModelObjective(Objective):
    """Mean loss of ``model`` over ``data`` as a function of its flat trainable parameters.

    Args:
        model: any ``nn.Module``; it is copied, never modified.
        loss_fn: ``loss_fn(outputs, targets) -> scalar`` batch-mean loss (e.g. ``nn.CrossEntropyLoss()``).
        data: ``(inputs, targets)`` tensors with samples along dim 0, a ``DataLoader`` or an iterable of such
            tuples (materialised once, in order).
        closure: instead of ``loss_fn``, ``closure(call, batch) -> scalar`` batch-mean loss where ``call(*inputs)``
            runs the model at the current parameters (custom losses, e.g. physics-informed).
        subset: use a fixed random subset of this many samples (chosen with ``seed``).
        batch_size: samples per forward pass. In ``mode="eval"`` a memory bound only (the value does not depend on
            it); in ``mode="train"`` BatchNorm takes its batch statistics over each batch of ``batch_size`` samples
            (the last batch may be smaller), so the value does depend on it.
        dtype: float32 by default; float64 on request (model copy and floating data are cast).
        mode: ``"eval"`` (running BatchNorm statistics) or ``"train"`` (batch statistics, dropout active with
            masks fixed per batch from ``seed``; running statistics are not updated so ``f`` stays a function of
            ``x``). ``randomness`` states which applies.
        seed: chooses ``subset`` and, in ``mode="train"``, the dropout masks.
        distributed: shard the data over ``torch.distributed`` ranks; ``None`` = when a process group with more
            than one rank is initialised.
    """

    def __init__(self, model: nn.Module, loss_fn: Callable | None = None, data: Any = None, *,
                 closure: Callable | None = None, subset: int | None = None, batch_size: int = 4096,
                 seed: int = 0, dtype: torch.dtype = torch.float32, mode: str = "eval",
                 distributed: bool | None = None, label: str | None = None):
        if not isinstance(model, nn.Module):
            raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if (loss_fn is None) == (closure is None):
            raise InputError("give exactly one of loss_fn (outputs, targets) and closure (call, batch)")
        if data is None:
            raise InputError("data is missing: give (inputs, targets) tensors or a DataLoader")
        check_choice("mode", mode, ("eval", "train"))
        check_int("batch_size", batch_size, lo=1)
        if dtype not in (torch.float32, torch.float64):
            raise InputError(f"dtype == {dtype}, must be torch.float32 or torch.float64")
        self.dtype, self.mode, self.label = dtype, mode, label or type(model).__name__
        self.loss_fn, self.closure = loss_fn, closure

        if mode == "train":
            check_fixable(model)
        self.module = copy.deepcopy(model).to(dtype)
        self.module.train(mode == "train")
        if mode == "train":
            replace_all_batch_norm_modules_(self.module)   # batch statistics, no running-stat updates
        self.seed = seed
        self._fixed = needs_mode(self.module, mode)
        self.randomness = (f"dropout masks fixed per batch from seed {seed}; BatchNorm statistics per batch of "
                           f"{batch_size} samples" if mode == "train" else "none (eval mode)")
        named = list(self.module.named_parameters())
        trainable = [(k, p) for k, p in named if p.requires_grad]
        if not trainable:
            raise InputError("model has no trainable parameters (all have requires_grad=False)")
        self.frozen = {k: p.detach() for k, p in named if not p.requires_grad}
        self.buffers = {k: b.detach() for k, b in self.module.named_buffers()}
        blocks, offset = [], 0
        for k, p in trainable:
            blocks.append(Block(k, tuple(p.shape), offset, p.numel()))
            offset += p.numel()
        self.layout: tuple[Block, ...] = tuple(blocks)
        self._sizes = [b.numel for b in blocks]
        self._n = offset
        self.x0 = torch.cat([p.detach().reshape(-1) for _, p in trainable]).clone()
        for p in self.module.parameters():
            p.requires_grad_(False)     # the copy's own tensors are never differentiated

        rank, world = _rank_world(distributed)
        self.distributed = world > 1
        tensors = _as_tensors(data, dtype)
        self.num_samples = len(tensors[0])
        if subset is not None:
            check_int("subset", subset, lo=1, hi=self.num_samples)
            idx = torch.randperm(self.num_samples, generator=torch.Generator().manual_seed(seed))[:subset]
            tensors = tuple(t[idx] for t in tensors)
            self.num_samples = subset
        lo, hi = rank * self.num_samples // world, (rank + 1) * self.num_samples // world
        self.batches: list[Batch] = [tuple(t[i:min(i + batch_size, hi)] for t in tensors)
                                     for i in range(lo, hi, batch_size)]
        self._check_first_batch()

    # --- flat vector <-> parameters ---------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self._n

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{b.name}[{i}]" for b in self.layout for i in range(b.numel))

    def unflatten(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Flat [n] -> {parameter name: view of shape}."""
        # one split (its backward is one concatenation) instead of a slice per tensor (each slice's backward
        # writes a zero-filled [n] gradient): at 11M parameters the difference is seconds per gradient graph
        parts = x.split(self._sizes)
        return {b.name: t.view(b.shape) for b, t in zip(self.layout, parts)}

    def flatten(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """{parameter name: tensor} (e.g. a state dict) -> flat [n] in layout order."""
        missing = [b.name for b in self.layout if b.name not in params]
        if missing:
            raise InputError(f"parameters are missing {missing[0]!r} (and {len(missing) - 1} more)")
        for b in self.layout:
            if tuple(params[b.name].shape) != b.shape:
                raise InputError(f"parameter {b.name!r} has shape {tuple(params[b.name].shape)}, the model needs "
                                 f"{b.shape}")
        return torch.cat([params[b.name].detach().to(self.dtype).reshape(-1) for b in self.layout])

    def call(self, x: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        """The model's output at parameters ``x`` [n] on ``inputs``."""
        return functional_call(self.module, (self.unflatten(x), self.frozen, self.buffers), inputs)

    # --- the objective ----------------------------------------------------------------------------------------
    def f(self, x: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros(())
        for i, batch in enumerate(self.batches):
            total = total + self._batch_loss(x, batch, i) * (len(batch[0]) / self.num_samples)
        return total

    def _batch_loss(self, x: torch.Tensor, batch: Batch, index: int = 0) -> torch.Tensor:
        """Batch-mean loss of the ``index``-th batch (which also fixes its dropout masks in ``mode="train"``)."""
        with fixed_randomness(self._fixed, self.seed, index):
            if self.closure is not None:
                return self.closure(lambda *inputs: self.call(x, *inputs), batch)
            *inputs, targets = batch
            return self.loss_fn(self.call(x, *inputs), targets)

    def _check_first_batch(self) -> None:
        if not self.batches:
            return      # an empty shard on this rank: nothing to check
        try:
            with torch.no_grad():
                loss = self._batch_loss(self.x0, self.batches[0])
        except (RuntimeError, ValueError, TypeError, IndexError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputError(f"the model cannot be evaluated on this data: {first}") from None
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise InputError(f"the loss must be a scalar (batch mean), got {shape}")

    def fingerprint(self) -> str:
        """SHA-256 over the layout, dtype, mode and this rank's data: identifies what a stored result belongs to."""
        h = hashlib.sha256(repr((self.layout, str(self.dtype), self.mode, self.num_samples)).encode())
        for batch in self.batches:
            for t in batch:
                h.update(t.detach().contiguous().cpu().numpy().tobytes())
        return h.hexdigest()

    # --- distributed reductions -------------------------------------------------------------------------------
    def _reduce(self, t: torch.Tensor) -> torch.Tensor:
        if not self.distributed:
            return t
        import torch.distributed as dist

        t = t.detach().clone()
        dist.all_reduce(t)
        return t

    def value(self, x):
        return self._reduce(super().value(x))

    def grad(self, x):
        return self._reduce(super().grad(x))

    def value_and_grad(self, x):
        v, g = super().value_and_grad(x)
        if not self.distributed:
            return v, g
        vg = self._reduce(torch.cat([v.reshape(1), g]))
        return vg[0], vg[1:]

    def hvp(self, x, v):
        with math_attention():
            return self._reduce(super().hvp(x, v))

    def hessian(self, x, chunk: int = 16):
        """Dense ∇²f(x) [n, n] from double-backward products with the unit vectors, ``chunk`` columns at a time
        (memory: one gradient graph and ``chunk`` vectors). ``torch.func.hessian`` (forward over reverse on all
        ``n`` tangents at once) is avoided: it holds ``n`` copies of every activation, and on attention layers
        (torch 2.13) it returns a non-symmetric matrix that disagrees with finite differences."""
        x = self.point(x)
        apply = self.hvp_at(x)
        eye = torch.eye(self.n, dtype=self.dtype, device=x.device)
        H = torch.cat([apply(e) for e in eye.split(chunk)])
        return 0.5 * (H + H.T)

    def hvp_at(self, x):
        with math_attention():
            local = super().hvp_at(x)
        return lambda v: self._reduce(local(v))

    def values(self, X, chunk: int = 8):
        return self._reduce(super().values(X, chunk))

    def grads(self, X, chunk: int = 8):
        return self._reduce(super().grads(X, chunk))


def _rank_world(distributed: bool | None) -> tuple[int, int]:
    import torch.distributed as dist

    active = dist.is_available() and dist.is_initialized()
    if distributed and not active:
        raise InputError("distributed=True but no torch.distributed process group is initialised (use torchrun)")
    if active and distributed is not False:
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _as_tensors(data: Any, dtype: torch.dtype) -> Batch:
    """(inputs, targets) tensors, or an iterable of such batches concatenated, floating ones cast to dtype."""
    if isinstance(data, (tuple, list)) and data and all(isinstance(t, torch.Tensor) for t in data):
        fields = tuple(data)
    elif isinstance(data, Iterable) and not isinstance(data, (str, bytes, torch.Tensor)):
        batches = [tuple(b) if isinstance(b, (tuple, list)) else (b,) for b in data]
        if not batches or not all(isinstance(t, torch.Tensor) for b in batches for t in b):
            raise InputError("data must be (inputs, targets) tensors or an iterable of tensor batches")
        if len({len(b) for b in batches}) != 1:
            raise InputError("data batches have different numbers of fields")
        fields = tuple(torch.cat(ts) for ts in zip(*batches))
    else:
        raise InputError(f"data must be (inputs, targets) tensors or a DataLoader, got {type(data).__name__}")
    sizes = {len(t) if t.dim() else -1 for t in fields}
    if len(sizes) != 1 or -1 in sizes:
        raise InputError(f"data fields must share the sample dimension 0, got lengths {sorted(sizes)}")
    if sizes == {0}:
        raise InputError("data is empty")
    return tuple(t.detach().to(dtype) if t.is_floating_point() else t.detach() for t in fields)
