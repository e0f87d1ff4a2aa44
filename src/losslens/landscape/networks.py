"""The ``network`` path of the fast evaluator: grid points of any network — convolutional, residual, with BatchNorm
(``eval`` or ``train`` mode) or LayerNorm — through the model's own ``forward``.

Per point ``θ(c) = θ₀ + Σ_j c_j d_j`` [n] is written (one fused pass) into a flat buffer whose slices are the
parameters of a private copy of the network, which then runs its own forward over the fixed batches. Two things
make that cheaper than a plain per-point forward (``functional_call`` or moving the model's parameters):

* **The first layer is linear in the grid coordinates.** The one ``Linear``/``ConvNd`` whose input depends on no
  parameter (found by a probe forward with the parameters requiring grad: its input then does not) gives

      Z ⊛ (W₀ + Σ_j c_j ΔW_j) + (b₀ + Σ_j c_j Δb_j) = H₀ + Σ_j c_j H_j,   H₀ = Z ⊛ W₀ + b₀,  H_j = Z ⊛ ΔW_j + Δb_j

  (``Z`` the layer's input for a batch, ``ΔW_j, Δb_j`` direction ``j``'s part for that layer, zero for frozen
  parameters). ``H₀, H_j`` [N, C, ...] are formed once per run (while they fit ``PRECOMPUTE_BUDGET``), the layer is
  replaced in the copy by :class:`_Combined`, and a point costs one axpy there: consecutive grid points share all
  coordinates but the last, so ``H₀ + Σ_{j<k-1} c_j H_j`` is kept per row.
* **Channels-last activations.** For networks with 2-D convolutions, images travel in channels-last memory order
  (``[N, H, W, C]`` strides): oneDNN's convolutions and pooling are several times faster there for the narrow
  channel counts of small networks (measured: ``benchmarks/bench_landscape.py``). Only the memory order changes;
  values differ from the contiguous forward by float rounding. A network whose forward cannot take it (a ``.view`` on
  a permuted tensor) runs contiguous.

BatchNorm in ``train`` mode normalises each point's activations with that point's own batch statistics, as the
plain per-point forward does (the objective's copy has no running statistics to update). A BatchNorm right after the
first layer gets them without a pass over the activations: the batch mean of ``H₀ + Σ_j c_j H_j`` is affine in ``c``
and its variance a quadratic form in ``(1, c)`` (see ``NetworkEvaluator._stem``); in ``eval`` mode it is folded into
the tables.

Several points per kernel call (``vmap`` over points, i.e. grouped convolutions with the points' weights stacked
along the output channels) was measured slower per point than this per-point path on this CPU for every batch of
points tried (2-16): the K-fold activations leave the cache, and oneDNN's grouped kernels for a few channels per group
are slow. It is the ``values`` method. Two points side by side with block-diagonal weights for the 8-channel
convolutions (16 channels fill the vector registers) gained 8-10% on the ResNet in ``eval`` mode and lost in ``train``
mode (BatchNorm statistics over the side-by-side channels), and writing the first layer's two outputs into
interleaved channels costs more than one contiguous output (docs/benchmarks.md): not kept.

Points are split over ``torch.get_num_threads()`` worker threads, each single-threaded with its own network copy
and buffers: a point's value does not depend on the thread count, chunking or rank (bit for bit).
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call

from ..stochastic import fixed_randomness
from .directions import Directions
from .fusion import absorb_relu, fuse, sole_reader, trace
from .evaluators import (ADD_RELU, PRECOMPUTE_BUDGET, _batches_and_weights, _PlaneEvaluator, _targets,
                         bound_copy, class_targets, linear_in_weights, mean_log_loss)
from .threads import split_over_threads


BATCH_NORM_OUT = getattr(getattr(torch.ops.aten, "native_batch_norm", None), "out", None)
PROBE = 2     # samples of the first batch in the forward that finds the first layer (BatchNorm needs two)


class _Stop(Exception):
    """Ends a forward pass once the first layer's input is seen."""


class NetworkEvaluator(_PlaneEvaluator):
    """Per-point forward of a private network copy, with the first-layer identity and channels-last activations
    (see the module docstring). The user's model is never touched."""

    name = "fast"
    path = "network"
    _pool = None

    def __init__(self, obj, directions: Directions):
        super().__init__(obj, directions)
        self.layout = obj.layout
        self.batches, self.weights = _batches_and_weights(obj)
        self.loss_fn, self.closure = getattr(obj, "loss_fn", None), getattr(obj, "closure", None)
        self.columns = class_targets(self.loss_fn, [_targets(b) for b in self.batches])   # the fast cross-entropy
        self._workers: list[_NetWorker] = []
        self.fixed_norms = fixed_norms(obj, self.vectors)
        self.first_layer = None if self.closure is not None else first_layer(obj.module, self.batches[0])
        convolutional = any(isinstance(m, nn.Conv2d) for m in obj.module.modules())
        origin = torch.zeros(1, len(self.vectors), dtype=torch.float64)
        self.fused, self.stem = False, None
        for channels_last in ((True, False) if convolutional else (False,)):
            self._prepare(obj, channels_last)
            try:      # one point at θ₀: does the forward take this memory order?
                plain = float(self(origin)[0])
                break
            except RuntimeError:
                if not channels_last:
                    raise
        self.channels_last = channels_last
        self.stem = self._stem(obj)
        self.fused, self._workers = None, []     # None: workers try to rewrite their graphs
        self.fused = self._worker(0).fused is not None
        if self.fused:      # the rewritten graph must give f(θ₀) to float rounding, else the network runs as it is
            tol = 1e-5 if self.origin.dtype == torch.float32 else 1e-10
            try:
                ok = abs(float(self(origin)[0]) - plain) <= tol * max(abs(plain), 1e-30)
            except RuntimeError:
                ok = False
            if not ok:
                self.fused = False
                self._workers = []

    def _prepare(self, obj, channels_last: bool) -> None:
        """Inputs in the chosen memory order, the first layer's ``(H₀, [H_j])`` per batch (or None), fresh workers."""
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.inputs = [tuple(_ordered(t, fmt) for t in b[:-1]) for b in self.batches]
        self.tables = None
        if self.first_layer is not None:
            with torch.no_grad():
                self.tables = first_layer_tables(obj, self.first_layer, self.origin, self.vectors, self.batches, fmt)
        self._workers = []

    def _stem(self, obj):
        """(name, tables, Grams) when a BatchNorm alone reads the first layer's output:

        * ``eval`` mode, weight and bias fixed on the grid (frozen, or zero in every direction: the default for
          filter-normalised directions): ``BN(H) = s H + t`` per channel is folded into the tables, ``s H₀ + t`` and
          ``s H_j``; Grams None.
        * batch statistics (``train`` mode): per channel the batch mean of ``H = H₀ + Σ_j c_j H_j`` is affine in
          ``c`` and its variance the quadratic form ``c̃ᵀ G c̃`` (``c̃ = (1, c)``, ``G`` the Gram matrix of the
          centred tables over the batch, [C, k+1, k+1] float64): the tables are centred and ``BN`` becomes a per-channel
          scale of their sum (:class:`_Combined`), with no statistics pass per point.
        """
        if self.tables is None:
            return None
        gm = trace(self._worker(0).net, _is_combined)
        if gm is None:
            return None
        name = sole_reader(gm, self.first_layer)
        if name is None:
            name = sole_reader(gm, self.first_layer, train=True)
            return None if name is None else (name, *centred_tables(self.tables))
        if name not in self.fixed_norms:
            return None
        blocks = {b.name: b for b in obj.layout}
        bn = self._worker(0).net.get_submodule(name)       # running statistics; frozen weight or bias
        at0 = {a: self.origin[b.offset:b.offset + b.numel] for a, b in
               ((a, blocks.get(f"{name}.{a}")) for a in ("weight", "bias")) if b is not None}
        s = torch.rsqrt(bn.running_var + bn.eps) * at0.get("weight", bn.weight if bn.weight is not None else 1.0)
        t = at0.get("bias", bn.bias if bn.bias is not None else 0.0) - bn.running_mean * s
        s, t = s.view(_channel_shape(self.tables[0][0])), t.view(_channel_shape(self.tables[0][0]))
        return name, [(torch.addcmul(t, H0, s), [H * s for H in Hs]) for H0, Hs in self.tables], None

    def _worker(self, i: int) -> "_NetWorker":
        while len(self._workers) <= i:
            self._workers.append(_NetWorker(self.obj, self.origin, self.first_layer, self.tables,
                                            self.inputs[0] if self.fused is not False else None,
                                            self.stem if self.fused is not False else None, self.fixed_norms))
        return self._workers[i]

    def _points(self, C: torch.Tensor, worker: "_NetWorker") -> torch.Tensor:
        """f at the points ``C`` [m, k] on ``worker``'s network copy: Σ_b w_b · loss of batch b, added as floats."""
        torch.set_num_threads(1)         # per thread under OpenMP: this worker's ops stay on its core
        totals = []
        for c in C.tolist():
            self._set(c, worker.theta)
            total = 0.0
            for bi, (inputs, batch, w) in enumerate(zip(self.inputs, self.batches, self.weights)):
                if not w:       # a batch of ignored targets only: no share in the mean
                    continue
                net, combined = (worker.fused, worker.fused_combined) if self.fused else (worker.net, worker.combined)
                if combined is not None:
                    combined.at(bi, c)
                with fixed_randomness(self.obj._fixed, self.obj.seed, bi):    # the objective's dropout masks
                    if self.closure is not None:
                        loss = self.closure(net, (*inputs, _targets(batch)))
                    else:
                        out = self._selected(net(*inputs))
                        if self.columns is not None and out.dim() == 2:
                            loss = mean_log_loss(out, self.columns[bi])
                        else:
                            loss = self.loss_fn(out, _targets(batch))
                total += w * float(loss)
            totals.append(total)
        return torch.tensor(totals, dtype=self.origin.dtype)

    def __call__(self, C: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if not len(C):
                return self.origin.new_zeros(0)
            return split_over_threads(self, C, self._points)

    def __del__(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False)


class _NetWorker:
    """One thread's network copy: its parameters are views of ``theta``; the first layer (if any) is a
    :class:`_Combined` with this worker's buffers."""

    def __init__(self, obj, origin: torch.Tensor, first: str | None, tables, inputs: tuple | None, stem=None,
                 fixed_norms: frozenset = frozenset()):
        self.theta = origin.clone()
        self.net = bound_copy(obj, self.theta)
        self.combined = None
        if first is not None and tables is not None:
            self.combined = _Combined(tables)
            self.net.set_submodule(first, self.combined)
            self.combined.at(0, [0.0] * len(tables[0][1]))
        # the same network with fewer passes over its activations (fusion.py); its modules are the copy's own,
        # but for the first layer when the BatchNorm after it is folded into its tables (``stem``)
        self.fused = self.fused_combined = None
        if inputs is not None:
            self.fused = fuse(self.net, _is_combined, inputs, frozenset([stem[0]]) if stem else frozenset(),
                              fixed_norms)
            if self.fused is not None and self.combined is not None:     # its own first layer
                self.fused_combined = _Combined(stem[1] if stem else tables)
                if stem and stem[2] is not None:          # the BatchNorm's batch statistics from the Grams
                    self.fused_combined.norm = (self.net.get_submodule(stem[0]), stem[2])
                self.fused_combined.relu = absorb_relu(self.fused, first) and ADD_RELU is not None
                self.fused.set_submodule(first, self.fused_combined)


class _Combined(nn.Module):
    """Stands in for the first layer: ``H₀ + Σ_j c_j H_j`` for the current batch ``bi`` and point ``c`` (set by
    :meth:`at`), written into a reused buffer in ``H₀``'s memory order; its input is ignored (it is the data)."""

    def __init__(self, tables: list[tuple[torch.Tensor, list[torch.Tensor]]]):
        super().__init__()
        self.tables = tables
        self.bi, self.c = 0, [0.0]
        self.relu = False         # relu(H₀ + Σ_j c_j H_j) in the same pass
        self.norm = None          # (BatchNorm, per batch its Grams): batch-normalise the sum (centred tables)
        self.bases: dict = {}     # batch -> (coordinates but the last, H₀ + Σ_{j<k-1} c_j H_j)
        self.outs: dict = {}      # batch -> output buffer

    def at(self, bi: int, c: list[float]) -> None:
        self.bi, self.c = bi, c

    def forward(self, *_inputs) -> torch.Tensor:
        H0, Hs = self.tables[self.bi]
        c = self.c
        base = H0
        if len(c) > 1:
            key, base = self.bases.get(self.bi, (None, None))
            if base is None:
                base = torch.empty_like(H0)
            if key != c[:-1]:
                torch.add(H0, Hs[0], alpha=float(c[0]), out=base)
                for j in range(1, len(c) - 1):
                    base.add_(Hs[j], alpha=float(c[j]))
            self.bases[self.bi] = (c[:-1], base)
        out = self.outs.get(self.bi)
        if out is None:
            out = self.outs[self.bi] = torch.empty_like(H0)
        if self.norm is not None:
            return self._normalised(torch.add(base, Hs[-1], alpha=float(c[-1]), out=out))
        if self.relu:
            return ADD_RELU.out(base, Hs[-1], alpha=float(c[-1]), out=out)
        return torch.add(base, Hs[-1], alpha=float(c[-1]), out=out)

    def _normalised(self, h: torch.Tensor) -> torch.Tensor:
        """``BN(h)`` (then ReLU if ``relu``) in place, for ``h`` the sum of centred tables at the point ``c``: mean
        zero, biased variance ``c̃ᵀ G c̃`` per channel (``c̃ = (1, c)``), so ``BN(h) = γ h / √(var + ε) + β``
        (ATen's BatchNorm with these as its statistics)."""
        bn, grams = self.norm
        G = grams[self.bi]
        cc = torch.tensor([1.0, *self.c], dtype=torch.float64)
        var = (G.view(-1, len(cc)) @ cc).view(-1, len(cc)).mv(cc).to(h.dtype)
        zero = torch.zeros_like(var)
        if BATCH_NORM_OUT is not None:
            BATCH_NORM_OUT(h, bn.weight, bn.bias, zero, var, False, 0.0, bn.eps, out=h, save_mean=zero.new_empty(0),
                           save_invstd=zero.new_empty(0))
        else:       # pragma: no cover - an ATen without the out= variant
            h = nn.functional.batch_norm(h, zero, var, bn.weight, bn.bias, False, 0.0, bn.eps)
        return h.relu_() if self.relu else h


def fixed_norms(obj, vectors: torch.Tensor) -> frozenset:
    """Names of the BatchNorm modules whose weight and bias every direction leaves alone (zero there, or frozen)."""
    moving = {b.name for b in obj.layout if bool(vectors[:, b.offset:b.offset + b.numel].ne(0).any())}
    return frozenset(name for name, m in obj.module.named_modules()
                     if isinstance(m, nn.modules.batchnorm._BatchNorm)
                     and not {f"{name}.weight", f"{name}.bias"} & moving)


def centred_tables(tables):
    """Per batch the first layer's tables less their per-channel batch means, and the Gram matrices of the centred
    tables ``G[c, i, j] = mean over the batch and positions of Ĥ_i Ĥ_j`` [C, k+1, k+1] (float64)."""
    out, grams = [], []
    for H0, Hs in tables:
        dims = [d for d in range(H0.dim()) if d != 1]
        T = [H - H.mean(dims, keepdim=True) for H in (H0, *Hs)]
        G = torch.empty(H0.shape[1], len(T), len(T), dtype=torch.float64)
        for i in range(len(T)):
            for j in range(i + 1):        # products in the tables' dtype, sums in float64; one table's memory
                G[:, i, j] = G[:, j, i] = (T[i] * T[j]).sum(dims, dtype=torch.float64) / (H0.numel() // H0.shape[1])
        grams.append(G)
        out.append((T[0], T[1:]))
    return out, grams


def _channel_shape(h: torch.Tensor) -> tuple[int, ...]:
    return (1, -1) + (1,) * (h.dim() - 2)


def _is_combined(m: nn.Module) -> bool:
    return isinstance(m, _Combined)


def _ordered(t: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    """4-D floating tensors in memory order ``fmt``; others as they are."""
    return t.contiguous(memory_format=fmt) if t.dim() == 4 and t.is_floating_point() else t


def first_layer(module: nn.Module, batch) -> str | None:
    """The name of the one ``Linear``/``ConvNd`` submodule whose input depends on no parameter and that runs once
    per forward (the network's first layer), or None.

    Found by a forward of a copy on ``batch`` with every parameter requiring grad: a module's input then requires
    grad exactly when some parameter reaches it."""
    probe = copy.deepcopy(module)
    probe.requires_grad_(True)
    calls: dict[str, list[bool]] = {}
    for name, m in probe.named_modules():
        if linear_in_weights(m) and name:
            m.register_forward_pre_hook(
                lambda _m, args, name=name: calls.setdefault(name, []).append(
                    len(args) == 1 and isinstance(args[0], torch.Tensor) and not args[0].requires_grad))
    with torch.enable_grad():
        try:             # a few samples show which inputs need grad
            probe(*(t[:PROBE] for t in batch[:-1]))
        except Exception:  # noqa: BLE001 - a forward that needs the whole batch (a fixed batch size): give it that
            calls.clear()
            probe(*batch[:-1])
    found = [name for name, flags in calls.items() if flags == [True]]
    return found[0] if len(found) == 1 else None


def first_layer_tables(obj, name: str, origin: torch.Tensor, vectors: torch.Tensor, batches,
                       fmt: torch.memory_format):
    """Per batch ``(H₀, [H_j])``: the first layer ``name`` on its input ``Z`` (in memory order ``fmt``) with its
    parameters at θ₀ and along each direction (zero for frozen parameters, which stay in ``H₀``); None when they
    exceed ``PRECOMPUTE_BUDGET`` bytes."""
    net = copy.deepcopy(obj.module)
    layer = net.get_submodule(name)
    blocks = {b.name: b for b in obj.layout}
    seen: list[torch.Tensor] = []

    def capture(_m, args):
        seen.append(args[0])
        raise _Stop

    hook = layer.register_forward_pre_hook(capture)
    for bi, batch in enumerate(batches):
        try:
            with fixed_randomness(obj._fixed, obj.seed, bi):     # a dropout before the layer: the objective's mask
                net(*batch[:-1])
        except _Stop:
            pass
    hook.remove()
    tables, size = [], 0
    for Z in seen:
        Z = _ordered(Z, fmt)

        def at(vec, frozen_as_zero):
            params = {}
            for attr, p in layer.named_parameters():
                b = blocks.get(f"{name}.{attr}")
                params[attr] = vec[b.offset:b.offset + b.numel].view(b.shape) if b is not None else \
                    (torch.zeros_like(p) if frozen_as_zero else p)
            return functional_call(layer, params, (Z,))

        H0 = _ordered(at(origin, False), fmt)      # (an input with one channel leaves the order ambiguous)
        size += H0.numel() * H0.element_size() * (len(vectors) + 3)    # H₀, H_j, the row base and the output
        if size > PRECOMPUTE_BUDGET:
            return None
        tables.append((H0, [_ordered(at(v, True), fmt) for v in vectors]))
    return tables
