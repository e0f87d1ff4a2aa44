"""Fewer passes over the activations of a network's forward, for evaluating it at many parameter points.

``fuse(net, is_leaf, inputs)`` traces ``net`` with ``torch.fx`` and rewrites its graph:

* an ``eval``-mode BatchNorm (running statistics μ, σ² and ε; weight γ, bias β) right after a convolution that
  feeds nothing else is folded into it, with the point's own parameters at every call:

      BN(W ⊛ x + b) = (s W) ⊛ x + (b − μ) s + β,   s = γ / √(σ² + ε)   (per output channel)

  so the normalisation costs a few operations on the weights instead of a pass over the activations;
* a ReLU whose input is a fresh tensor (a convolution's, BatchNorm's, Linear's, sum's or the first layer's output)
  used by nothing else runs in place; so does a sum ``a + b`` whose left operand is such a tensor of the sum's shape
  and dtype (``a.add_(b)``), and a sum followed by such a ReLU is one pass (ATen's ``_add_relu_``).

* in float32, a 2-D convolution (folded or not) whose output only a ReLU reads, or that with a tensor ``r`` only
  ``relu(conv + r)`` reads, is one oneDNN call with the ReLU (and the sum) as post-operations
  (``mkldnn::_convolution_pointwise``, the kernels ``torch.compile`` uses on CPU): the sum is accumulated into ``r``
  in place when ``r`` is a tensor of this forward that nothing reads afterwards and the convolution's input is not
  ``r`` itself. It saves one or two passes over the activations per block (measured: ``benchmarks/bench_landscape.py``).

The result computes the same function up to float rounding (folding changes the order of the products). It is None
when the network cannot be traced (data-dependent control flow) or nothing was rewritten.
"""
from __future__ import annotations

import operator
from typing import NamedTuple

import torch
from torch import fx, nn

from .evaluators import ADD_RELU_

FRESH_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
                 nn.LayerNorm)
RELU_FUNCTIONS = (torch.relu, nn.functional.relu)
ADD_FUNCTIONS = (operator.add, torch.add)
_MKLDNN = getattr(torch.ops, "mkldnn", None)
CONV_POINTWISE = getattr(getattr(_MKLDNN, "_convolution_pointwise", None), "default", None)
CONV_SUM_RELU_ = getattr(getattr(_MKLDNN, "_convolution_pointwise_", None), "binary", None)


class ConvBN(nn.Module):
    """A convolution followed by an ``eval``-mode BatchNorm as one convolution with folded weight and bias (see the
    module docstring); reads both modules' current parameters at every call."""

    def __init__(self, conv: nn.Module, bn: nn.Module, fixed: bool = False):
        super().__init__()
        self.conv, self.bn = conv, bn
        self.inv_std = None       # 1 / √(σ² + ε): the running statistics of an eval-mode copy do not change
        self.fixed = fixed        # γ and β do not change between calls: s and β − μ s are kept
        self.kept = None

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(s W, (b − μ) s + β) at the modules' current parameters."""
        conv, bn = self.conv, self.bn
        if self.kept is None:
            if self.inv_std is None:
                self.inv_std = torch.rsqrt(bn.running_var + bn.eps)
            s = self.inv_std if bn.weight is None else self.inv_std * bn.weight
            shift = -bn.running_mean * s if bn.bias is None else bn.bias - bn.running_mean * s
            kept = (s.view(-1, *([1] * (conv.weight.dim() - 1))), s, shift)
            if not self.fixed:
                return self._apply(kept)
            self.kept = kept
        return self._apply(self.kept)

    def _apply(self, kept) -> tuple[torch.Tensor, torch.Tensor]:
        column, s, shift = kept
        conv = self.conv
        return conv.weight * column, shift if conv.bias is None else torch.addcmul(shift, conv.bias, s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv._conv_forward(x, *self.folded())


class ConvPointwise(nn.Module):
    """A 2-D convolution (or :class:`ConvBN`) with its ReLU as one oneDNN call: ``relu(conv(x))``, or with a sum,
    ``relu(conv(x) + r)`` accumulated into ``r`` (which it returns)."""

    def __init__(self, conv: nn.Module):
        super().__init__()
        self.conv = conv
        inner = conv.conv if isinstance(conv, ConvBN) else conv
        self.args = (list(inner.padding), list(inner.stride), list(inner.dilation), inner.groups)

    def forward(self, x: torch.Tensor, r: torch.Tensor | None = None) -> torch.Tensor:
        conv = self.conv
        weight, bias = conv.folded() if isinstance(conv, ConvBN) else (conv.weight, conv.bias)
        if r is None:
            return CONV_POINTWISE(x, weight, bias, *self.args, "relu", [], "")
        return CONV_SUM_RELU_(r, x, weight, bias, *self.args, "add", 1.0, "relu", [], "")


class TensorMeta(NamedTuple):
    shape: torch.Size
    dtype: torch.dtype
    memory_format: torch.memory_format | None


class _Shapes(fx.Interpreter):
    """Runs the graph once and records each tensor node's shape, dtype and memory order in ``meta["tensor_meta"]``
    (what ``torch.fx``'s ShapeProp records, without its first-call import of the compiler stack, ~0.5 s)."""

    def run_node(self, n: fx.Node):
        out = super().run_node(n)
        if isinstance(out, torch.Tensor):
            fmt = next((f for f in (torch.contiguous_format, torch.channels_last, torch.channels_last_3d)
                        if out.is_contiguous(memory_format=f)), None)
            n.meta["tensor_meta"] = TensorMeta(out.shape, out.dtype, fmt)
        return out


class _Tracer(fx.Tracer):
    def __init__(self, is_leaf):
        super().__init__()
        self._leaf = is_leaf

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return self._leaf(m) or super().is_leaf_module(m, qualname)


def trace(net: nn.Module, is_leaf) -> fx.GraphModule | None:
    """``net`` as a GraphModule sharing its modules, ``is_leaf(module)`` ones kept whole; None if it cannot be traced.
    Tracing patches ``nn.Module.__call__`` for the whole process while it runs: no other thread may run a forward
    meanwhile."""
    try:
        return fx.GraphModule(net, _Tracer(is_leaf).trace(net))
    except Exception:  # noqa: BLE001 - any tracing failure: run the network as it is
        return None


def sole_reader(gm: fx.GraphModule, target: str, train: bool = False) -> str | None:
    """The module that alone reads the output of module ``target`` (called once), if it is an ``eval``-mode BatchNorm
    with running statistics (foldable into what precedes it), or with ``train``, one that normalises by batch
    statistics."""
    modules = dict(gm.named_modules())
    calls = [n for n in gm.graph.nodes if n.op == "call_module" and n.target == target]
    if len(calls) != 1 or len(calls[0].users) != 1:
        return None
    user = next(iter(calls[0].users))
    bn = modules.get(user.target) if user.op == "call_module" else None
    ok = isinstance(bn, nn.modules.batchnorm._BatchNorm) and len(user.args) == 1 and (
        _batch_statistics(bn) if train else _foldable(bn))
    return user.target if ok else None


def fuse(net: nn.Module, is_leaf, inputs: tuple, drop: frozenset = frozenset(),
         fixed: frozenset = frozenset()) -> fx.GraphModule | None:
    """``net`` traced and rewritten (see the module docstring), or None. ``is_leaf(module)``: modules to keep whole
    (their outputs count as fresh); ``inputs``: one batch's inputs (for the tensor shapes); ``drop``: BatchNorm
    modules to leave out (the caller folded them into what precedes them); ``fixed``: BatchNorm modules whose weight
    and bias the caller never changes (their folding factors are computed once)."""
    gm = trace(net, is_leaf)
    if gm is None:
        return None
    try:
        with torch.no_grad():
            _Shapes(gm).run(*inputs)
    except Exception:  # noqa: BLE001
        return None
    modules = dict(gm.named_modules())
    changed = 0
    for node in list(gm.graph.nodes):
        module = modules.get(node.target) if node.op == "call_module" else None
        if node.target in drop and node.op == "call_module":
            node.replace_all_uses_with(node.args[0])
            gm.graph.erase_node(node)
            changed += 1
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and _foldable(module):
            src = node.args[0]
            conv = modules.get(src.target) if isinstance(src, fx.Node) and src.op == "call_module" else None
            if isinstance(conv, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and len(src.users) == 1 and len(node.args) == 1:
                name = f"{src.target}_bn".replace(".", "_")
                gm.add_submodule(name, ConvBN(conv, module, fixed=node.target in fixed))
                modules[name] = gm.get_submodule(name)
                src.target = name
                node.replace_all_uses_with(src)
                gm.graph.erase_node(node)
                changed += 1
    for node in list(gm.graph.nodes):
        if _is_relu(node, modules) and _fresh(node.args[0], node, modules, is_leaf):
            with gm.graph.inserting_after(node):
                new = gm.graph.call_method("relu_", (node.args[0],))
            new.meta = node.meta
            node.replace_all_uses_with(new)
            gm.graph.erase_node(node)
            changed += 1
        elif (node.op == "call_function" and node.target in ADD_FUNCTIONS and len(node.args) == 2 and not node.kwargs
              and all(isinstance(a, fx.Node) for a in node.args) and _fresh(node.args[0], node, modules, is_leaf)
              and _same_meta(node.args[0], node)):
            with gm.graph.inserting_after(node):
                new = gm.graph.call_method("add_", node.args)
            new.meta = node.meta
            node.replace_all_uses_with(new)
            gm.graph.erase_node(node)
            changed += 1
    if ADD_RELU_ is not None:       # relu_(a.add_(b)) -> one pass: ATen's relu(a + b) in place
        for node in list(gm.graph.nodes):
            src = node.args[0] if node.op == "call_method" and node.target == "relu_" else None
            if isinstance(src, fx.Node) and src.op == "call_method" and src.target == "add_" and len(src.users) == 1:
                with gm.graph.inserting_after(node):
                    new = gm.graph.call_function(ADD_RELU_, src.args)
                new.meta = node.meta
                node.replace_all_uses_with(new)
                gm.graph.erase_node(node)
                gm.graph.erase_node(src)
    changed += _conv_pointwise(gm, modules, is_leaf)
    if not changed:
        return None
    gm.graph.lint()
    gm.recompile()
    return gm


def _conv_pointwise(gm: fx.GraphModule, modules: dict, is_leaf) -> int:
    """Float32 2-D convolutions followed by ``relu_`` or ``_add_relu_`` as :class:`ConvPointwise` calls (see the
    module docstring); the number rewritten."""
    if CONV_POINTWISE is None or CONV_SUM_RELU_ is None or not torch.backends.mkldnn.is_available():
        return 0
    changed = 0
    for node in list(gm.graph.nodes):
        order = {n: i for i, n in enumerate(gm.graph.nodes)}
        total = None      # the sum the ReLU reads, for relu_(a + b)
        if node.op == "call_method" and node.target == "relu_":
            conv, rest = node.args[0], ()
            if _is_sum(conv) and list(conv.users) == [node]:
                total = conv
                conv, rest = _conv_and_sum(total, modules, order, is_leaf)
        elif node.op == "call_function" and node.target is ADD_RELU_ and _is_sum(node, ADD_RELU_):
            conv, rest = _conv_and_sum(node, modules, order, is_leaf)
        else:
            continue
        if not (_is_conv2d(conv, modules) and list(conv.users) == [total or node] and len(conv.args) == 1
                and not conv.kwargs and _float32(conv)):
            continue
        name = f"{conv.target}_pw".replace(".", "_")
        gm.add_submodule(name, ConvPointwise(modules[conv.target]))
        modules[name] = gm.get_submodule(name)
        with gm.graph.inserting_after(node):
            new = gm.graph.call_module(name, (conv.args[0], *rest))
        new.meta = node.meta
        node.replace_all_uses_with(new)
        for old in (node, total, conv):
            if old is not None:
                gm.graph.erase_node(old)
        changed += 1
    return changed


def _is_sum(node, target=None) -> bool:
    """``a + b`` of two graph tensors (out of place, or ``target`` when given)."""
    if not (isinstance(node, fx.Node) and node.op == "call_function"):
        return False
    ok = node.target is target if target is not None else node.target in ADD_FUNCTIONS
    return ok and len(node.args) == 2 and not node.kwargs and all(isinstance(a, fx.Node) for a in node.args)


def _conv_and_sum(node: fx.Node, modules: dict, order: dict, is_leaf):
    """For ``_add_relu_(a, b)``: (the convolution node, (the other operand,)) when one operand is a convolution and the
    other a tensor of this forward of the same shape, dtype and memory order that nothing reads after the sum (it is
    then written in place); else (None, ())."""
    for conv, r in (node.args, node.args[::-1]):
        if _is_conv2d(conv, modules) and _owned(r, modules, node, order, is_leaf) and _same_layout(conv, r) \
                and _root(conv.args[0], modules) is not _root(r, modules):      # oneDNN: its input is not r
            return conv, (r,)
    return None, ()


def _root(node, modules: dict):
    """The tensor ``node`` is, through in-place ops (the node that made it)."""
    while isinstance(node, fx.Node):
        m = modules.get(node.target) if node.op == "call_module" else None
        if isinstance(m, ConvPointwise) and len(node.args) == 2:
            node = node.args[1]
        elif (node.op == "call_method" and node.target in ("relu_", "add_")) or (
                node.op == "call_function" and node.target is ADD_RELU_):
            node = node.args[0]
        else:
            return node
    return node


def _owned(r, modules: dict, at: fx.Node, order: dict, is_leaf) -> bool:
    """Is ``r`` a tensor made by this forward (a module's or a sum's output, or an in-place op on one), read by
    nothing after ``at`` (through any of its in-place aliases)?"""
    alias = at               # the in-place op that returned r (it may read r)
    while isinstance(r, fx.Node):
        if any(order[u] > order[at] or (u is not alias and not _copies(u, r, modules)) for u in r.users):
            return False
        alias, m = r, modules.get(r.target) if r.op == "call_module" else None
        if isinstance(m, ConvPointwise) and len(r.args) == 2:
            r = r.args[1]          # relu(conv + r) written into r
        elif r.op == "call_module":
            return isinstance(m, FRESH_MODULES + (ConvBN, ConvPointwise)) or is_leaf(m)
        elif r.op == "call_function" and r.target in ADD_FUNCTIONS:
            return True
        elif (r.op == "call_method" and r.target in ("relu_", "add_")) or (
                r.op == "call_function" and r.target is ADD_RELU_):
            r = r.args[0]          # in place: the same tensor as its first operand
        else:
            return False
    return False


def _copies(user: fx.Node, r: fx.Node, modules: dict) -> bool:
    """Does ``user`` only read ``r`` (its output shares no memory with it: a convolution, normalisation or Linear,
    an out-of-place sum)?"""
    if user.op == "call_module":
        m = modules.get(user.target)
        return isinstance(m, FRESH_MODULES + (ConvBN,)) or (isinstance(m, ConvPointwise) and user.args[0] is r
                                                          and r not in user.args[1:])
    return user.op == "call_function" and user.target in ADD_FUNCTIONS


def _is_conv2d(node, modules: dict) -> bool:
    """A call of a zero-padded 2-D convolution (or one with its BatchNorm folded)."""
    if not (isinstance(node, fx.Node) and node.op == "call_module"):
        return False
    m = modules.get(node.target)
    m = m.conv if isinstance(m, ConvBN) else m
    return type(m) is nn.Conv2d and m.padding_mode == "zeros" and not isinstance(m.padding, str)


def _float32(node: fx.Node) -> bool:
    meta = node.meta.get("tensor_meta")
    return meta is not None and meta.dtype == torch.float32


def _same_layout(a, b) -> bool:
    ma, mb = (n.meta.get("tensor_meta") if isinstance(n, fx.Node) else None for n in (a, b))
    return ma is not None and mb is not None and ma.shape == mb.shape and ma.dtype == mb.dtype \
        and ma.memory_format == mb.memory_format and ma.memory_format is not None


def absorb_relu(gm: fx.GraphModule, target: str) -> bool:
    """Drop the in-place ReLU that alone reads module ``target``'s output (which then must apply it itself)."""
    calls = [n for n in gm.graph.nodes if n.op == "call_module" and n.target == target]
    if len(calls) != 1 or len(calls[0].users) != 1:
        return False
    user = next(iter(calls[0].users))
    if not (user.op == "call_method" and user.target == "relu_"):
        return False
    user.replace_all_uses_with(calls[0])
    gm.graph.erase_node(user)
    gm.recompile()
    return True


def _batch_statistics(bn: nn.Module) -> bool:
    return bn.training or bn.running_mean is None or bn.running_var is None


def _foldable(bn: nn.Module) -> bool:
    return not bn.training and bn.running_mean is not None and bn.running_var is not None


def _is_relu(node: fx.Node, modules: dict) -> bool:
    if node.op == "call_module":
        m = modules.get(node.target)
        return type(m) is nn.ReLU and len(node.args) == 1
    if node.op == "call_function" and node.target in RELU_FUNCTIONS:
        return len(node.args) == 1 and not node.kwargs.get("inplace", False)
    return node.op == "call_method" and node.target == "relu" and len(node.args) == 1


def _fresh(src, user: fx.Node, modules: dict, is_leaf) -> bool:
    """Is ``src`` a new tensor (not a view of or a name for anything else) that only ``user`` reads?"""
    if not isinstance(src, fx.Node) or list(src.users) != [user]:
        return False
    if src.op == "call_module":
        m = modules.get(src.target)
        return isinstance(m, FRESH_MODULES + (ConvBN,)) or is_leaf(m)
    if src.op == "call_function":
        return src.target in ADD_FUNCTIONS
    return src.op == "call_method" and src.target == "add_"


def _same_meta(a: fx.Node, out: fx.Node) -> bool:
    ma, mo = a.meta.get("tensor_meta"), out.meta.get("tensor_meta")
    return ma is not None and mo is not None and ma.shape == mo.shape and ma.dtype == mo.dtype
