"""Gradient flow per layer, the monitor and the verdict: does the gradient reach the early layers?

The gradients ``∂L/∂W`` of a step are the parameters' ``.grad`` just before the optimizer uses them: a step
pre-hook on the optimizer (or an explicit ``step()`` call) takes every ``‖∂L/∂W‖₂`` in one fused call, so the backward
pass itself runs unchanged (autograd tensor hooks would add a Python call and bookkeeping to every backward pass).
Parameters are grouped into layers by their owning module (``net.0.weight`` and ``net.0.bias`` -> layer ``net.0``);
the monitor keeps them in the order of registration; training puts them in the order a forward pass first calls
them (:func:`forward_order`), so a model that registers its head before its body still reads input -> output.

For layer ``l`` with ``d_l`` parameters the per-step size is the RMS gradient ``g_l = ‖∇_{W_l} L‖₂ / √d_l`` (so
wide and narrow layers compare). The verdict uses ``ρ = median over steps of g_first / g_last``:

* ``vanishing``  ρ < ``low`` (default 1e-2): the first layer gets a hundredth of the last layer's gradient or less
* ``exploding``  ρ > ``high`` (default 1e2), or the largest ``g_l`` exceeds ``blowup`` (default 1e3)
* ``healthy``    otherwise
* ``not_finite`` a gradient norm is NaN/inf (a NaN or inf loss)
* ``unknown``    fewer than two layers, or no step recorded

Layers that never receive a gradient (parameters the forward pass does not use) are left out of first and last.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ..results import Result
from ..validation import check_float

VERDICTS = ("vanishing", "exploding", "healthy", "not_finite", "unknown")


def layer_of(parameter_name: str) -> str:
    """``"net.0.weight"`` -> ``"net.0"``; a top-level parameter is its own layer."""
    return parameter_name.rsplit(".", 1)[0] if "." in parameter_name else parameter_name


class GradientFlowMonitor:
    """Per-layer gradient norms of ``model``, one row per optimizer step.

    With ``optimizer`` a step pre-hook records the gradients before each ``optimizer.step()``; without it, call
    ``step()`` after the backward pass(es) of a step. Either way one fused ``torch._foreach_norm`` call per step;
    per-layer sums happen when ``norms`` ([steps, L] float64 RMS gradients, ``layers`` names the columns) is read.
    A parameter without a gradient (unused by the forward pass) reads 0. Use as a context manager or call
    ``remove()`` so the hook leaves the optimizer.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None):
        named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
        self.layers: tuple[str, ...] = tuple(dict.fromkeys(layer_of(k) for k, _ in named))
        index = {name: i for i, name in enumerate(self.layers)}
        self._params = [p for _, p in named]
        self._layer_of_param = torch.tensor([index[layer_of(k)] for k, _ in named], dtype=torch.long)
        self.sizes = torch.zeros(len(self.layers), dtype=torch.float64).index_add_(
            0, self._layer_of_param, torch.tensor([float(p.numel()) for _, p in named], dtype=torch.float64))
        self._raw: list = []          # per step: the P norms of each parameter's gradient (stacked when read)
        self._handle = optimizer.register_step_pre_hook(lambda *_: self.step()) if optimizer is not None else None

    def step(self) -> None:
        """Record the current gradients (``.grad``, summed over the step's backward passes): one fused norm."""
        grads = [p.grad for p in self._params]
        if all(g is not None for g in grads):        # the common case: every parameter reached
            self._raw.append(torch._foreach_norm(grads))
        else:
            zero = torch.zeros(())
            self._raw.append([zero if g is None else torch.linalg.vector_norm(g.detach()) for g in grads])

    @property
    def norms(self) -> torch.Tensor:
        """[steps, L] float64 RMS gradient per layer: sqrt(Σ_{W in layer} ‖∂L/∂W‖² / d_layer)."""
        if not self._raw:
            return torch.zeros(0, len(self.layers), dtype=torch.float64)
        raw = torch.stack([torch.stack([g.double().cpu() for g in row]) for row in self._raw]) ** 2  # [steps, P]
        sq = torch.zeros(len(raw), len(self.layers), dtype=torch.float64).index_add_(1, self._layer_of_param, raw)
        return (sq / self.sizes.clamp_min(1)).sqrt()

    def remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def forward_order(model: nn.Module, inputs: torch.Tensor, layers: tuple[str, ...]) -> list[int]:
    """Positions of ``layers`` (module paths, :func:`layer_of`) in the order one forward pass on ``inputs`` first calls
    their modules: input -> output. A layer whose module is not called itself (an attention's ``out_proj``, whose
    weight the attention reads) follows its nearest called ancestor. The forward runs in eval mode without
    gradients (no dropout draw, no statistics update); when it fails, or a layer has no called module above it (a
    parameter of the model itself), the registration order is kept."""
    keep = list(range(len(layers)))
    modules = dict(model.named_modules())
    if not all(name in modules and name for name in layers):
        return keep
    first: dict[str, int] = {}

    def seen(name: str):
        def hook(*_) -> None:               # (a pre-hook's return value would replace the module's input)
            first.setdefault(name, len(first))
        return hook

    hooks = [m.register_forward_pre_hook(seen(name)) for name, m in modules.items() if name]
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(inputs)
    except Exception:  # noqa: BLE001 - the order is a nicety; training reports the model's own errors
        return keep
    finally:
        for h in hooks:
            h.remove()
        model.train(was)

    def rank(name: str):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):          # the layer itself, then its ancestors
            called = first.get(".".join(parts[:cut]))
            if called is not None:
                return called, cut != len(parts)
        return None

    ranks = [rank(name) for name in layers]
    if any(r is None for r in ranks):
        return keep
    return sorted(keep, key=lambda i: (*ranks[i], i))


@dataclass(frozen=True)
class GradientFlow(Result):
    """``layers`` [L] (input -> output), ``norms`` [steps, L] RMS gradients, ``ratio`` ρ (median first/last),
    ``ratios`` [steps] g_first/g_last per step, ``verdict`` and ``reason``, thresholds ``low``, ``high``,
    ``blowup``; ``inputs``: what was analysed, as the caller names it (model spec, data source, loss, device; its
    entries are top-level keys of ``to_dict``)."""

    layers: tuple[str, ...]
    norms: torch.Tensor
    ratios: torch.Tensor
    ratio: float
    verdict: str
    reason: str
    low: float
    high: float
    blowup: float
    inputs: dict = field(default_factory=dict)


def flow_verdict(layers, norms: torch.Tensor, *, low: float = 1e-2, high: float = 1e2,
                 blowup: float = 1e3) -> GradientFlow:
    """The verdict of the module docstring from per-step RMS gradients ``norms`` [steps, L]."""
    low = check_float("low", low, lo=0, lo_open=True)
    high = check_float("high", high, lo=low, lo_open=True)
    blowup = check_float("blowup", blowup, lo=0, lo_open=True)
    layers = tuple(layers)
    norms = torch.as_tensor(norms, dtype=torch.float64).reshape(-1, len(layers))
    nan = math.nan
    if len(layers) < 2 or len(norms) == 0:
        return GradientFlow(layers, norms, norms.new_zeros(0), nan, "unknown",
                            "needs at least two layers with parameters and one recorded step", low, high, blowup)
    if not torch.isfinite(norms).all():
        bad = int((~torch.isfinite(norms)).any(1).nonzero()[0])
        return GradientFlow(layers, norms, norms.new_zeros(0), nan, "not_finite",
                            f"a gradient norm is NaN or inf at step {bad} (a NaN or inf loss)", low, high, blowup)
    reached = [i for i in range(len(layers)) if bool((norms[:, i] > 0).any())]   # unused layers never get a gradient
    if len(reached) < 2:
        return GradientFlow(layers, norms, norms.new_zeros(0), nan, "unknown",
                            "fewer than two layers received any gradient", low, high, blowup)
    first, last = reached[0], reached[-1]
    ratios = norms[:, first] / norms[:, last].clamp_min(torch.finfo(torch.float64).tiny)
    rho = float(ratios.median())
    biggest = float(norms.max())
    where = f"{layers[first]} vs {layers[last]}: median RMS gradient ratio {rho:.3g} over {len(norms)} step(s)"
    if rho < low:
        verdict, reason = "vanishing", f"{where} < {low:g}: the early layers barely learn"
    elif rho > high or biggest > blowup:
        verdict = "exploding"
        reason = f"{where} > {high:g}" if rho > high else f"largest RMS gradient {biggest:.3g} > {blowup:g}"
    else:
        verdict, reason = "healthy", f"{where}, within [{low:g}, {high:g}]"
    return GradientFlow(layers, norms, ratios, rho, verdict, reason, low, high, blowup)
