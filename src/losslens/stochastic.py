"""Random and fused modules inside a model objective: dropout masks fixed per batch, attention that has a Hessian.

A model in training mode draws new dropout masks on every call, so ``f(x)`` would not be a function of ``x``: two
Lanczos runs from one seed would see two different Hessians. :class:`FixedRandomness` is a
``TorchFunctionMode`` active around one batch's forward pass; it replaces every dropout call by the same
operation with a mask drawn from NumPy's PCG64 stream seeded with ``(seed, batch, call)``:

    dropout(u)[i] = u[i] · m[i] / (1 − p),        m[i] = [r_i >= p],  r ~ U[0, 1) from (seed, batch, call)

``call`` counts the dropout calls of one forward pass in their order, ``batch`` the position of the batch in the
data. The masks depend on the shapes only, never on ``x``, and are drawn outside torch, so ``value``, ``grad``,
forward-over-reverse and double-backward HVPs, ``vmap`` over many points and ``torch.func.hessian`` all see one
function (a mask never varies over a ``vmap``). Covered: ``F.dropout``, ``dropout1d/2d/3d`` (one mask entry per
channel), ``alpha_dropout``, ``feature_alpha_dropout`` (the SELU-preserving affine of PyTorch) and
``scaled_dot_product_attention(dropout_p > 0)`` (then computed by its math formula with the fixed mask). The
inter-layer dropout of ``nn.RNN``/``nn.LSTM``/``nn.GRU`` runs inside one fused kernel that cannot be reached, so
such a model is refused in training mode (:func:`check_fixable`).

The mode also makes PyTorch skip the fused inference paths of ``nn.MultiheadAttention`` and
``nn.TransformerEncoderLayer`` (``torch._transformer_encoder_layer_fwd``), which have no forward-mode derivative, and
computes ``torch._weight_norm`` (``nn.utils.parametrizations.weight_norm``) by its formula: the fused kernel's
second derivative is wrong on torch 2.13 (:func:`weight_norm`).
:func:`math_attention` selects the math kernel of ``scaled_dot_product_attention``: the flash kernel PyTorch picks
on CPU has no double backward, so every Hessian product runs under it.
"""
from __future__ import annotations

import contextlib
import math
import threading

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from .validation import InputError

_SELU_ALPHA = 1.7580993408473766     # -selu(-inf): the value alpha dropout sets dropped units to (PyTorch's constant)
_DROPOUTS = {F.dropout: "elementwise", F.alpha_dropout: "alpha", F.feature_alpha_dropout: "feature_alpha",
             F.dropout1d: "feature", F.dropout2d: "feature", F.dropout3d: "feature"}
_BATCHED_DIM = {F.dropout1d: 3, F.dropout2d: 4, F.dropout3d: 5}   # fewer dims: one unbatched sample [C, ...]
_SDPA = F.scaled_dot_product_attention
_SWAPPED = ("dropout", "scaled_dot_product_attention")
_TRAINING_DEFAULT = {F.alpha_dropout: False, F.feature_alpha_dropout: False}


def check_fixable(model: nn.Module) -> None:
    """Refuse a model whose randomness cannot be fixed per batch in training mode (fused RNN dropout)."""
    for name, m in model.named_modules():
        if isinstance(m, nn.RNNBase) and m.dropout > 0 and m.num_layers > 1:
            raise InputError(f"module {name or type(m).__name__!r} ({type(m).__name__}, dropout={m.dropout}) draws "
                             "its inter-layer dropout inside a fused kernel, so mode='train' cannot fix its masks; "
                             "use mode='eval' or dropout=0 for that module")


def needs_mode(model: nn.Module, mode: str) -> bool:
    """True when the objective must run the model under :class:`FixedRandomness`: training mode (dropout), an
    attention module with a fused inference path, or weight normalisation (whose fused kernel has a wrong second
    derivative)."""
    return mode == "train" or any(isinstance(m, nn.MultiheadAttention) or _weight_normed(m) for m in model.modules())


def _weight_normed(m: nn.Module) -> bool:
    """``m`` computes a weight by ``torch._weight_norm`` (``nn.utils.parametrizations.weight_norm``; a model with
    the older ``nn.utils.weight_norm`` hook cannot be copied and is refused before)."""
    return type(m).__name__ == "_WeightNorm"


def weight_norm(v: torch.Tensor, g: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """``torch._weight_norm(v, g, dim)`` by its formula ``w = g · v / ‖v‖`` (the norm over every dimension but
    ``dim``; over all of them for ``dim = -1``). On torch 2.13 the fused kernel's double backward is wrong (a
    non-symmetric Hessian, off by 1.9 on a small net) and it has no forward-mode derivative; the formula has both."""
    if dim == -1:
        norm = torch.linalg.vector_norm(v)
    elif v.dim() > 1:
        dim = dim % v.dim()
        norm = torch.linalg.vector_norm(v, dim=[d for d in range(v.dim()) if d != dim], keepdim=True)
    else:
        norm = v.abs()
    return v * (g / norm)


def math_attention():
    """Context selecting the math kernel of ``scaled_dot_product_attention`` (the one with a double backward)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(SDPBackend.MATH)


class FixedRandomness(TorchFunctionMode):
    """Dropout with masks from ``(seed, batch, call)``; active around one batch's forward pass (see module doc)."""

    def __init__(self, seed: int, batch: int):
        super().__init__()
        self.seed, self.batch, self.calls = int(seed), int(batch), 0

    def _uniform(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        rng = np.random.Generator(np.random.PCG64([self.seed, self.batch, self.calls]))
        return torch.from_numpy(rng.random(shape)).to(device=like.device, dtype=like.dtype)

    def _dropout(self, kind: str, u: torch.Tensor, p: float, batched_dim: int = 0) -> torch.Tensor:
        if kind in ("feature", "feature_alpha"):     # one entry per channel: [N, C, 1, ...] (or [C, 1, ...] unbatched)
            lead = 1 if kind == "feature" and u.dim() < batched_dim else 2
            shape = tuple(u.shape[:lead]) + (1,) * (u.dim() - lead)
        else:
            shape = tuple(u.shape)
        keep = (self._uniform(shape, u) >= p).to(u.dtype)
        if kind in ("alpha", "feature_alpha"):
            a = 1.0 / math.sqrt((_SELU_ALPHA ** 2 * p + 1) * (1 - p))
            return u * (keep * a) + ((keep - 1) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p)
        return u * keep / (1 - p)

    def _attention(self, q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
        """``softmax(q kᵀ · scale + mask) v`` with the fixed dropout mask on the attention weights."""
        if enable_gqa:
            k = k.repeat_interleave(q.size(-3) // k.size(-3), -3)
            v = v.repeat_interleave(q.size(-3) // v.size(-3), -3)
        scores = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(q.size(-1)) if scale is None else scale)
        if is_causal:
            causal = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool, device=q.device).tril()
            scores = scores.masked_fill(~causal, float("-inf"))
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool \
                else scores + attn_mask
        return self._dropout("elementwise", scores.softmax(-1), dropout_p) @ v

    def _fixed(self, func, args, kwargs):
        """The call ``func(*args, **kwargs)`` with its randomness fixed, or None when ``func`` draws none."""
        func = getattr(func, "original", func)     # F.dropout swapped by another thread: the function it stands for
        kind = _DROPOUTS.get(func)
        if kind is not None:
            bound = {**dict(zip(("input", "p", "training", "inplace"), args)), **kwargs}
            p = float(bound.get("p", 0.5))
            if bound.get("training", _TRAINING_DEFAULT.get(func, True)) and p > 0:
                if p >= 1:
                    return bound["input"] * 0.0       # PyTorch's p == 1 case
                return self._dropout(kind, bound["input"], p, _BATCHED_DIM.get(func, 0))
        elif func is torch._weight_norm:
            bound = {**dict(zip(("v", "g", "dim"), args)), **kwargs}
            return weight_norm(bound["v"], bound["g"], bound.get("dim", 0))
        elif func is _SDPA:
            bound = {**dict(zip(("query", "key", "value", "attn_mask", "dropout_p", "is_causal"), args)), **kwargs}
            if float(bound.get("dropout_p", 0.0)) > 0:
                return self._attention(bound.pop("query"), bound.pop("key"), bound.pop("value"), **bound)
        return None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = self._fixed(func, args, kwargs)
        if out is not None:
            return out
        if func is F.multi_head_attention_forward:
            # a Python composite: the mode is off while it runs, so the dropout and attention it calls by their
            # module-level names are swapped for the fixed ones for the duration of this call
            with self._functional_swapped():
                return func(*args, **kwargs)
        return func(*args, **kwargs)

    @contextlib.contextmanager
    def _functional_swapped(self):
        """The module-level ``F.dropout`` and ``F.scaled_dot_product_attention`` answer for this mode in this thread.

        The names are swapped once for all threads (under a lock, restored when the last thread leaves) for
        dispatchers that look up the calling thread's mode: worker threads of a landscape each run their own mode,
        and a thread outside any mode gets the original functions."""
        before = getattr(_ACTIVE, "mode", None)
        with _SWAP_LOCK:
            if _SWAP["depth"] == 0:
                _SWAP["saved"] = {name: getattr(F, name) for name in _SWAPPED}
                for name, orig in _SWAP["saved"].items():
                    setattr(F, name, _dispatcher(orig))
            _SWAP["depth"] += 1
        _ACTIVE.mode = self
        try:
            yield
        finally:
            _ACTIVE.mode = before
            with _SWAP_LOCK:
                _SWAP["depth"] -= 1
                if _SWAP["depth"] == 0:
                    for name, orig in _SWAP["saved"].items():
                        setattr(F, name, orig)


_SWAP_LOCK = threading.Lock()
_SWAP: dict = {"depth": 0, "saved": {}}      # threads inside a swap; the original functions
_ACTIVE = threading.local()                  # .mode: the FixedRandomness of this thread's swapped call


def _dispatcher(orig):
    """``orig`` with the calling thread's fixed randomness, if it has one."""
    def call(*args, **kwargs):
        mode = getattr(_ACTIVE, "mode", None)
        return orig(*args, **kwargs) if mode is None else _call_fixed(mode, orig, args, kwargs)
    call.original = orig
    return call


def _call_fixed(mode: FixedRandomness, func, args, kwargs):
    out = mode._fixed(func, args, kwargs)
    return func(*args, **kwargs) if out is None else out


@contextlib.contextmanager
def fixed_randomness(active: bool, seed: int, batch: int):
    """:class:`FixedRandomness` for one batch when ``active``, else nothing."""
    if not active:
        yield
        return
    with FixedRandomness(seed, batch):
        yield
