"""The fast evaluator of ``nn.Sequential`` model objectives (``fast``): :class:`ModelPlaneEvaluator`.

A private copy of the network whose parameters are views of one flat buffer; per point the buffer is set to ``θ₀ + Σ c_j d_j`` (one fused pass over ``n`` numbers)
and the copy runs a plain forward over the fixed batches (no ``functional_call`` dispatch, no per-point copies).
When the network is an ``nn.Sequential`` whose first parametrised layer is an ``nn.Linear`` or ``nn.ConvNd``
that only parameter-free layers (``Flatten``, ``Identity``, ``Unflatten``) precede, that layer is linear in the
plane coordinates (shown for Linear; a convolution is the same with ⊛):

    Z (W₀ + Σ c_j ΔW_j)ᵀ + (b₀ + Σ c_j Δb_j) = H₀ + Σ c_j H_j,   H₀ = Z W₀ᵀ + b₀,  H_j = Z ΔW_jᵀ + Δb_j,

so ``H₀, H_j`` [N, out] are formed once per run and each point costs an axpy instead of the first matmul. When
a ReLU and another Linear follow and the evaluator knows the grid's last axis (uniform, as ``evaluate`` passes
it), the points of a grid row get that Linear's pre-activations from :mod:`.relu_rows` (updated where the ReLU
pattern flips) instead of its matmul, whenever that costs less.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn
from torch.func import functional_call

from ..validation import InputError
from . import relu_rows
from .buffers import reused
from .directions import Directions
from .evaluators import (ADD_RELU, ADD_RELU_, PRECOMPUTE_BUDGET, _batches_and_weights, _inputs,
                         _PlaneEvaluator, _targets, _tied, bound_copy, class_targets, linear_in_weights)
from .threads import split_over_threads

PREFIX_OK = (nn.Flatten, nn.Identity, nn.Unflatten)
ACTIVATIONS_INPLACE = {nn.ReLU: torch.relu_, nn.Tanh: torch.tanh_, nn.Sigmoid: torch.sigmoid_}


class ModelPlaneEvaluator(_PlaneEvaluator):
    """Fast per-point model evaluation (see the module docstring). The user's model is never touched.

    With the first-layer identity and a head of Linear layers and ReLU/Tanh/Sigmoid (:class:`_Head`), every point
    runs single-threaded on one of ``torch.get_num_threads()`` worker threads, each with its own buffers: the points
    of a chunk are independent, so they are split over the cores (as fast as splitting each matmul, measured), and a
    point's arithmetic (hence its value, bit for bit) does not depend on the thread count, chunking or rank.
    """

    name = "fast"
    _pool: ThreadPoolExecutor | None = None

    def __init__(self, obj, directions: Directions, axis: torch.Tensor | None = None):
        super().__init__(obj, directions)
        self.batches, self.weights = _batches_and_weights(obj)
        self.loss_fn = getattr(obj, "loss_fn", None)
        self.closure = getattr(obj, "closure", None)
        if _tied(obj.module):
            raise InputError("method == 'fast' cannot evaluate a model whose modules share (tie) parameters; use "
                             "method='values'")
        self.theta = self.origin.clone()
        self.net = bound_copy(obj, self.theta)
        self.first = self._linear_first(obj)
        self.axis = self._row_axis(axis)
        self._workers: list[_Worker] = []

    @property
    def path(self) -> str:
        """``mlp-rows`` when grid rows may take (or took) :mod:`.relu_rows`, ``mlp`` when every row computed so far
        found plain matmuls cheaper or rows do not apply, ``modules`` for other layers after the first."""
        if self.first is None or self.head.layers is None:
            return "modules"
        if self.axis is None:
            return "mlp"
        rows = [kind for w in self._workers for kind in w.row_kinds]
        return "mlp" if rows and "rows" not in rows else "mlp-rows"

    def _row_axis(self, axis):
        """(axis values [steps] as floats, β₀, step) when grid rows can use :class:`~.relu_rows.ReluRow`, else None."""
        if axis is None or self.first is None or self.head.layers is None or len(axis) < 2:
            return None
        body = self.head.layers[:-1]
        if not (self.head.leading_relu and len(body) >= 2 and body[1][0] == "linear"):
            return None
        weight = self.head.layers[1][1]                     # the second Linear's weight: a constant or its place in θ
        o = (weight.shape if isinstance(weight, torch.Tensor) else weight[2])[0]
        if not all(H0.dim() == 2 and relu_rows.available(H0)
                   and relu_rows.workspace_bytes(*H0.shape, o, H0.element_size()) <= PRECOMPUTE_BUDGET
                   for H0, _ in self.first[1]):
            return None
        values = axis.to(torch.float64)
        step = float(values[1] - values[0])
        if step <= 0 or float((values.diff() - step).abs().max()) > 1e-9 * step:
            return None
        return values.tolist(), float(values[0]), step

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
        if idx is None or not linear_in_weights(net[idx]):
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
        self.head = _Head(net, idx + 1, blocks, self.loss_fn, [_targets(b) for b in self.batches])
        return idx, pre

    def _point(self, c: list[float]) -> torch.Tensor:
        """The general path: the network copy's own modules at θ(c) (after the first layer's sum when it applies)."""
        self._set(c, self.theta)
        total = self.theta.new_zeros(())
        for bi, (batch, w) in enumerate(zip(self.batches, self.weights)):
            if not w:           # a batch of ignored targets only: no share in the mean
                continue
            if self.first is not None:
                H0, Hs = self.first[1][bi]
                loss = self.loss_fn(self._selected(self.rest(self._worker(0).first_layer(bi, H0, Hs, c))),
                                    _targets(batch))
            elif self.closure is not None:
                loss = self.closure(self.net, batch)
            else:
                loss = self.loss_fn(self._selected(self.net(*batch[:-1])), _targets(batch))
            total = total + w * loss
        return total

    def _structured(self, C: torch.Tensor, worker: "_Worker") -> torch.Tensor:
        """Values at the points ``C`` through the first-layer identity and the head, on ``worker``'s buffers."""
        torch.set_num_threads(1)         # per thread under OpenMP: this worker's ops stay on its core
        totals = []
        relu = self.head.leading_relu
        for c in C.tolist():
            self._set(c, worker.theta)
            t = self._step(c[-1])
            total = 0.0
            for bi, ((H0, Hs), w) in enumerate(zip(self.first[1], self.weights)):
                if not w:       # a batch of ignored targets only: no share in the mean
                    continue
                outs = worker.buffers(H0)
                row = self._row(worker, bi, c, t) if t is not None else None
                if row is not None:        # the second Linear's output from the row's coefficients
                    fused = self.head.second_relu
                    out = reused(outs, "row", (len(H0), row.o), H0)
                    h = row.output(c[-1], out, fused)
                    loss = self.head.loss(h, worker.theta, outs, bi, start=3 if fused else 2)
                else:
                    h = worker.first_layer(bi, H0, Hs, c, relu)
                    loss = self.head.loss(h, worker.theta, outs, bi, start=int(relu))
                total += w * float(loss)
            totals.append(total)
        return torch.tensor(totals, dtype=self.theta.dtype)

    def _step(self, beta: float) -> int | None:
        """The index of ``beta`` on the grid's last axis, if it is one of its values."""
        if self.axis is None:
            return None
        values, beta0, step = self.axis
        t = round((beta - beta0) / step)
        return t if 0 <= t < len(values) and values[t] == beta else None

    def _row(self, worker: "_Worker", bi: int, c: list[float], t: int):
        """The worker's :class:`~.relu_rows.ReluRow` of batch ``bi`` for the row of ``c``, advanced to step ``t`` (a new
        one from step 0 when the row changes or goes back), or None when the row costs more than plain matmuls."""
        key = tuple(c[:-1])
        cached = worker.rows.get(bi)
        if cached is None or cached[0] != key or (cached[1] is not None and cached[1].t > t):
            worker.rows[bi] = None                 # its buffers pass to the next row
            cached = worker.rows[bi] = (key, self._new_row(bi, c, worker.row_work.setdefault(bi, {})))
            worker.row_kinds.add("plain" if cached[1] is None else "rows")
        row = cached[1]
        if row is not None:
            row.advance(t)
        return row

    def _new_row(self, bi: int, c: list[float], work: dict):
        H0, Hs = self.first[1][bi]
        A = reused(work, "A", H0.shape, H0).copy_(H0)
        for j in range(len(c) - 1):
            A.add_(Hs[j], alpha=float(c[j]))
        (W_a, E), (b_a, e) = (self._row_start(spec, c) for spec in self.head.layers[1][1:])
        values, beta0, step = self.axis
        row = relu_rows.ReluRow(A, Hs[-1], W_a, E, b_a, e, beta0, step, len(values), work=work)
        return row if row.worth else None

    def _row_start(self, spec, c: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
        """A head weight or bias at β = 0 on the row of ``c``, and its slope along β (zero when frozen)."""
        if isinstance(spec, torch.Tensor):
            return spec, torch.zeros_like(spec)
        offset, numel, shape = spec
        value = self.origin[offset:offset + numel].clone()
        for j in range(len(c) - 1):
            value.add_(self.vectors[j][offset:offset + numel], alpha=float(c[j]))
        return value.view(shape), self.vectors[-1][offset:offset + numel].view(shape)

    def __call__(self, C: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if not len(C):
                return self.theta.new_zeros(0)
            if self.first is None or self.head.layers is None:      # modules after the first layer
                return torch.stack([self._point(c) for c in C.tolist()])
            return split_over_threads(self, C, self._structured)

    def _worker(self, i: int) -> "_Worker":
        while len(self._workers) <= i:
            self._workers.append(_Worker(self.theta))
        return self._workers[i]

    def __del__(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False)


class _Worker:
    """One thread's buffers (θ [n]; the first layer's output h, its row base and the head's layer outputs, shared by
    batches of one shape).

    Grid points come in row-major order, so consecutive points share all coordinates but the last; the base
    ``H₀ + Σ_{j<k-1} c_j H_j`` is kept while they do (and the batch stays the same) and each point adds
    ``c_{k-1} H_{k-1}`` (one axpy).
    """

    def __init__(self, theta: torch.Tensor):
        self.theta = torch.empty_like(theta)
        self.key, self.base, self.h, self.outs = None, {}, {}, {}
        self.rows: dict = {}          # batch -> (row key, ReluRow or None)
        self.row_work: dict = {}      # batch -> the rows' reused buffers
        self.row_kinds: set = set()   # "rows" / "plain": how this worker's rows were computed

    def first_layer(self, bi: int, H0: torch.Tensor, Hs: list[torch.Tensor], c: list[float],
                    relu: bool = False) -> torch.Tensor:
        """``H₀ + Σ_j c_j H_j`` [N, out] for batch ``bi`` (through ReLU when ``relu``), in this worker's buffer."""
        shape = H0.shape
        base = reused(self.base, shape, shape, H0) if len(c) > 1 else H0
        key = (bi, *c[:-1])
        if len(c) > 1 and self.key != key:
            torch.add(H0, Hs[0], alpha=float(c[0]), out=base)
            for j in range(1, len(c) - 1):
                base.add_(Hs[j], alpha=float(c[j]))
            self.key = key
        h = reused(self.h, shape, shape, H0)
        if relu:      # relu(base + c Hs) in one pass: the same numbers as add, then relu
            return ADD_RELU.out(base, Hs[-1], alpha=float(c[-1]), out=h)
        return torch.add(base, Hs[-1], alpha=float(c[-1]), out=h)

    def buffers(self, H0: torch.Tensor) -> dict:
        """The head's output buffers for batches shaped like ``H0``."""
        return self.outs.setdefault(H0.shape, {})


class _Head:
    """The layers after the first one, and the loss, on the first layer's output ``h`` [N, out], with each Linear's
    weight and bias read from a point's flat parameter vector θ (frozen ones from the network copy).

    Applies to a stack of ``Linear`` and ReLU/Tanh/Sigmoid layers ending in a Linear (else ``layers`` is None): in-place
    activations, outputs written into reused buffers, and the narrow last layer computed transposed,
    ``Zᵀ = W hᵀ + b`` [classes, N], so that cross-entropy reduces over the short class axis with contiguous rows:
    ``CE = mean_i (m_i + log Σ_c exp(Z_ci − m_i) − Z_{y_i i})``, ``m_i = max_c Z_ci`` (the log-sum-exp shift).
    """

    def __init__(self, net: nn.Sequential, start: int, blocks: dict, loss_fn, targets: list[torch.Tensor]):
        self.loss_fn, self.targets = loss_fn, targets
        self.layers = self._plan(net, start, blocks)
        self.ce = class_targets(loss_fn, targets) is not None
        self.rows = [t.view(1, -1) for t in targets] if self.ce else None
        # a leading ReLU is fused into the first layer's sum (Worker.first_layer) and skipped here; so is a ReLU
        # after the second Linear on the row path (ReluRow.output)
        self.leading_relu = bool(self.layers) and self.layers[0] == ("act", torch.relu_) and ADD_RELU is not None
        self.second_relu = bool(self.layers) and len(self.layers) > 3 and self.layers[2] == ("act", torch.relu_)
        # a Linear followed by a ReLU: the matmul, then bias and ReLU in one pass (ATen's in-place relu(a + b))
        self.bias_relu = {i for i, (a, b) in enumerate(zip(self.layers or [], (self.layers or [])[1:]))
                          if a[0] == "linear" and b == ("act", torch.relu_)} if ADD_RELU_ is not None else set()

    @staticmethod
    def _plan(net, start, blocks):
        """[("act", in-place op) | ("linear", weight, bias)], a weight or bias being (offset, numel, shape) in θ or
        a constant tensor (frozen or absent bias)."""
        layers = list(net)[start:]
        if not layers or not isinstance(layers[-1], nn.Linear):
            return None

        def where(i, attr, tensor):
            b = blocks.get(f"{i}.{attr}")
            return (b.offset, b.numel, b.shape) if b is not None else tensor

        plan = []
        for i, m in enumerate(layers, start):
            if isinstance(m, nn.Linear):
                bias = m.bias if m.bias is not None else m.weight.new_zeros(m.out_features)
                plan.append(("linear", where(i, "weight", m.weight), where(i, "bias", bias)))
            elif type(m) in ACTIVATIONS_INPLACE:
                plan.append(("act", ACTIVATIONS_INPLACE[type(m)]))
            elif not isinstance(m, nn.Identity):
                return None
        return plan

    @staticmethod
    def _read(spec, theta: torch.Tensor, outs: dict, column: bool = False) -> torch.Tensor:
        """A weight or bias: a constant, or its view of θ (kept in ``outs``, the worker's own, as θ is its buffer);
        ``column``: as a column [out, 1]."""
        if isinstance(spec, torch.Tensor):
            return spec.unsqueeze(1) if column else spec
        key = ("θ", spec[0], column)
        view = outs.get(key)
        if view is None:
            offset, numel, shape = spec
            view = outs[key] = theta[offset:offset + numel].view(*shape, *((1,) if column else ()))
        return view

    def loss(self, h: torch.Tensor, theta: torch.Tensor, outs: dict, bi: int, start: int = 0) -> torch.Tensor:
        """The mean loss over batch ``bi`` of the head at θ on ``h``, the output of its first ``start`` layers; layer
        outputs reuse the buffers ``outs``."""
        *body, (_, w_last, b_last) = self.layers
        skip = -1
        for i in range(start, len(body)):
            kind, *spec = body[i]
            if i == skip:
                continue
            if kind == "act":
                h = spec[0](h)
                continue
            W, b = self._read(spec[0], theta, outs), self._read(spec[1], theta, outs)
            out = outs.get(i)
            if out is None:
                out = outs[i] = h.new_empty(len(h), W.shape[0])
            if i in self.bias_relu:
                h = ADD_RELU_(torch.mm(h, W.T, out=out), b)
                skip = i + 1
            else:
                h = torch.addmm(b, h, W.T, out=out)
        W, b = self._read(w_last, theta, outs), self._read(b_last, theta, outs, column=True)
        Zt = torch.addmm(b, W, h.T)                             # [classes, N], small enough to stay in cache
        if not self.ce:
            return self.loss_fn(Zt.T, self.targets[bi])
        # CE = mean(log Σ_c exp Z_ci − Z_{y_i i}) over the short class axis (logsumexp shifts by each sample's max)
        return (torch.logsumexp(Zt, 0).sum() - Zt.gather(0, self.rows[bi]).sum()) / Zt.shape[1]
