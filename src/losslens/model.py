"""ModelObjective: the loss of an ``nn.Module`` on data as a function of one flat parameter vector.

    f(x) = Σ_b  (M_b / M) · L_b(model(x; inputs_b), targets_b),        M = Σ_b M_b

``x`` [n] is the concatenation of the trainable parameters (``obj.layout`` says which slice is which tensor),
``L_b`` the batch-mean loss and ``M_b`` what that mean divides by (:func:`losslens.losses.sample_mass`): the batch
size ``N_b``, or for a class-weighted or ``ignore_index`` cross-entropy the summed weights of its counted labels, so
``f`` is the mean loss over the whole data whatever the batching. Evaluation goes through
``torch.func.functional_call`` on a private copy of the model, so the user's model (parameters, buffers,
train/eval mode, ``.grad``) is never changed. Frozen parameters (``requires_grad=False``) are constants.

In ``mode="train"`` ``f`` is still one deterministic function of ``x``: dropout masks are fixed per batch from
``(seed, batch position, call)`` (:mod:`losslens.stochastic`), and BatchNorm normalises each batch of
``batch_size`` samples by that batch's own statistics, so the value depends on ``batch_size`` (as in training).
Hessian products and dense Hessians run with the math kernel of ``scaled_dot_product_attention`` (the only one
with a double backward), so attention models need no change.

Under ``torch.distributed`` each rank holds a contiguous shard of the samples (in ``mode="train"`` of whole batches,
numbered as in one process: the same batch statistics and dropout masks); ``value``, ``grad``, ``hvp``,
``hessian``, ``values`` and ``grads`` all-reduce their per-rank partial sums, so every analysis that uses these
methods runs unchanged on several processes. (Calling ``f`` directly gives the local part only.)
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import nn
from torch.func import functional_call, replace_all_batch_norm_modules_

from .devices import device_of, resolve_device
from .losses import check_labels, check_loss_inputs, loss_on, make_loss, sample_mass
from .objective import Objective
from .stochastic import check_fixable, fixed_randomness, math_attention, needs_mode
from .validation import InputError, check_choice, check_finite_data, check_int

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
        loss_fn: ``loss_fn(outputs, targets) -> scalar`` batch-mean loss (e.g. ``nn.CrossEntropyLoss()``), or a name
            (``"cross-entropy"``, ``"mse"``, ``"package.module:fn"``; :func:`losslens.losses.make_loss`). Targets that
            cross-entropy or MSE would misread are refused on the first batch (:mod:`losslens.losses`).
        data: ``(inputs, targets)`` tensors (or a dict of tensors) with samples along dim 0 -- held in memory,
            split into batches of ``batch_size``; or a ``DataLoader``, a ``Dataset`` (batched by ``batch_size``, in
            order) or a re-iterable of batches -- *streamed*: ``value``, ``grad``, ``hvp``, ``values`` and ``grads``
            accumulate batch by batch, so memory holds one batch and its graph, not the data set. A streamed
            source must give the same batches on every pass: the first ``check_batches`` batches are compared
            (SHA-256 of their bytes) between two passes at construction, and every pass checks the batch sizes.
            Batches are tuples ``(inputs..., targets)``, dicts or single tensors (closures only). Floating entries
            must be finite (NaN or inf is refused naming the sample).
        check_batches: how many leading batches of a streamed source are compared between two passes.
        closure: instead of ``loss_fn``, ``closure(call, batch) -> scalar`` batch-mean loss where ``call(*inputs)``
            runs the model at the current parameters (custom losses, e.g. physics-informed).
        subset: use a fixed random subset of this many samples (chosen with ``seed``).
        batch_size: samples per forward pass. In ``mode="eval"`` a memory bound only (the value does not depend on
            it); in ``mode="train"`` BatchNorm takes its batch statistics over each batch of ``batch_size`` samples
            (the last batch may be smaller), so the value does depend on it.
        dtype: float32 by default; float64 on request (model copy and floating data are cast).
        inputs, targets: which fields of a batch are the model's inputs and the targets: dict keys (a tuple of keys
            for several inputs) or tuple positions. Default: a tuple batch is ``(inputs..., targets)``; a dict batch
            uses the keys ``"inputs"`` and ``"targets"`` when present.
        output: when the model returns a dict (or a tuple), the key (position) of the output the loss takes.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``; ``None`` = the model's device.
            The model copy, the data and every point, vector and result live there.
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
                 distributed: bool | None = None, label: str | None = None, device=None, inputs=None,
                 targets=None, output=None, check_batches: int = 2):
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
        self.closure = closure
        self.device = device_of(model) if device is None else resolve_device(device)
        # a loss module's class weights follow the objective's dtype and device (a copy; the caller's is unchanged)
        self.loss_fn = loss_on(make_loss(loss_fn), dtype, self.device) if loss_fn is not None else None
        self.output = output
        self._fields = (inputs, targets)
        self._classes: int | None = None      # classes of a cross-entropy/NLL output, once the first batch is seen
        self._offset = 0                        # the index of this rank's first in-memory batch among all batches

        if mode == "train":
            check_fixable(model)
        self.module = copy_model(model).to(device=self.device, dtype=dtype)
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
        self._param_sizes = [b.numel for b in blocks]
        self._n = offset
        self.x0 = torch.cat([p.detach().reshape(-1) for _, p in trainable]).clone()
        for p in self.module.parameters():
            p.requires_grad_(False)     # the copy's own tensors are never differentiated

        rank, world = _rank_world(distributed)
        self.distributed = world > 1
        source = _in_memory(data)
        self.streaming = source is None
        if self.streaming:
            if subset is not None:
                raise InputError(f"subset == {subset}: a random subset needs in-memory tensors, the data is streamed "
                                 "from a DataLoader/Dataset (pass (inputs, targets) tensors, or subset the loader)")
            self.loader = _loader(data, batch_size)
            self._scan(check_int("check_batches", check_batches, lo=1), rank, world)
        else:
            tensors = self._prepare(source, 0)
            self.num_samples = len(tensors[0])
            if subset is not None:
                check_int("subset", subset, lo=1, hi=self.num_samples)
                idx = torch.randperm(self.num_samples, generator=torch.Generator().manual_seed(seed))[:subset]
                tensors = tuple(t[idx.to(t.device)] for t in tensors)
                self.num_samples = subset
            if mode == "train" and world > 1:
                # batch statistics and dropout masks belong to the whole batches of one process: whole batches per
                # rank, indexed as in one process (a sample-level shard re-cut the batches, another function)
                starts = range(0, self.num_samples, batch_size)
                first, end = rank * len(starts) // world, (rank + 1) * len(starts) // world
                self._offset = first
                self.batches = [tuple(t[i:i + batch_size] for t in tensors) for i in starts[first:end]]
            else:
                lo, hi = rank * self.num_samples // world, (rank + 1) * self.num_samples // world
                self.batches: list[Batch] = [tuple(t[i:min(i + batch_size, hi)] for t in tensors)
                                             for i in range(lo, hi, batch_size)]
            if self.batches:        # (an empty shard on this rank: nothing to check)
                self._check_batch(self.batches[0], self._offset)
            if len(self.batches) > 1 and len(self.batches[-1][0]) != len(self.batches[0][0]):
                self._check_batch(self.batches[-1], self._offset + len(self.batches) - 1)   # the smaller last batch
            total = _positive_mass(self._mass(tensors))
            self.batch_weights = [self._mass(b) / total for b in self.batches]

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
        parts = x.split(self._param_sizes)
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
        return torch.cat([params[b.name].detach().to(self.device, self.dtype).reshape(-1) for b in self.layout])

    def point(self, x, name: str = "x") -> torch.Tensor:
        """A point [n] of this objective's dtype, on its device."""
        return super().point(x, name).to(self.device)

    def call(self, x: torch.Tensor, *inputs: torch.Tensor):
        """The model's output at parameters ``x`` [n] on ``inputs`` (the ``output`` entry of a dict/tuple output)."""
        out = functional_call(self.module, (self.unflatten(x), self.frozen, self.buffers), inputs)
        return pick_output(out, self.output)

    # --- data -------------------------------------------------------------------------------------------------
    def _prepare(self, raw, first: int | None = None) -> Batch:
        """One raw batch (tuple, dict or tensor) -> ``(inputs..., targets)`` on the device, floating ones in dtype;
        with ``first`` (the index of its first sample) its floating fields are checked to be finite."""
        fields = _select(raw, *self._fields)
        sizes = {len(t) if t.dim() else -1 for t in fields}
        if len(sizes) != 1 or -1 in sizes:
            raise InputError(f"data fields must share the sample dimension 0, got lengths {sorted(sizes)}")
        if sizes == {0}:
            raise InputError("data is empty")
        if first is not None:
            names = ["data"] if len(fields) == 1 else \
                [f"data inputs{'' if len(fields) == 2 else f' {k}'}" for k in range(len(fields) - 1)] + ["data targets"]
            for name, t in zip(names, fields):
                check_finite_data(name, t, first)
        if len(fields) > 1:
            fields = (*fields[:-1], integer_labels(fields[-1]))
        return tuple(t.detach().to(self.device, self.dtype) if t.is_floating_point() else t.detach().to(self.device)
                     for t in fields)

    def _scan(self, check_batches: int, rank: int, world: int) -> None:
        """One pass over a streamed source: batch sizes and digests; then the first batches again (same order?)."""
        sizes, digests, masses = [], [], []
        for raw in self.loader:
            batch = self._prepare(raw, sum(sizes))
            if len(batch[0]) not in sizes:      # the first batch of each size (a forward may fail on some sizes)
                self._check_batch(batch, len(sizes))
            sizes.append(len(batch[0]))
            masses.append(self._mass(batch))
            digests.append(_digest(batch))
            del batch, raw
        if not sizes:
            raise InputError("data is empty: the DataLoader gave no batches")
        again = [_digest(self._prepare(raw)) for raw, _ in zip(self.loader, range(min(check_batches, len(sizes))))]
        if again != digests[:len(again)]:
            i = next(j for j, (a, b) in enumerate(zip(again, digests)) if a != b)
            raise InputError(f"data: the DataLoader gave a different batch {i} on a second pass (shuffle=True, a "
                             "random sampler or random transforms?); the loss must be one function of the "
                             "parameters: use shuffle=False and deterministic transforms")
        if world > len(sizes):
            raise InputError(f"data: {len(sizes)} batch(es) cannot be shared out over {world} ranks; use smaller "
                             "batches")
        self.num_samples = sum(sizes)
        self._stream_weights = [m / _positive_mass(sum(masses)) for m in masses]
        self._batch_sizes, self._digests = sizes, digests
        self._shard = (rank * len(sizes) // world, (rank + 1) * len(sizes) // world)

    def _stream(self) -> Iterator[tuple[int, Batch]]:
        """This rank's (index, batch) pairs of a streamed source, one at a time, each checked against the first
        pass."""
        lo, hi = self._shard
        seen = 0
        for i, raw in enumerate(self.loader):
            if i >= hi:
                break
            if i < lo:
                continue
            batch = self._prepare(raw)
            if i >= len(self._batch_sizes) or len(batch[0]) != self._batch_sizes[i]:
                raise InputError(f"data: the DataLoader changed between passes (batch {i} has {len(batch[0])} "
                                 "samples now); keep its batches and order fixed")
            seen += 1
            yield i, batch
        if seen != hi - lo:
            raise InputError(f"data: the DataLoader gave {lo + seen} batches on this pass, {hi} before; keep its "
                             "batches and order fixed")

    def _batches(self) -> Iterator[tuple[int, Batch]]:
        """(index, batch) pairs of this rank's data; the index fixes the batch's dropout masks."""
        return self._stream() if self.streaming else enumerate(self.batches, self._offset)

    # --- the objective ----------------------------------------------------------------------------------------
    def _mass(self, batch: Batch) -> float:
        """What the loss's batch mean divides by on ``batch`` (:func:`losslens.losses.sample_mass`; samples for a
        closure); class labels are checked against the classes of the first batch's output on the way (the first
        batch alone was evaluated)."""
        if self.loss_fn is None:
            return float(len(batch[0]))
        if self._classes is not None:
            check_labels(getattr(self.loss_fn, "flag", "loss_fn"), batch[-1], self._classes,
                         self.loss_fn.ignore_index)
        return sample_mass(self.loss_fn, batch[-1])

    def weight(self, index: int) -> float:
        """``w_b = M_b / M``: the share of batch ``index`` in the mean, ``f = Σ_b w_b L_b`` (``M_b`` its sample
        mass, :func:`losslens.losses.sample_mass`: its size, or its summed class weights for a class-weighted or
        ``ignore_index`` cross-entropy, whose batch mean divides by that)."""
        return self._stream_weights[index] if self.streaming else self.batch_weights[index - self._offset]

    def f(self, x: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros(())
        for i, batch in self._batches():
            w = self.weight(i)
            if w:           # (a batch of ignored targets only: its mean is 0/0, its share 0)
                total = total + self._batch_loss(x, batch, i) * w
        return total

    def _batch_loss(self, x: torch.Tensor, batch: Batch, index: int = 0) -> torch.Tensor:
        """Batch-mean loss of the ``index``-th batch (which also fixes its dropout masks in ``mode="train"``)."""
        with fixed_randomness(self._fixed, self.seed, index):
            if self.closure is not None:
                return self.closure(lambda *inputs: self.call(x, *inputs), batch)
            *inputs, targets = batch
            return self.loss_fn(self.call(x, *inputs), targets)

    def _check_batch(self, batch: Batch, index: int = 0) -> None:
        """Evaluate the loss on one batch (the ``index``-th): every mismatch of model, data and loss is a one-line
        error here."""
        where = "" if index == self._offset else f" (batch {index}; try another batch size)"
        before = {k: b.clone() for k, b in self.buffers.items()} if index == self._offset else {}
        with torch.no_grad():
            if self.closure is None:
                *inputs, targets = batch
                out = _first_line_error(lambda: self._forward(batch[:-1], index),
                                        f"data (--data): the model cannot take inputs of shape "
                                        f"{', '.join(str(tuple(t.shape)) for t in inputs) or '()'}{where}")
                if self.output is not None:
                    out = pick_output(out, self.output)
                elif not isinstance(out, torch.Tensor):
                    keys = list(out) if isinstance(out, dict) else list(range(len(out))) \
                        if isinstance(out, (tuple, list)) else None
                    if keys is not None:
                        raise InputError(f"the model returns a {type(out).__name__} with keys {keys}; choose the "
                                         "output the loss takes with output= (--output-key KEY)")
                check_loss_inputs(self.loss_fn, out, targets)
                if isinstance(self.loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)) and isinstance(out, torch.Tensor) \
                        and out.dim() >= 2 and not targets.is_floating_point():
                    self._classes = out.shape[1]       # every batch's class labels are checked against it
                loss = _first_line_error(lambda: self.loss_fn(out, targets), "loss (--loss) failed on "
                                         + ("the first batch" if index == 0 else f"batch {index}"))
            else:
                loss = _first_line_error(lambda: self._batch_loss(self.x0, batch, index),
                                         f"the model cannot be evaluated on this data{where}")
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise InputError(f"the loss must be a scalar (batch mean), got {shape}")
        changed = next((k for k, b in before.items()
                        if not bool(torch.isclose(b, self.buffers[k], rtol=0, atol=0, equal_nan=True).all())), None)
        if changed is not None:
            raise InputError(f"the model changes its buffer {changed!r} when it runs (a running average or a power "
                             "iteration): the loss would differ from call to call instead of being one function of "
                             "the parameters; " + ("try mode='eval' (--mode eval; spectral norm iterates in training "
                                                   "mode only)" if self.mode == "train" else
                                                   "give a model whose forward leaves its buffers alone"))

    def _forward(self, inputs: Batch, index: int):
        """The model's raw output at ``x0`` on the ``index``-th batch's inputs (its dropout masks fixed)."""
        with fixed_randomness(self._fixed, self.seed, index):
            return functional_call(self.module, (self.unflatten(self.x0), self.frozen, self.buffers), tuple(inputs))

    def fingerprint(self) -> str:
        """SHA-256 over the layout, dtype, mode and this rank's data: identifies what a stored result belongs to."""
        h = hashlib.sha256(repr((self.layout, str(self.dtype), self.mode, self.num_samples)).encode())
        if self.streaming:
            lo, hi = self._shard
            for d in self._digests[lo:hi]:
                h.update(d.encode())
            return h.hexdigest()
        for batch in self.batches:
            for t in batch:
                h.update(t.detach().contiguous().cpu().numpy().tobytes())
        return h.hexdigest()

    # --- local sums (streamed: batch by batch) and distributed reductions ---------------------------------------
    def _local(self, method: str, *args):
        """``Objective.<method>`` on this rank's data: in memory at once, streamed as a sum over batches of the
        method on ``w_b · L_b`` (``w_b = N_b / N``), holding one batch and its graph at a time."""
        fn = getattr(Objective, method)
        if not self.streaming:
            return fn(self, *args)
        total = None
        for i, batch in self._stream():
            piece = _Piece(self, batch, i)
            part = fn(piece, *args)
            self._hvp_reverse = getattr(piece, "_hvp_reverse", False)
            total = part if total is None else _add(total, part)
        return total

    def _on(self, t):
        return torch.as_tensor(t, dtype=self.dtype, device=self.device)

    def _reduce(self, t: torch.Tensor) -> torch.Tensor:
        if not self.distributed:
            return t
        import torch.distributed as dist

        t = t.detach().clone()
        dist.all_reduce(t)
        return t

    def value(self, x):
        return self._reduce(self._local("value", self.point(x)))

    def grad(self, x):
        return self._reduce(self._local("grad", self.point(x)))

    def value_and_grad(self, x):
        v, g = self._local("value_and_grad", self.point(x))
        if not self.distributed:
            return v, g
        vg = self._reduce(torch.cat([v.reshape(1), g]))
        return vg[0], vg[1:]

    def hvp(self, x, v):
        x, v = self.point(x), self._on(v)
        with second_order():
            return self._reduce(self._streamed_hvp(x, v) if self.streaming else self._local("hvp", x, v))

    def _streamed_hvp(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Σ_b ∇²(w_b L_b)(x) v, each batch's product by double backward through its own gradient graph (3-5x
        faster per batch than forward-over-reverse here); one batch's graph alive at a time."""
        total = None
        for i, batch in self._stream():
            part = Objective.hvp_at(_Piece(self, batch, i), x)(v)
            total = part if total is None else total + part
        return total

    def hessian(self, x, chunk: int = 16):
        """Dense ∇²f(x) [n, n] from double-backward products with the unit vectors, ``chunk`` columns at a time
        (memory: one gradient graph and ``chunk`` vectors). ``torch.func.hessian`` (forward over reverse on all
        ``n`` tangents at once) is avoided: it holds ``n`` copies of every activation, and on torch 2.13 it returns
        a wrong, non-symmetric matrix for BatchNorm in train mode and for attention layers, where the HVPs agree
        with finite differences (tests/test_model_shapes.py)."""
        x = self.point(x)
        apply = self.hvp_at(x)
        eye = torch.eye(self.n, dtype=self.dtype, device=self.device)
        H = torch.cat([apply(e) for e in eye.split(chunk)])
        return 0.5 * (H + H.T)

    def hvp_at(self, x):
        """``v ↦ ∇²f(x) v``; in memory with the gradient's graph kept once, streamed recomputed batch by batch
        per call (memory of one batch). Attention runs its math kernel (the only one with a double backward)."""
        x = self.point(x)
        if self.streaming:
            def apply(v):
                with second_order():
                    return self._reduce(self._streamed_hvp(x, self._on(v)))
            return apply
        with second_order():
            local = super().hvp_at(x)

        def apply_local(v):
            with second_order():
                return self._reduce(local(self._on(v)))
        return apply_local

    def values(self, X, chunk: int = 8):
        return self._reduce(self._local("values", self._on(X), chunk))

    def grads(self, X, chunk: int = 8):
        return self._reduce(self._local("grads", self._on(X), chunk))


class _Piece(Objective):
    """``w_b · L_b(x)`` of one batch of a streamed :class:`ModelObjective` (its share of the mean)."""

    def __init__(self, owner: ModelObjective, batch: Batch, index: int):
        self.owner, self.batch, self.index, self.dtype = owner, batch, index, owner.dtype
        self.weight = owner.weight(index)
        self._hvp_reverse = getattr(owner, "_hvp_reverse", False)

    @property
    def n(self) -> int:
        return self.owner.n

    def point(self, x, name: str = "x") -> torch.Tensor:
        return self.owner.point(x, name)

    def f(self, x: torch.Tensor) -> torch.Tensor:
        if not self.weight:
            return x.sum() * 0.0      # (ignored targets only: no share in the mean, no 0/0)
        return self.owner._batch_loss(x, self.batch, self.index) * self.weight


def _positive_mass(total: float) -> float:
    if not total > 0:
        raise InputError(f"the loss has nothing to average: its targets are all ignore_index or their class weights "
                         f"sum to {total:g}; the mean loss is undefined")
    return total


def _add(a, b):
    return tuple(p + q for p, q in zip(a, b)) if isinstance(a, tuple) else a + b


def _digest(batch: Batch) -> str:
    h = hashlib.sha256()
    for t in batch:
        h.update(repr((tuple(t.shape), str(t.dtype))).encode())
        h.update(t.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def _first_line_error(fn: Callable, what: str):
    """``fn()``, which runs the user's model or loss: whatever it raises (a shape mismatch, a typo's AttributeError,
    a NotImplementedError) is an :class:`InputError` ``what: <first line>``."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - the user's forward and loss may raise anything
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{what}: {first}") from None


@contextlib.contextmanager
def second_order():
    """Around Hessian products: attention on its math kernel (the one with a double backward), and an operation
    without a second derivative in torch (``EmbeddingBag``, ``ctc_loss``, ``multi_margin_loss``, ...) as one
    :class:`InputError` naming it."""
    try:
        with math_attention():
            yield
    except (RuntimeError, NotImplementedError) as err:
        text = str(err)
        if "derivative for" not in text or "not implemented" not in text:
            raise
        first = (text.strip().splitlines() or [""])[0]
        raise InputError(f"the model or loss has no second derivative in torch ({first[:150]}); Hessian-vector "
                         "products need one: replace that module or loss (values, gradients and training work)") \
            from None


def integer_labels(targets: torch.Tensor) -> torch.Tensor:
    """Integer targets as int64, the labels torch's classification losses take (int32/int16/uint8/uint16 labels
    from NumPy were refused or crashed the label check); floating, bool and int64 targets as they are."""
    if targets.is_floating_point() or targets.is_complex() or targets.dtype in (torch.bool, torch.int64):
        return targets
    return targets.long()


def copy_model(model: nn.Module) -> nn.Module:
    """A private deep copy of the user's model; one that cannot be copied, or a TorchScript module (its parameters
    cannot be swapped by ``functional_call`` nor optimised), is an :class:`InputError`."""
    scripted = next((name or type(m).__name__ for name, m in model.named_modules()
                     if isinstance(m, torch.jit.ScriptModule)), None)
    if scripted is not None:
        raise InputError(f"module {scripted!r} is a TorchScript module (torch.jit.script/trace); give the nn.Module "
                         "itself, before scripting")
    try:
        return copy.deepcopy(model)
    except (RuntimeError, TypeError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        hint = ("; the deprecated torch.nn.utils.weight_norm makes such models: use "
                "torch.nn.utils.parametrizations.weight_norm") if "weight_norm" in str(err) else ""
        raise InputError(f"the model cannot be copied (copy.deepcopy: {first[:120]}){hint}") from None


def pick_output(out, key):
    """``out[key]`` of a dict output, or ``out[int(key)]`` of a tuple output; ``out`` itself when ``key`` is None (a
    tensor output takes no key)."""
    if key is None:
        return out
    if isinstance(out, dict):
        if key not in out:
            raise InputError(f"output == {key!r} is not a key of the model's output; keys: {list(out)}")
        return out[key]
    if isinstance(out, (tuple, list)):
        try:
            return out[int(key)]
        except (ValueError, IndexError):
            raise InputError(f"output == {key!r}: the model returns a {type(out).__name__} of {len(out)}; give a "
                             f"position 0..{len(out) - 1}") from None
    raise InputError(f"output == {key!r} but the model returns a single {type(out).__name__}; drop output "
                     "(--output-key)")


def _rank_world(distributed: bool | None) -> tuple[int, int]:
    import torch.distributed as dist

    active = dist.is_available() and dist.is_initialized()
    if distributed and not active:
        raise InputError("distributed=True but no torch.distributed process group is initialised (use torchrun)")
    if active and distributed is not False:
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _in_memory(data: Any):
    """The raw in-memory data (a tuple/list of tensors or a dict of tensors; NumPy arrays become tensors), or None
    for a streamed source."""
    from torch.utils.data import DataLoader, Dataset

    data = as_tensors(data)
    if isinstance(data, (tuple, list)) and data and all(isinstance(t, torch.Tensor) for t in data):
        return tuple(data)
    if isinstance(data, dict) and data and all(isinstance(t, torch.Tensor) for t in data.values()):
        return data
    if isinstance(data, (DataLoader, Dataset)):
        return None
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes, torch.Tensor, dict)):
        if iter(data) is data:
            raise InputError(f"data is a one-shot iterator ({type(data).__name__}); the data is read more than "
                             "once: pass tensors, a DataLoader, a Dataset or a list of batches")
        return None
    raise InputError(f"data must be (inputs, targets) tensors or a DataLoader, got {type(data).__name__}")


def as_tensors(data: Any) -> Any:
    """A tuple/list or dict holding NumPy arrays (and tensors) with the arrays as tensors; anything else as it is."""
    import numpy as np

    def convert(t):
        if not isinstance(t, np.ndarray):
            return t
        if t.dtype.kind not in "biuf":
            raise InputError(f"data holds a NumPy array of {t.dtype} values; give numbers (float inputs, int class "
                             "labels or float targets)")
        return torch.from_numpy(np.ascontiguousarray(t))

    if isinstance(data, (tuple, list)) and any(isinstance(t, np.ndarray) for t in data):
        return tuple(convert(t) for t in data)
    if isinstance(data, dict) and any(isinstance(t, np.ndarray) for t in data.values()):
        return {k: convert(t) for k, t in data.items()}
    return data


def _loader(data: Any, batch_size: int):
    """A re-iterable source of batches: a ``Dataset`` is batched in order by ``batch_size``."""
    from torch.utils.data import DataLoader, Dataset, IterableDataset

    if isinstance(data, Dataset) and not isinstance(data, IterableDataset):
        return DataLoader(data, batch_size=batch_size, shuffle=False)
    return data


def _select(raw, inputs, targets) -> Batch:
    """``(inputs..., targets)`` tensors of one batch; ``inputs``/``targets``: dict keys or tuple positions."""
    if isinstance(raw, torch.Tensor):
        if inputs is not None or targets is not None:
            raise InputError("inputs/targets select fields of tuple or dict batches; the data batches are single "
                             "tensors")
        return (raw,)
    if isinstance(raw, dict):
        if inputs is None and targets is None and "inputs" in raw and "targets" in raw:
            inputs, targets = "inputs", "targets"
        if inputs is None or targets is None:
            raise InputError(f"data batches are dicts with keys {list(raw)}; say which are the model's inputs and "
                             "the targets with inputs= and targets= (--inputs KEY --targets KEY)")
    elif isinstance(raw, (tuple, list)):
        if (inputs is None) != (targets is None):
            raise InputError("give both inputs and targets (--inputs, --targets) positions, or neither")
        if inputs is None:
            fields = tuple(raw)
            if not all(isinstance(t, torch.Tensor) for t in fields):
                raise InputError("data batches must hold tensors: (inputs..., targets)")
            return fields
    else:
        raise InputError(f"data batches must be tuples (inputs..., targets), dicts or tensors, got "
                         f"{type(raw).__name__}")
    keys = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    return tuple(_field(raw, k, "inputs") for k in keys) + (_field(raw, targets, "targets"),)


def _field(raw, key, name: str) -> torch.Tensor:
    if isinstance(raw, dict):
        if key not in raw:
            raise InputError(f"{name} == {key!r} is not a key of the data batches; keys: {list(raw)} (--{name} KEY)")
        t = raw[key]
    else:
        try:
            t = raw[int(key)]
        except (ValueError, IndexError):
            raise InputError(f"{name} == {key!r}: data batches are tuples of {len(raw)}; give a position "
                             f"0..{len(raw) - 1} (--{name} N)") from None
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{name} == {key!r} selects a {type(t).__name__}, not a tensor")
    return t
